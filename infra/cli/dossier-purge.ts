import type { Command } from 'commander';
import type { DossierRecord } from '#core/dossier';
import { projectMentionsEmail } from '#core/retention/policy';
import { auditDossierPurges, purgeDossier, type DossierPurgeResult, type PurgeDossierDependencies } from '#core/retention/purge-dossier';
import { createDocumentClient } from '#adapters/dynamodb/client';
import { DynamoPurgeRepository } from '#adapters/dynamodb/purge-repository';
import { createS3Client } from '#adapters/s3/client';
import { S3PurgeStore } from '#adapters/s3/purge-store';
import { RETENTION_CONFIG } from '#shared/retention-config';
import type { Connection } from './connect.ts';
import { examples, globalsOf, parseDossierNumber, withConnection, type CommandContext } from './context.ts';
import { listDossiers } from './dossiers.ts';
import { NotFoundError, PartialFailureError, RefusedError, UsageError } from './errors.ts';
import { formatTable, truncate, writeJson, writeLines, type CliIo } from './output.ts';
import { staffActor } from './rounds.ts';

/**
 * `dossiers purge N [--dry-run] [--yes]`: erase one dossier on request (RGPD right to erasure),
 * and `dossiers find --email X [--round R]`: which dossiers mention an address. The rules are
 * functions/core/retention/ (purge-dossier.ts); docs/data-protection.md says when to use them.
 * Attached to the `dossiers` group (infra/cli/dossiers.ts) by main.ts.
 */

export function registerDossierPurgeCommands(dossiers: Command, context: CommandContext): void {
  dossiers
    .command('purge')
    .description('erase a dossier on request (right to erasure): its files and snapshots in S3 (every version), its file records, '
      + 'the reviews of it, staff\'s exclusion and the committee\'s word on it, the round\'s report copy in S3 (rebuilt by `report --out`); '
      + 'its decision is reduced to numbers and a tombstone without personal data stays. Prints the plan; erases only with --yes '
      + '(without it: exit 6, nothing changed). Audited (erase-dossier, no personal data).')
    .argument('<number>', 'the DS dossier number', parseDossierNumber)
    .option('--dry-run', 'print what would be erased: nothing deleted, no audit record')
    .option('--yes', 'erase (the plan is printed first); without it the command refuses')
    .option('--json', 'print { dossierNumber, reason, outcome, dryRun, rounds, counts }')
    .addHelpText('after', examples(
      'ds-selection dossiers purge 23456789 --dry-run',
      'ds-selection --stage prod dossiers purge 23456789 --yes',
    ))
    .action(async (number: number, options: { dryRun?: boolean; yes?: boolean; json?: boolean }, command: Command) => {
      if (options.dryRun && options.yes) throw new UsageError('--dry-run and --yes: choose one');
      await withConnection(context, command, async (connection) => {
        const adapters = purgeAdapters(connection, globalsOf(command).region, context.io);
        try {
          const deps: PurgeDossierDependencies = { ...adapters.deps, clock: { now: () => new Date() }, policy: RETENTION_CONFIG };
          const erase = options.yes === true;
          const result = await purgeDossier({ dossierNumber: number, reason: 'erasure_request', dryRun: !erase }, deps);
          if (result.outcome === 'not_found') throw new NotFoundError(`dossier ${number} not found: the stack holds nothing of it`);
          if (erase) await auditDossierPurges([result], staffActor(context.io), deps);
          if (options.json) writeJson(context.io, result);
          else writeLines(context.io.stdout, purgeLines(result));
          if (result.outcome === 'already_purged') return;
          if (!erase && !options.dryRun) throw new RefusedError(`refused: pass --yes to erase dossier ${number} (nothing was changed)`);
          if (result.outcome === 'changed_meanwhile') {
            throw new PartialFailureError(`dossier ${number}: a new version was stored while erasing (its files are gone, its record not): run the command again`);
          }
        } finally {
          adapters.close();
        }
      });
    });

  dossiers
    .command('find')
    .description('the dossiers whose project mentions an email address (contacts, team, any field): reads the dossiers by index '
      + '(one round, or every status across rounds), never a table scan; prints numbers, rounds, statuses and titles only')
    .requiredOption('--email <address>', 'the address to look for (case-insensitive, whole field)')
    .option('--round <round>', 'only this round, e.g. 2026-03')
    .option('--json', 'print a JSON array of { number, round, status, title }')
    .addHelpText('after', examples(
      'ds-selection dossiers find --email porteur@mairie.fr',
      'ds-selection --stage prod dossiers find --email porteur@mairie.fr --round 2026-03 --json',
    ))
    .action(async (options: { email: string; round?: string; json?: boolean }, command: Command) => {
      if (!options.email.includes('@')) throw new UsageError('--email: not an email address');
      await withConnection(context, command, async ({ dossiers: repository }) => {
        const records = await listDossiers(repository, options.round !== undefined ? { round: options.round } : {});
        const rows = records.filter((record) => projectMentionsEmail(record.project, options.email)).map(foundRow);
        if (options.json) {
          writeJson(context.io, rows);
          return;
        }
        if (rows.length === 0) {
          context.io.stderr.write(`no dossier mentions that address${options.round !== undefined ? ` in round ${options.round}` : ''}\n`);
          return;
        }
        writeLines(context.io.stdout, formatTable(
          [{ header: 'NUMBER' }, { header: 'ROUND' }, { header: 'STATUS' }, { header: 'TITLE' }],
          rows.map((row) => [String(row.number), row.round, row.status, truncate(row.title, 60)]),
        ));
      });
    });
}

function foundRow(record: DossierRecord): { number: number; round: string; status: string; title: string } {
  return { number: record.number, round: record.round, status: record.status, title: record.project?.title ?? '' };
}

/** What the erasure did or would do, for staff. */
export function purgeLines(result: DossierPurgeResult): string[] {
  const { counts } = result;
  if (result.outcome === 'already_purged') return [`dossier ${result.dossierNumber}: already erased (a tombstone without personal data), nothing to do`];
  const verb = result.dryRun ? 'would erase' : 'erased';
  return [
    `dossier ${result.dossierNumber}: ${verb}${result.rounds.length ? ` (round ${result.rounds.join(', ')})` : ''}:`,
    `  ${counts.objects} S3 object version(s) (files, snapshots, the round's report copy)`,
    `  ${counts.fileRecords} file record(s), ${counts.reviews} review(s), ${counts.staffRecords} exclusion/committee record(s)`,
    `  ${counts.decisionsReduced} decision(s) reduced to numbers; the dossier record becomes a tombstone (number, round, dates)`,
    'DS keeps its own copy: have the dossier deleted on DS too, or its next change there brings it back here.',
  ];
}

/** The purge's adapters on the stack's table and bucket, with the CLI's credentials (as `connect` builds its own). */
function purgeAdapters(connection: Connection, region: string | undefined, io: CliIo) {
  const { outputs } = connection;
  const local = outputs.local;
  const options = (endpoint: string | undefined) => ({
    region: region ?? outputs.region,
    ...(endpoint ? { endpoint } : {}),
    ...(local ? { credentials: local.credentials } : {}),
  });
  const documentClient = createDocumentClient(options(local?.endpoints.dynamodb));
  const s3 = createS3Client(options(local?.endpoints.s3), io.env);
  return {
    deps: {
      repository: new DynamoPurgeRepository({ client: documentClient, tableName: outputs.TableName }),
      objects: new S3PurgeStore({ client: s3, bucket: outputs.BucketName }),
    },
    close() {
      documentClient.destroy();
      s3.destroy();
    },
  };
}
