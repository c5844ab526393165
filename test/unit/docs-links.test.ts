import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// A clone of this repository is all a user has: every relative link of its Markdown files must
// resolve to a file inside it, and no text may send the reader to a folder beside it.

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SKIPPED = new Set(['node_modules', '.git', '.tmp', '.data', 'cdk.out', 'coverage']);

function markdownFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (SKIPPED.has(entry.name)) return [];
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return markdownFiles(path);
    return entry.name.endsWith('.md') ? [path] : [];
  });
}

/** `[text](target)` and `[text](target "title")`, not images of remote hosts. */
const LINK = /\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g;

function relativeLinks(text: string): string[] {
  // Fenced code is example output, not navigation.
  const prose = text.replace(/```[\s\S]*?```/g, '');
  return [...prose.matchAll(LINK)].map((m) => m[1]!).filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target) && !target.startsWith('#'));
}

const files = markdownFiles(ROOT);

describe('Markdown links', () => {
  it('finds the documentation', () => {
    expect(files.map((f) => relative(ROOT, f))).toEqual(expect.arrayContaining(['README.md', 'docs/architecture.md', 'docs/data-model.md', 'docs/cli.md']));
  });

  it.each(files.map((f) => [relative(ROOT, f), f]))('%s: every relative link resolves inside the repository', (_name, file) => {
    const text = readFileSync(file, 'utf8');
    const broken = relativeLinks(text).filter((target) => {
      const path = resolve(dirname(file), decodeURIComponent(target.split('#')[0]!));
      return relative(ROOT, path).startsWith('..') || !existsSync(path);
    });
    expect(broken).toEqual([]);
    // Plain-text pointers outside the clone (the design folder it was started from).
    expect(text).not.toMatch(/\.\.\/shared\//);
  });

  it('catches what it should (a link outside, a missing file)', () => {
    expect(relativeLinks('[a](../shared/DESIGN.md) [b](docs/x.md#y) [c](https://x.fr) [d](#top) ```\n[e](f.md)\n```')).toEqual(['../shared/DESIGN.md', 'docs/x.md#y']);
  });
});
