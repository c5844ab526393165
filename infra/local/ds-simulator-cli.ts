import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DsSimulator } from './ds-simulator.ts';

/**
 * `npm run ds-simulator`: the DS simulator on its own, for tests and benchmarks that point
 * DS_API_URL at it. `--emit URL` posts DS's legacy webhook for every seeded dossier to URL.
 */
const { values } = parseArgs({
  options: {
    port: { type: 'string', default: process.env.DS_SIMULATOR_PORT ?? '3100' },
    token: { type: 'string', default: process.env.DS_SIMULATOR_TOKEN ?? 'simulator-token' },
    seed: { type: 'string', default: fileURLToPath(new URL('../../events/dossiers', import.meta.url)) },
    emit: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});

if (values.help) {
  console.log(`Usage: npm run ds-simulator -- [--port 3100] [--token T] [--seed DIR] [--emit WEBHOOK_URL]

A stand-in for Démarches Simplifiées: GraphQL getDossier / getDemarcheDossiers / getDeletedDossiers
at /api/v2/graphql (Bearer token), file downloads matching their checksums, legacy webhooks.`);
  process.exit(0);
}

const simulator = await new DsSimulator({ port: Number(values.port), token: values.token, seedDir: values.seed }).start();
console.log(`DS simulator: ${simulator.graphqlUrl}`);
console.log(`  token     ${values.token}   (DS_API_URL=${simulator.graphqlUrl} DS_API_TOKEN=${values.token})`);
console.log(`  dossiers  ${[...simulator.dossiers.keys()].join(', ')}`);
if (values.emit) {
  for (const number of simulator.dossiers.keys()) {
    console.log(`  webhook for ${number} -> HTTP ${await simulator.emitLegacyWebhook(values.emit, number)}`);
  }
}
process.on('SIGINT', () => void simulator.stop().then(() => process.exit(0)));
process.on('SIGTERM', () => void simulator.stop().then(() => process.exit(0)));
