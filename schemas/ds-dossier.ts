import * as z from 'zod';

/**
 * The GraphQL `dossier(number)` answer, as our query in functions/adapters/ds-api/dossier-query.ts
 * asks for it (typed values use the aliases of DS's persisted query `ds-query-v2`: `checked`,
 * `integerNumber`, `decimalNumber`, `selected`, `byteSize: byteSizeBigInt`).
 *
 * Objects are loose: fields we do not model are kept, because the stored copy must be faithful.
 */

const isoDateTime = z.iso.datetime({ offset: true });
const nullableDateTime = isoDateTime.nullable().optional();

export const ChampBaseSchema = z.looseObject({
  id: z.string().min(1),
  champDescriptorId: z.string().min(1),
  label: z.string(),
  stringValue: z.string().nullable().optional(),
  updatedAt: isoDateTime.optional(),
  prefilled: z.boolean().optional(),
});

export const VirusScanResultSchema = z.enum(['pending', 'safe', 'infected', 'integrity_error']);

/** DS's `checksum` is the base64 MD5 of the content: exactly what S3 takes as Content-MD5. */
export const Base64Md5Schema = z.string().regex(/^[A-Za-z0-9+/]{22}==$/, 'checksum must be a base64 MD5 (24 characters)');

export const DsFileSchema = z.looseObject({
  filename: z.string().min(1),
  contentType: z.string().min(1),
  checksum: Base64Md5Schema,
  // byteSizeBigInt is serialised as a string; older queries return the Int `byteSize`.
  byteSize: z.union([z.number().int().nonnegative(), z.string().regex(/^\d+$/)]).transform(Number),
  createdAt: isoDateTime.optional(),
  virusScanResult: VirusScanResultSchema.nullable().optional(),
  url: z.url(),
});
export type DsFile = z.infer<typeof DsFileSchema>;

export const AddressSchema = z.looseObject({
  label: z.string(),
  type: z.string().optional(),
  streetAddress: z.string().nullable().optional(),
  postalCode: z.string().nullable().optional(),
  cityName: z.string().nullable().optional(),
  cityCode: z.string().nullable().optional(),
  departmentCode: z.string().nullable().optional(),
  regionCode: z.string().nullable().optional(),
});

export const SiretSchema = z.string().regex(/^\d{14}$/, 'SIRET must be 14 digits');

export const EntrepriseSchema = z.looseObject({
  siren: z.string().regex(/^\d{9}$/, 'SIREN must be 9 digits').nullable().optional(),
  raisonSociale: z.string().nullable().optional(),
  nomCommercial: z.string().nullable().optional(),
  formeJuridique: z.string().nullable().optional(),
  /** INSEE "catégorie juridique" (niveau III, 4 digits): what the eligibility rule reads (schemas/eligibility-config.json). */
  formeJuridiqueCode: z.string().nullable().optional(),
});

export const PersonneMoraleSchema = z.looseObject({
  __typename: z.literal('PersonneMorale'),
  siret: SiretSchema,
  siegeSocial: z.boolean().nullable().optional(),
  naf: z.string().nullable().optional(),
  libelleNaf: z.string().nullable().optional(),
  address: AddressSchema.nullable().optional(),
  entreprise: EntrepriseSchema.nullable().optional(),
  association: z.looseObject({}).nullable().optional(),
});

export const PersonnePhysiqueSchema = z.looseObject({
  __typename: z.literal('PersonnePhysique'),
  civilite: z.enum(['M', 'Mme']).nullable().optional(),
  nom: z.string(),
  prenom: z.string(),
  email: z.string().nullable().optional(),
});

export const PersonneMoraleIncompleteSchema = z.looseObject({
  __typename: z.literal('PersonneMoraleIncomplete'),
  siret: SiretSchema,
});

export const DemandeurSchema = z.discriminatedUnion('__typename', [
  PersonneMoraleSchema, PersonnePhysiqueSchema, PersonneMoraleIncompleteSchema,
]);
export type Demandeur = z.infer<typeof DemandeurSchema>;

