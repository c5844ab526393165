/**
 * Where the CLI writes and what it reads from its surroundings. Passed in rather than taken
 * from `process`, so the tests can run commands in-process and read what they printed.
 * Data goes to stdout, everything else (messages, progress, errors) to stderr, so that
 * `--json` output can be piped as is.
 */
export interface OutputStream {
  write(text: string): unknown;
  /** Only a terminal gets a progress bar. */
  isTTY?: boolean;
  columns?: number;
}

export interface CliIo {
  stdout: OutputStream;
  stderr: OutputStream;
  env: NodeJS.ProcessEnv;
  /** Relative paths (--data-dir, --out) are resolved against it. */
  cwd: string;
}

export function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() };
}

/** Pretty-printed JSON and a newline: the only thing a `--json` command writes to stdout. */
export function writeJson(io: CliIo, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function writeLines(stream: OutputStream, lines: string[]): void {
  if (lines.length > 0) stream.write(`${lines.join('\n')}\n`);
}

export interface Column {
  header: string;
  /** Numbers read better right-aligned. */
  align?: 'left' | 'right';
}

/**
 * A plain-text table: a header row, columns separated by two spaces and padded to their widest
 * cell, no trailing spaces. Width counts code points, so accented titles line up.
 */
export function formatTable(columns: Column[], rows: string[][]): string[] {
  const widths = columns.map((column, index) =>
    Math.max(displayWidth(column.header), ...rows.map((row) => displayWidth(row[index] ?? ''))));
  const line = (cells: string[]) => columns
    .map((column, index) => {
      const cell = cells[index] ?? '';
      const padding = ' '.repeat((widths[index] ?? 0) - displayWidth(cell));
      return column.align === 'right' ? padding + cell : cell + padding;
    })
    .join('  ')
    .trimEnd();
  return [line(columns.map((column) => column.header)), ...rows.map(line)];
}

/** At most `max` characters, the last one an ellipsis when something was cut. */
export function truncate(text: string, max: number): string {
  const characters = [...text];
  return characters.length <= max ? text : `${characters.slice(0, Math.max(0, max - 1)).join('')}…`;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** `1 dossier`, `3 dossiers`. */
export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

function displayWidth(text: string): number {
  return [...text].length;
}
