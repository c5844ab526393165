import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import {
  GET_DELETED_DOSSIERS_QUERY,
  GET_DEMARCHE_DOSSIERS_QUERY,
  GET_DOSSIER_QUERY,
  GET_PENDING_DELETED_DOSSIERS_QUERY,
} from '#adapters/ds-api/dossier-query';
import {
  missingSelections, parseGraphqlDocument, validateDocument, type GraphqlDocument as AdapterDocument, type SchemaFields, type Selection,
} from '#adapters/ds-api/graphql-document';
import { DeletedDossiersAnswerSchema, DemarcheDossiersAnswerSchema } from '#schemas/ds-api';
import {
  AddressChampSchema,
  CheckboxChampSchema,
  DateChampSchema,
  DatetimeChampSchema,
  DecimalNumberChampSchema,
  DropDownListChampSchema,
  DsDossierSchema,
  IntegerNumberChampSchema,
  KNOWN_CHAMP_TYPENAMES,
  MultipleDropDownListChampSchema,
  PersonneMoraleIncompleteSchema,
  PersonneMoraleSchema,
  PersonnePhysiqueSchema,
  PieceJustificativeChampSchema,
  SiretChampSchema,
  TextChampSchema,
  YesNoChampSchema,
} from '#schemas/ds-dossier';

/**
 * The query must ask for every field our zod schemas read and every field of the real-shaped
 * fixture, for the right `__typename`: a dropped `... on X` fragment, alias or field makes
 * DS leave the value out (or, for fragment-gated kinds, change the `__typename`), and the
 * dossier then fails validation or loses data. `selectedKeys` below resolves, on the adapter's
 * reading of the document, which response keys it selects for a given `__typename`.
 */

// ---------------------------------------------------------------- the documents, read by the adapter's reader

/**
 * The document as functions/adapters/ds-api/graphql-document.ts reads it (the same reader the DS
 * simulator validates documents with), with operations by name, their variables' names, and the
 * number of fragment definitions in the text (the reader keeps the last of two with one name).
 */
interface GraphqlDocument {
  operations: Map<string, { variables: string[]; selections: Selection[] }>;
  fragments: AdapterDocument['fragments'];
  fragmentDefinitionCount: number;
}

function parseGraphql(text: string): GraphqlDocument {
  const document = parseGraphqlDocument(text);
  return {
    operations: new Map(document.operations.map((operation) => [
      operation.name ?? '', { variables: operation.variables.map((variable) => variable.name), selections: operation.selections },
    ])),
    fragments: document.fragments,
    fragmentDefinitionCount: text.match(/\bfragment\s+[_A-Za-z]\w*\s+on\b/g)?.length ?? 0,
  };
}

/** DS's abstract types: a fragment on one of them applies to any concrete type below it. */
const ABSTRACT_TYPES = new Set(['Champ', 'Demandeur', 'GeoArea']);

const applies = (on: string | undefined, typename: string | undefined) =>
  on === undefined || typename === undefined || on === typename || ABSTRACT_TYPES.has(on);

/** The response keys `selections` asks for on an object of `typename` (undefined: not known), with their sub-selections merged. */
function selectedKeys(document: GraphqlDocument, selections: Selection[], typename: string | undefined): Map<string, Selection[]> {
  const keys = new Map<string, Selection[]>();
  const visit = (items: Selection[]) => {
    for (const item of items) {
      if (item.kind === 'field') keys.set(item.key, [...(keys.get(item.key) ?? []), ...item.selections]);
      else if (item.kind === 'inline') {
        if (applies(item.on, typename)) visit(item.selections);
      } else {
        const fragment = document.fragments.get(item.name);
        if (!fragment) throw new Error(`unknown fragment ${item.name}`);
        if (applies(fragment.on, typename)) visit(fragment.selections);
      }
    }
  };
  visit(selections);
  return keys;
}