// One schema per champ kind the EIG form uses (DS has no email kind: emails come as TextChamp). The typed value is nullable: an optional
// champ left empty comes back with a null value.
const champ = <T extends string, S extends z.core.$ZodLooseShape>(typename: T, shape: S) =>
  ChampBaseSchema.extend({ __typename: z.literal(typename), ...shape });

export const TextChampSchema = champ('TextChamp', { value: z.string().nullable().optional() });
export const IntegerNumberChampSchema = champ('IntegerNumberChamp', {
  // BigInt is serialised as a string by graphql-ruby.
  integerNumber: z.string().regex(/^-?\d+$/, 'integerNumber must be an integer string').nullable(),
});
export const DecimalNumberChampSchema = champ('DecimalNumberChamp', { decimalNumber: z.number().nullable() });
export const DateChampSchema = champ('DateChamp', { date: z.iso.date().nullable() });
export const DatetimeChampSchema = champ('DatetimeChamp', { datetime: isoDateTime.nullable() });
export const CheckboxChampSchema = champ('CheckboxChamp', { checked: z.boolean() });
export const YesNoChampSchema = champ('YesNoChamp', { selected: z.boolean().nullable() });
export const DropDownListChampSchema = champ('DropDownListChamp', { value: z.string().nullable().optional() });
export const MultipleDropDownListChampSchema = champ('MultipleDropDownListChamp', { values: z.array(z.string()) });
export const PieceJustificativeChampSchema = champ('PieceJustificativeChamp', { files: z.array(DsFileSchema) });
export const SiretChampSchema = champ('SiretChamp', {
  // The établissement comes with its entreprise (PersonneMoraleFragment): its legal form, when the
  // mapping takes the administration from this champ rather than from the demandeur.
  etablissement: z.looseObject({ siret: SiretSchema, entreprise: EntrepriseSchema.nullable().optional() }).nullable().optional(),
});
export const AddressChampSchema = champ('AddressChamp', { address: AddressSchema.nullable().optional() });

/** Any champ kind we do not model (Commune, Carte, Titre identité, ...): kept as DS sent it. */
export const RawChampSchema = ChampBaseSchema.extend({ __typename: z.string().min(1) });

export type RepetitionChamp = z.infer<typeof ChampBaseSchema> & {
  __typename: 'RepetitionChamp';
  rows: { id: string; champs: Champ[] }[];
};

/** The champ kinds we model, by `__typename`. */
export interface KnownChamps {
  TextChamp: z.infer<typeof TextChampSchema>;
  IntegerNumberChamp: z.infer<typeof IntegerNumberChampSchema>;
  DecimalNumberChamp: z.infer<typeof DecimalNumberChampSchema>;
  DateChamp: z.infer<typeof DateChampSchema>;
  DatetimeChamp: z.infer<typeof DatetimeChampSchema>;
  CheckboxChamp: z.infer<typeof CheckboxChampSchema>;
  YesNoChamp: z.infer<typeof YesNoChampSchema>;
  DropDownListChamp: z.infer<typeof DropDownListChampSchema>;
  MultipleDropDownListChamp: z.infer<typeof MultipleDropDownListChampSchema>;
  PieceJustificativeChamp: z.infer<typeof PieceJustificativeChampSchema>;
  SiretChamp: z.infer<typeof SiretChampSchema>;
  AddressChamp: z.infer<typeof AddressChampSchema>;
  RepetitionChamp: RepetitionChamp;
}
/** Any other kind, kept as DS sent it. */
export type RawChamp = z.infer<typeof RawChampSchema> & { raw: true };
export type Champ = KnownChamps[keyof KnownChamps] | RawChamp;

/** Narrows a champ to one modelled kind (a raw champ never matches, whatever its typename). */
export function isChamp<K extends keyof KnownChamps>(champ: Champ | undefined, ...kinds: K[]): champ is KnownChamps[K] {
  return !!champ && !('raw' in champ && champ.raw === true) && (kinds as string[]).includes(champ.__typename);
}

