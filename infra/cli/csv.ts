import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { parse } from 'csv-parse/sync';
import { NotFoundError, UsageError } from './errors.ts';
import type { CliIo } from './output.ts';

/**
 * The CSV files staff give the CLI (`reviewers import`, `reviews import`), read with csv-parse:
 * RFC 4180 fields (double quotes may hold commas, line breaks and doubled quotes), records ended
 * by LF, CRLF or CR, a UTF-8 BOM ignored, blank lines skipped, spaces around a field dropped.
 * Rows may have any number of fields: the callers say which line has too many.
 */

export interface CsvRecord {
  /** The line the record starts on, 1-based (what a spreadsheet shows). */
  line: number;
  cells: string[];
}

export type CsvResult =
  | { ok: true; records: CsvRecord[] }
  /** The file is not CSV (a quote never closed, ...): where and why. */
  | { ok: false; line: number; message: string };

const LINE_BREAKS = /\r\n|\r|\n/g;

export function readCsv(text: string): CsvResult {
  // A Buffer, so that `info.bytes` (where each record ends) is an offset into it.
  const input = Buffer.from(text, 'utf8');
  let parsed: { record: string[]; info: { bytes: number } }[];
  try {
    parsed = parse(input, {
      bom: true,
      info: true,
      trim: true,
      relax_column_count: true,
      relax_quotes: true,
      skip_empty_lines: true,
      record_delimiter: ['\r\n', '\n', '\r'],
      // With `info`, each record comes as { record, info } (the typings do not follow the option).
    }) as unknown as typeof parsed;
  } catch (error) {
    const { lines, message } = error as { lines?: number; message: string };
    return { ok: false, line: typeof lines === 'number' ? lines : 1, message: `not valid CSV (${message})` };
  }
  // csv-parse's own line count takes a CRLF inside quotes for two lines: the lines are counted
  // here, up to where each record ends, and back over the line breaks inside its fields.
  const records: CsvRecord[] = [];
  let offset = 0;
  let breaks = 0;
  for (const { record, info } of parsed) {
    const consumed = input.subarray(offset, info.bytes).toString('utf8');
    breaks += consumed.match(LINE_BREAKS)?.length ?? 0;
    offset = info.bytes;
    const lastLine = breaks + (/[\r\n]$/.test(consumed) ? 0 : 1);
    records.push({ line: lastLine - record.reduce((sum, cell) => sum + (cell.match(LINE_BREAKS)?.length ?? 0), 0), cells: record });
  }
  // A line of separators only (`,,`) is as blank as an empty one.
  return { ok: true, records: records.filter((r) => r.cells.some((cell) => cell !== '')) };
}

const READ_ERRORS: Record<string, string> = { EISDIR: 'it is a folder', EACCES: 'permission denied' };

/**
 * A file named on the command line (relative to the working directory). A file that does not
 * exist is "not found" (exit 3), as a dossier or a round that does not exist; one that cannot
 * be read (a folder, no permission) is a usage error (exit 4).
 */
export async function readInputFile(io: Pick<CliIo, 'cwd'>, file: string): Promise<{ path: string; text: string }> {
  const path = isAbsolute(file) ? file : resolve(io.cwd, file);
  try {
    return { path, text: await readFile(path, 'utf8') };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new NotFoundError(`cannot read ${file}: no such file (${path})`);
    throw new UsageError(`cannot read ${file}: ${(code && READ_ERRORS[code]) ?? (error as Error).message}`);
  }
}