/** Every `path (on Type)` of `value` that the selections do not ask for. */
function missingKeys(document: GraphqlDocument, selections: Selection[], value: unknown, path = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((item, i) => missingKeys(document, selections, item, `${path}[${i}]`));
  if (value === null || typeof value !== 'object') return [];
  const object = value as Record<string, unknown>;
  const typename = typeof object.__typename === 'string' ? object.__typename : undefined;
  const selected = selectedKeys(document, selections, typename);
  return Object.entries(object).flatMap(([key, child]) => {
    const where = `${path}.${key}${typename ? ` (on ${typename})` : ''}`;
    const sub = selected.get(key);
    return sub ? missingKeys(document, sub, child, `${path}.${key}`) : [where];
  });
}

const missingInOperation = (queryText: string, operation: string, answerData: unknown) => {
  const document = parseGraphql(queryText);
  return missingKeys(document, document.operations.get(operation)!.selections, answerData);
};

// ---------------------------------------------------------------- samples built from the zod schemas

type AnyZod = z.ZodType & { _zod: { def: Record<string, unknown> & { type: string } } };

/**
 * An object with every key a zod object schema declares (nested objects and arrays of objects
 * followed, literals kept so `__typename` is set, every other leaf null).
 */
function sampleOf(schema: z.ZodType): unknown {
  const def = (schema as AnyZod)._zod.def;
  switch (def.type) {
    case 'optional':
    case 'nullable':
    case 'default':
      return sampleOf(def.innerType as z.ZodType);
    case 'pipe':
      return sampleOf(def.in as z.ZodType);
    case 'literal':
      return (def.values as unknown[])[0];
    case 'array': {
      const element = sampleOf(def.element as z.ZodType);
      return element === null ? null : [element];
    }
    case 'object':
      return Object.fromEntries(Object.entries(def.shape as Record<string, z.ZodType>).map(([key, child]) => [key, sampleOf(child)]));
    default:
      return null;
  }
}

type DossierAnswer = { data: { dossier: Record<string, unknown> } };
const readSample = (number: number): DossierAnswer =>
  JSON.parse(readFileSync(new URL(`../../events/dossiers/${number}.json`, import.meta.url), 'utf8')) as DossierAnswer;

/** The real-shaped EIG example (the shared DS fixture), then one with every champ kind the form may use, then an invalid one. */
const SAMPLE_NUMBERS = [23456789, 23456790, 23456791];
const fixture = readSample(23456789);

/** Every champ kind our schema models (DS has no EmailChamp: e-mails are TextChamp). */
const CHAMP_SCHEMAS: Record<string, z.ZodType> = {
  TextChamp: TextChampSchema,
  IntegerNumberChamp: IntegerNumberChampSchema,
  DecimalNumberChamp: DecimalNumberChampSchema,
  DateChamp: DateChampSchema,
  DatetimeChamp: DatetimeChampSchema,
  CheckboxChamp: CheckboxChampSchema,
  YesNoChamp: YesNoChampSchema,
  DropDownListChamp: DropDownListChampSchema,
  MultipleDropDownListChamp: MultipleDropDownListChampSchema,
  PieceJustificativeChamp: PieceJustificativeChampSchema,
  SiretChamp: SiretChampSchema,
  AddressChamp: AddressChampSchema,
};

/** A dossier holding `champ` at the top level, in annotations and in a repetition row. */
function dossierHolding(champ: unknown) {
  const repetition = { __typename: 'RepetitionChamp', id: null, champDescriptorId: null, label: null, rows: [{ id: null, champs: [champ] }] };
  return { dossier: { __typename: 'Dossier', champs: [champ, repetition], annotations: [champ] } };
}

/** DS resolves these to their own `__typename` only when the document names them in a fragment. */
const FRAGMENT_GATED_TYPES = [
  'DropDownListChamp', 'AddressChamp', 'DatetimeChamp', 'YesNoChamp', 'CommuneChamp',
  'DepartementChamp', 'RegionChamp', 'PaysChamp', 'HeaderSectionChamp', 'ExplicationChamp',
];

