import type { OutputStream } from './output.ts';

/**
 * A one-line progress bar on stderr, redrawn in place. Drawn only on a terminal: in a pipe,
 * a log file or CI it would be noise, so there the commands print their summary line only.
 */

export interface ProgressState {
  label: string;
  done: number;
  /** Unknown when the source does not say how many there are (DS lists pages without a total). */
  total?: number;
  elapsedMs: number;
  /** Columns available; 80 when the stream does not say. */
  width?: number;
}

const BAR_WIDTH = 24;
/** Redraws per second at most: a terminal cannot show more, and each write costs. */
const MIN_REDRAW_INTERVAL_MS = 100;

/** The text of the bar, e.g. `sync [██████░░░░] 120/300 40% 35.2/s`. */
export function renderProgress({ label, done, total, elapsedMs, width = 80 }: ProgressState): string {
  const rate = elapsedMs > 0 ? `${(done / (elapsedMs / 1000)).toFixed(1)}/s` : '';
  let text: string;
  if (total !== undefined && total > 0) {
    const ratio = Math.min(1, done / total);
    const filled = Math.round(ratio * BAR_WIDTH);
    const bar = `${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}`;
    text = `${label} [${bar}] ${done}/${total} ${Math.floor(ratio * 100)}% ${rate}`;
  } else {
    text = `${label} ${done} ${rate}`;
  }
  return [...text.trimEnd()].slice(0, Math.max(1, width - 1)).join('');
}

export interface ProgressOptions {
  label: string;
  total?: number;
  now?: () => number;
}

export class ProgressBar {
  private readonly startedAt: number;
  private readonly now: () => number;
  private readonly enabled: boolean;
  private lastDrawAt = -Infinity;
  private drawn = false;
  private done = 0;
  private total: number | undefined;

  constructor(private readonly stream: OutputStream, private readonly options: ProgressOptions) {
    this.now = options.now ?? Date.now;
    this.startedAt = this.now();
    this.total = options.total;
    this.enabled = stream.isTTY === true;
  }

  /** Sets the count (and the total once it is known); redraws at most every 100 ms. */
  update(done: number, total?: number): void {
    this.done = done;
    if (total !== undefined) this.total = total;
    if (!this.enabled) return;
    const now = this.now();
    if (now - this.lastDrawAt < MIN_REDRAW_INTERVAL_MS) return;
    this.lastDrawAt = now;
    this.draw(now);
  }

  /** Erases the bar, so the summary line that follows starts on a clean line. */
  finish(): void {
    if (this.enabled && this.drawn) this.stream.write('\r\x1b[2K');
    this.drawn = false;
  }

  /** Milliseconds since the bar was created: what summary lines report. */
  get elapsedMs(): number {
    return this.now() - this.startedAt;
  }

  private draw(now: number): void {
    const text = renderProgress({
      label: this.options.label,
      done: this.done,
      ...(this.total !== undefined ? { total: this.total } : {}),
      elapsedMs: now - this.startedAt,
      ...(this.stream.columns ? { width: this.stream.columns } : {}),
    });
    this.stream.write(`\r\x1b[2K${text}`);
    this.drawn = true;
  }
}
