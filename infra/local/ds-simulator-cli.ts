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
    'rate-limit': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});

if (values.help) {
  console.log(`Usage: npm run ds-simulator -- [--port 3100] [--token T] [--seed DIR] [--emit WEBHOOK_URL] [--rate-limit N]

A stand-in for Démarches Simplifiées: GraphQL getDossier / getDemarcheDossiers / getDeletedDossiers /
getPendingDeletedDossiers at /api/v2/graphql (Bearer token), in DS's shapes (documents checked against
DS's fields, 401/403 JSON, 429 with RateLimit-Reset), file downloads matching their checksums, legacy
webhooks. --rate-limit N: DS's rate limiter at N requests a minute per token (DS: 400).`);
  process.exit(0);
}

const rateLimitPerMinute = values['rate-limit'] === undefined ? undefined : Number(values['rate-limit']);
if (rateLimitPerMinute !== undefined && !(Number.isInteger(rateLimitPerMinute) && rateLimitPerMinute > 0)) {
  console.error('--rate-limit must be a positive whole number of requests a minute');
  process.exit(4);
}
const simulator = await new DsSimulator({
  port: Number(values.port), token: values.token, seedDir: values.seed, ...(rateLimitPerMinute ? { rateLimitPerMinute } : {}),
}).start();
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
