import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Which DSFR files the review page serves: its one stylesheet, every file that stylesheet can
 * load (fonts and icons, by their relative url()s), and the favicon. Nothing else of the 6 MB
 * package is reachable. The Lambda bundle copies exactly these (infra), the asset route serves
 * exactly these (assets.ts): one list for both, computed from the stylesheet itself, so a DSFR
 * upgrade cannot leave a font or an icon behind.
 */

/** The DSFR version the page is styled with (package.json pins it): the versioned asset path. */
export const DSFR_VERSION = '1.14.4';

/** Core and every component, without the legacy (IE) and print sheets: 75 KB gzipped. */
export const STYLESHEET = 'dsfr.main.min.css';
export const FAVICON = 'favicon/favicon.svg';

/** Next to the Lambda bundle: where infra copies the files (FunctionWithLogGroup `afterBundling`). */
export const BUNDLED_ASSETS_DIR = 'review-assets';

/** Relative `url(...)` references of a stylesheet (data: URIs and absolute URLs are not files). */
export function referencedFiles(css: string): string[] {
  const files = new Set<string>();
  for (const match of css.matchAll(/url\(\s*(['"]?)([^'")]+)\1\s*\)/g)) {
    const target = match[2]!.trim().split(/[?#]/)[0]!;
    if (!target || /^(data:|[a-z]+:|\/)/i.test(target) || target.includes('..')) continue;
    files.add(target);
  }
  return [...files].sort();
}

/** The allow-list, as paths relative to DSFR's `dist` folder (where the stylesheet sits). */
export function servedFiles(distDir: string): string[] {
  const css = readFileSync(join(distDir, STYLESHEET), 'utf8');
  return [STYLESHEET, FAVICON, ...referencedFiles(css)];
}
