import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { FormMappingSchema } from '#schemas/eig-form';

const root = fileURLToPath(new URL('../../', import.meta.url));

export function readJson<T = any>(relativePath: string): T {
  return JSON.parse(readFileSync(`${root}${relativePath}`, 'utf8')) as T;
}

/** The `dossier` object of a sample GraphQL answer in events/dossiers/. */
export function sampleDossier(number: number): any {
  return structuredClone(readJson(`events/dossiers/${number}.json`).data.dossier);
}

export const sampleMapping = () => FormMappingSchema.parse(readJson('schemas/eig-form-mapping.json'));
