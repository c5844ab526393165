import type { VNode } from 'preact';
import { render } from 'preact-render-to-string';

/** A whole HTML document. JSX escapes every text and attribute value: data never becomes markup. */
export function renderDocument(page: VNode): string {
  return `<!DOCTYPE html>${render(page)}`;
}