const KNOWN_CHAMPS: Record<string, z.ZodType> = {
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

export const KNOWN_CHAMP_TYPENAMES = [...Object.keys(KNOWN_CHAMPS), 'RepetitionChamp'];

const RepetitionChampSchema: z.ZodType<RepetitionChamp> = z.lazy(() =>
  ChampBaseSchema.extend({
    __typename: z.literal('RepetitionChamp'),
    rows: z.array(z.looseObject({ id: z.string().min(1), champs: z.array(ChampSchema) })),
  }),
) as z.ZodType<RepetitionChamp>;

/**
 * Picks the schema by `__typename`. A known kind must match its schema (its issues are
 * reported with their path); an unknown kind is kept raw and flagged `raw: true`, never rejected.
 */
export const ChampSchema: z.ZodType<Champ> = z.lazy(() =>
  z.looseObject({ __typename: z.string().min(1) }).transform((input, ctx) => {
    const schema = input.__typename === 'RepetitionChamp' ? RepetitionChampSchema : KNOWN_CHAMPS[input.__typename];
    const result = (schema ?? RawChampSchema).safeParse(input);
    if (!result.success) {
      for (const issue of result.error.issues) ctx.addIssue({ ...issue, code: 'custom', path: issue.path as PropertyKey[], message: issue.message });
      return z.NEVER;
    }
    return (schema ? result.data : { ...(result.data as object), raw: true }) as Champ;
  }),
) as unknown as z.ZodType<Champ>;

export const DsDossierSchema = z.looseObject({
  id: z.string().min(1),
  number: z.number().int().positive(),
  state: z.enum(['en_construction', 'en_instruction', 'accepte', 'refuse', 'sans_suite']),
  archived: z.boolean().optional(),
  dateDepot: nullableDateTime,
  datePassageEnConstruction: nullableDateTime,
  datePassageEnInstruction: nullableDateTime,
  dateTraitement: nullableDateTime,
  dateDerniereModification: isoDateTime,
  dateDerniereModificationChamps: nullableDateTime,
  dateDerniereModificationAnnotations: nullableDateTime,
  usager: z.looseObject({ email: z.string() }).nullable().optional(),
  demarche: z.looseObject({
    number: z.number().int().positive(),
    title: z.string().optional(),
    revision: z.looseObject({ id: z.string() }).optional(),
  }),
  groupeInstructeur: z.looseObject({ id: z.string(), number: z.number().int().optional(), label: z.string() }).nullable().optional(),
  demandeur: DemandeurSchema,
  champs: z.array(ChampSchema),
  annotations: z.array(ChampSchema).optional(),
  traitements: z.array(z.looseObject({ event: z.string(), dateTraitement: isoDateTime })).optional(),
});
export type DsDossier = z.infer<typeof DsDossierSchema>;

/** The minimum we need to store even a dossier that fails validation: its number and version. */
export const DossierEnvelopeSchema = z.looseObject({
  number: z.number().int().positive(),
  dateDerniereModification: isoDateTime,
  state: z.string().optional(),
  dateDepot: nullableDateTime,
  demarche: z.looseObject({ number: z.number().int().positive() }).optional(),
});
export type DossierEnvelope = z.infer<typeof DossierEnvelopeSchema>;

/**
 * One GraphQL error. `path` says where it happened: `["dossier"]` for the root field (an
 * unknown dossier: `not_found`), deeper for a nested object (a linked dossier of a démarche
 * the token cannot read: `unauthorized` at `["dossier", "champs", 3, "dossier"]`).
 */
export const GraphqlErrorSchema = z.looseObject({
  message: z.string(),
  path: z.array(z.union([z.string(), z.number()])).optional(),
  extensions: z.looseObject({ code: z.string().optional() }).optional(),
});
export type GraphqlError = z.infer<typeof GraphqlErrorSchema>;
