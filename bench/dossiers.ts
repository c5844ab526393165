/**
 * Dossiers generated in the DS simulator for the benchmarks: copies of the seed dossier
 * events/dossiers/23456789.json with new numbers, each with `filesPerDossier` small files
 * spread over the form's two file champs (the simulator serves their bytes and checksums).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DsSimulator } from '../infra/local/ds-simulator.ts';
import { ROOT } from './lib.ts';

export const DEMARCHE = 98765;
const SEED = JSON.parse(readFileSync(join(ROOT, 'events', 'dossiers', '23456789.json'), 'utf8')).data.dossier;

export interface GeneratedDossiers {
  count: number;
  firstNumber: number;
  filesPerDossier?: number;
  fileBytes?: number;
  /** Deposit date (ISO), which decides the dossier's round; the seed's by default. */
  dateDepot?: string;
}

export function generateDossiers(simulator: DsSimulator, options: GeneratedDossiers): number[] {
  const { count, firstNumber, filesPerDossier = 3, fileBytes = 16 * 1024, dateDepot } = options;
  const fileChamps = (SEED.champs as any[]).filter((champ) => Array.isArray(champ.files) && champ.files.length > 0);
  const numbers: number[] = [];
  for (let i = 0; i < count; i++) {
    const number = firstNumber + i;
    const dossier = structuredClone(SEED);
    dossier.number = number;
    dossier.id = Buffer.from(`Dossier-${number}`).toString('base64');
    if (dateDepot) {
      for (const field of ['dateDepot', 'datePassageEnConstruction', 'dateDerniereModification', 'dateDerniereModificationChamps']) {
        if (dossier[field]) dossier[field] = dateDepot;
      }
    }
    const champs = fileChamps.map((champ) => (dossier.champs as any[]).find((c) => c.id === champ.id));
    for (const champ of champs) champ.files = [];
    for (let f = 0; f < filesPerDossier; f++) {
      const template = fileChamps[f % fileChamps.length].files[0];
      champs[f % champs.length].files.push({ ...template, filename: `piece-${f + 1}.pdf`, byteSize: String(fileBytes), checksum: `bench-${number}-${f}` });
    }
    simulator.upsert(dossier);
    numbers.push(number);
  }
  return numbers;
}