/** Type conditions the document may use: types of DS's schema (an unknown one makes DS reject the query). */
const DS_TYPES = new Set([
  'Dossier', 'Champ', 'Demandeur', 'PersonneMorale', 'PersonnePhysique', 'PersonneMoraleIncomplete', 'File', 'Address',
  'TextChamp', 'DropDownListChamp', 'MultipleDropDownListChamp', 'LinkedDropDownListChamp', 'CheckboxChamp', 'YesNoChamp',
  'IntegerNumberChamp', 'DecimalNumberChamp', 'DateChamp', 'DatetimeChamp', 'CiviliteChamp', 'PieceJustificativeChamp',
  'AddressChamp', 'CommuneChamp', 'DepartementChamp', 'RegionChamp', 'PaysChamp', 'EpciChamp', 'SiretChamp', 'RNAChamp',
  'RNFChamp', 'EngagementJuridiqueChamp', 'DossierLinkChamp', 'CarteChamp', 'HeaderSectionChamp', 'ExplicationChamp',
  'RepetitionChamp',
]);

function typeConditions(document: GraphqlDocument): string[] {
  const found: string[] = [];
  const visit = (items: Selection[]) => {
    for (const item of items) {
      if (item.kind === 'inline' && item.on) found.push(item.on);
      if (item.kind !== 'spread') visit(item.selections);
    }
  };
  for (const fragment of document.fragments.values()) {
    found.push(fragment.on);
    visit(fragment.selections);
  }
  for (const operation of document.operations.values()) visit(operation.selections);
  return found;
}

function spreadNames(document: GraphqlDocument): Set<string> {
  const names = new Set<string>();
  const visit = (items: Selection[]) => {
    for (const item of items) {
      if (item.kind === 'spread') names.add(item.name);
      else visit(item.selections);
    }
  };
  for (const fragment of document.fragments.values()) visit(fragment.selections);
  for (const operation of document.operations.values()) visit(operation.selections);
  return names;
}

// ---------------------------------------------------------------- the tests

