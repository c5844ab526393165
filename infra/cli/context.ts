import { InvalidArgumentError, type Command } from 'commander';
import { GRAPHQL_INT_MAX } from '#schemas/ds-webhook';
import { connect, type Connection, type GlobalOptions } from './connect.ts';
import type { CliIo } from './output.ts';

/** What every command module gets: where to write, and how to reach the stack. */
export interface CommandContext {
  io: CliIo;
  /** Replaceable so that tests can hand commands a connection of their own. */
  connect(globals: GlobalOptions, io: CliIo): Promise<Connection>;
}

export function defaultContext(io: CliIo): CommandContext {
  return { io, connect };
}

/** The global options (--stage, --data-dir, --region) as seen from a subcommand's action. */
export function globalsOf(command: Command): GlobalOptions {
  const { stage, dataDir, region } = command.optsWithGlobals<GlobalOptions>();
  return {
    ...(stage !== undefined ? { stage } : {}),
    ...(dataDir !== undefined ? { dataDir } : {}),
    ...(region !== undefined ? { region } : {}),
  };
}

/** Runs `use` with a connection to the stack, and releases its sockets whatever happens. */
export async function withConnection<T>(context: CommandContext, command: Command, use: (connection: Connection) => Promise<T>): Promise<T> {
  const connection = await context.connect(globalsOf(command), context.io);
  try {
    return await use(connection);
  } finally {
    connection.close();
  }
}

// Argument parsers: commander turns InvalidArgumentError into a usage error (exit code 4).

export function parsePositiveInteger(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) {
    throw new InvalidArgumentError('must be a positive whole number');
  }
  return Number(value);
}

/**
 * A DS dossier or démarche number: GraphQL `Int`, so at most 2^31 - 1. DS refuses a bigger one
 * as an invalid variable, so it can never name a dossier: a usage error, not a "not found".
 */
export function parseDsNumber(value: string): number {
  const number = parsePositiveInteger(value);
  if (number > GRAPHQL_INT_MAX) {
    throw new InvalidArgumentError(`must be at most ${GRAPHQL_INT_MAX} (DS numbers are 32-bit GraphQL Int)`);
  }
  return number;
}

export function parseDossierNumber(value: string): number {
  return parseDsNumber(value);
}

/** Repeatable numeric option (`--demarche 1 --demarche 2`). */
export function collectPositiveIntegers(value: string, previous: number[] = []): number[] {
  return [...previous, parsePositiveInteger(value)];
}

/** Repeatable DS number option (`--demarche 1 --demarche 2`), each a GraphQL Int. */
export function collectDsNumbers(value: string, previous: number[] = []): number[] {
  return [...previous, parseDsNumber(value)];
}

/**
 * An ISO 8601 date or date-time, returned as a UTC instant: DS's ISO8601DateTime wants a time,
 * and a bare date would otherwise be read differently by each side. A date alone is midnight UTC.
 */
export function parseInstant(value: string): string {
  if (!/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(value) || Number.isNaN(Date.parse(value))) {
    throw new InvalidArgumentError('must be an ISO 8601 date or date-time, e.g. 2026-03-01 or 2026-03-01T00:00:00+01:00');
  }
  return new Date(value).toISOString();
}

/** Help text lines `Examples:` followed by each example, indented. */
export function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((line) => `  ${line}`).join('\n')}`;
}