describe('GET_DOSSIER_QUERY', () => {
  const document = parseGraphql(GET_DOSSIER_QUERY);

  it('is one getDossier($number: Int!) operation on dossier(number)', () => {
    expect([...document.operations.keys()]).toEqual(['getDossier']);
    const operation = document.operations.get('getDossier')!;
    expect(operation.variables).toEqual(['number']);
    expect(GET_DOSSIER_QUERY).toMatch(/query getDossier\(\$number: Int!\)\s*{\s*dossier\(number: \$number\)/);
  });

  it.each(SAMPLE_NUMBERS)('asks for every field of the sample answer events/dossiers/%i.json, for its __typename', (number) => {
    expect(missingInOperation(GET_DOSSIER_QUERY, 'getDossier', readSample(number).data)).toEqual([]);
  });

  it('asks for every field DsDossierSchema reads', () => {
    expect(missingInOperation(GET_DOSSIER_QUERY, 'getDossier', { dossier: { __typename: 'Dossier', ...(sampleOf(DsDossierSchema) as object) } })).toEqual([]);
  });

  it.each([PersonneMoraleSchema, PersonnePhysiqueSchema, PersonneMoraleIncompleteSchema].map((schema) => [sampleOf(schema)]))(
    'asks for every field of the demandeur %#',
    (demandeur) => {
      expect(missingInOperation(GET_DOSSIER_QUERY, 'getDossier', { dossier: { __typename: 'Dossier', demandeur } })).toEqual([]);
    },
  );

  it.each(Object.entries(CHAMP_SCHEMAS))('asks for every field of %s (its aliases included), at the top level, in annotations and in repetition rows', (typename, schema) => {
    const champ = sampleOf(schema) as Record<string, unknown>;
    expect(champ.__typename).toBe(typename);
    expect(missingInOperation(GET_DOSSIER_QUERY, 'getDossier', dossierHolding(champ))).toEqual([]);
  });

  it('covers every champ kind the schema models', () => {
    expect([...Object.keys(CHAMP_SCHEMAS), 'RepetitionChamp'].sort()).toEqual([...KNOWN_CHAMP_TYPENAMES].sort());
  });

  it('names every fragment-gated champ type, so DS returns its real __typename', () => {
    const conditions = new Set(typeConditions(document));
    expect(FRAGMENT_GATED_TYPES.filter((type) => !conditions.has(type))).toEqual([]);
  });

  it('only names types DS has, and only ever sends `value` unaliased for String values', () => {
    expect(typeConditions(document).filter((type) => !DS_TYPES.has(type))).toEqual([]);
    const champFragment = document.fragments.get('ChampFragment')!;
    const unaliasedValueOn = champFragment.selections
      .filter((item): item is Extract<Selection, { kind: 'inline' }> => item.kind === 'inline')
      .filter((item) => item.selections.some((field) => field.kind === 'field' && field.name === 'value' && field.key === 'value'))
      .map((item) => item.on);
    expect(unaliasedValueOn.sort()).toEqual(['DropDownListChamp', 'TextChamp']);
  });

  it('defines each fragment once and uses every one (DS rejects unused or unknown fragments)', () => {
    expect(document.fragmentDefinitionCount).toBe(document.fragments.size);
    expect([...spreadNames(document)].sort()).toEqual([...document.fragments.keys()].sort());
  });

  it('would catch a dropped fragment or alias', () => {
    const withoutDropDown = GET_DOSSIER_QUERY.replace('... on DropDownListChamp { value }', '');
    expect(withoutDropDown).not.toBe(GET_DOSSIER_QUERY);
    expect(missingInOperation(withoutDropDown, 'getDossier', fixture.data)).toContain('.dossier.champs[6].value (on DropDownListChamp)');

    const withoutYesNo = GET_DOSSIER_QUERY.replace('... on YesNoChamp { selected: value }', '');
    expect(missingInOperation(withoutYesNo, 'getDossier', dossierHolding(sampleOf(YesNoChampSchema)))).toContain(
      '.dossier.champs[0].selected (on YesNoChamp)',
    );

    const withoutByteSizeAlias = GET_DOSSIER_QUERY.replace('byteSize: byteSizeBigInt', 'byteSizeBigInt');
    expect(missingInOperation(withoutByteSizeAlias, 'getDossier', fixture.data)).toContain('.dossier.champs[8].files[0].byteSize (on File)');
  });
});

describe('reconciliation queries', () => {
  it('getDemarcheDossiers takes demarche, updatedSince, after, first and returns one page of summaries', () => {
    const document = parseGraphql(GET_DEMARCHE_DOSSIERS_QUERY);
    expect(document.operations.get('getDemarcheDossiers')!.variables).toEqual(['demarche', 'updatedSince', 'after', 'first']);
    expect(GET_DEMARCHE_DOSSIERS_QUERY).toContain('$updatedSince: ISO8601DateTime');
    expect(missingInOperation(GET_DEMARCHE_DOSSIERS_QUERY, 'getDemarcheDossiers', sampleOf(DemarcheDossiersAnswerSchema))).toEqual([]);
  });

  it('getDeletedDossiers takes demarche, deletedSince, after and returns number, state, reason, dateSupression', () => {
    const document = parseGraphql(GET_DELETED_DOSSIERS_QUERY);
    expect(document.operations.get('getDeletedDossiers')!.variables).toEqual(['demarche', 'deletedSince', 'after']);
    const sample = sampleOf(DeletedDossiersAnswerSchema) as { demarche: { deletedDossiers: { nodes: object[] } } };
    expect(Object.keys(sample.demarche.deletedDossiers.nodes[0]!).sort()).toEqual(['dateSupression', 'number', 'reason', 'state']);
    expect(missingInOperation(GET_DELETED_DOSSIERS_QUERY, 'getDeletedDossiers', sample)).toEqual([]);
  });
});

// ---------------------------------------------------------------- against DS's schema (issue 8)

/** DS's fields for the types our documents reach: test/fixtures/ds-api/schema-fields.json (its source is cited in it). */
const SCHEMA_FIELDS = JSON.parse(readFileSync(new URL('../fixtures/ds-api/schema-fields.json', import.meta.url), 'utf8')) as SchemaFields & { _source: string };

describe('our documents against DS\'s schema', () => {
  const documents = {
    getDossier: GET_DOSSIER_QUERY,
    getDemarcheDossiers: GET_DEMARCHE_DOSSIERS_QUERY,
    getDeletedDossiers: GET_DELETED_DOSSIERS_QUERY,
    getPendingDeletedDossiers: GET_PENDING_DELETED_DOSSIERS_QUERY,
  };

  it('the field list cites the schema it comes from', () => {
    expect(SCHEMA_FIELDS._source).toMatch(/schema\.graphql .* commit [0-9a-f]{40}/);
    expect(Object.keys(SCHEMA_FIELDS.types.Dossier!)).toContain('dateDerniereModification');
    expect(SCHEMA_FIELDS.types.Demarche!.pendingDeletedDossiers).toBe('DeletedDossierConnection');
  });

  it.each(Object.entries(documents))('%s selects only fields DS has', (_name, text) => {
    expect(validateDocument(parseGraphqlDocument(text), SCHEMA_FIELDS)).toEqual([]);
  });

  it('would catch a field, a type or a fragment DS does not have', () => {
    const codes = (text: string) => validateDocument(parseGraphqlDocument(text), SCHEMA_FIELDS).map((error) => `${error.extensions.code} ${error.path.join('.')}`);
    expect(codes(GET_DOSSIER_QUERY.replace('  archived\n', '  archived\n  numeroDeDossier\n'))).toEqual(['undefinedField fragment DossierFragment.numeroDeDossier']);
    expect(codes(GET_DOSSIER_QUERY.replace('... on TextChamp { value }', '... on EmailChamp { value }'))).toEqual(['undefinedType fragment ChampFragment.... on EmailChamp']);
    expect(codes(GET_DOSSIER_QUERY.replace('usager { email }', 'usager'))).toEqual(['selectionMismatch fragment DossierFragment.usager']);
    expect(codes(GET_DELETED_DOSSIERS_QUERY.replace('reason', 'raison'))).toEqual(['undefinedField query getDeletedDossiers.demarche.deletedDossiers.nodes.raison']);
  });

  it.each(SAMPLE_NUMBERS)('events/dossiers/%i.json carries every field the query selects, for each object\'s type', (number) => {
    expect(missingSelections(parseGraphqlDocument(GET_DOSSIER_QUERY), SCHEMA_FIELDS, 'getDossier', readSample(number).data)).toEqual([]);
  });

  it('the walk would catch a fixture missing a selected field', () => {
    const sample = structuredClone(readSample(23456789)).data as { dossier: Record<string, any> };
    delete sample.dossier.connectionUsager;
    delete sample.dossier.champs[0].updatedAt;
    delete sample.dossier.demandeur.entreprise.siren;
    expect(missingSelections(parseGraphqlDocument(GET_DOSSIER_QUERY), SCHEMA_FIELDS, 'getDossier', sample).sort()).toEqual([
      '.dossier.connectionUsager (on Dossier)',
      `.dossier.champs[0].updatedAt (on ${sample.dossier.champs[0].__typename})`,
      '.dossier.demandeur.entreprise.siren (on Entreprise)',
    ].sort());
  });

  it('getPendingDeletedDossiers takes demarche, deletedSince, after and returns the DeletedDossier fields', () => {
    const document = parseGraphql(GET_PENDING_DELETED_DOSSIERS_QUERY);
    expect(document.operations.get('getPendingDeletedDossiers')!.variables).toEqual(['demarche', 'deletedSince', 'after']);
  });
});
