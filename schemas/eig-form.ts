import * as z from 'zod';
import { SiretSchema, Base64Md5Schema } from './ds-dossier.ts';

/**
 * A champ reference in the form mapping: either the stable champ id DS returns
 * (`Q2hhbXAtNDEwMjEwMQ==`, base64 of `Champ-4102101`) or the bare stable id (`4102101`).
 * Both normalise to the champDescriptorId, which never changes across form revisions.
 */
export const ChampRefSchema = z
  .union([z.number().int().positive(), z.string().regex(/^\d+$/), z.string().min(4)])
  .transform((ref) => (/^\d+$/.test(String(ref)) ? Buffer.from(`Champ-${ref}`).toString('base64') : String(ref)));

/**
 * How the EIG project form maps onto a `Project`: configuration, not code. A new form
 * revision only needs a new mapping file (see schemas/eig-form-mapping.json).
 */
export const FormMappingSchema = z.object({
  title: ChampRefSchema,
  description: ChampRefSchema,
  theme: ChampRefSchema,
  eigPostsRequested: ChampRefSchema,
  wishedStartDate: ChampRefSchema,
  /** Champs holding contact emails, in addition to the usager's account email. */
  contactEmails: z.array(ChampRefSchema).default([]),
  /** The administration: from the demandeur (PersonneMorale) unless a champ is given. */
  administrationName: ChampRefSchema.optional(),
  administrationSiret: ChampRefSchema.optional(),
  team: z.object({
    champ: ChampRefSchema,
    name: ChampRefSchema,
    role: ChampRefSchema,
    email: ChampRefSchema,
  }),
  /**
   * The profiles a project asks for: a multiple drop-down champ and the option labels it may
   * hold (DS returns the chosen labels themselves, so the accepted list is configuration: a
   * relabelled option is added here, and an option not listed is a validation issue naming it).
   */
  profiles: z.object({
    champ: ChampRefSchema,
    options: z.array(z.string().trim().min(1)).min(1, 'list at least one accepted profile label'),
  }),
  /**
   * The checkbox (or yes/no) champ by which the administration commits to the beta.gouv.fr
   * approach (or to confirm its relevance with beta.gouv.fr in an investigation phase). Not a
   * validity rule: an unticked box flags the dossier (functions/core/eligibility.ts).
   */
  betaGouvCommitment: ChampRefSchema.optional(),
  /** Checkbox (or yes/no) champs the administration must tick. */
  commitments: z.array(z.object({ champ: ChampRefSchema, required: z.boolean().default(true) })).default([]),
  /** Piece-justificative champs whose files are part of the application. */
  attachments: z.array(z.object({ champ: ChampRefSchema, required: z.boolean().default(false) })).default([]),
  /** Bounds on the number of EIG posts one project may ask for (the EIG call: 1 to 3). */
  maxEigPosts: z.number().int().positive().default(3),
});
export type FormMapping = z.infer<typeof FormMappingSchema>;

export const TeamMemberSchema = z.object({
  name: z.string().trim().min(1, 'team member name is empty'),
  role: z.string().trim().min(1, 'team member role is empty'),
  email: z.email('team member email is not a valid address'),
});

export const ProjectAttachmentSchema = z.object({
  champId: z.string(),
  label: z.string(),
  filename: z.string(),
  contentType: z.string(),
  byteSize: z.number().int().nonnegative(),
  checksum: Base64Md5Schema,
});

/** The domain view of one EIG application, built from a dossier by the form mapping. */
export const ProjectSchema = z.object({
  title: z.string().trim().min(1, 'title is empty'),
  description: z.string().trim().min(1, 'description is empty'),
  administration: z.object({
    name: z.string().trim().min(1, 'administration name is missing'),
    siret: SiretSchema,
    /** Who filed the dossier, as DS knows them: a personne physique cannot be checked against the legal forms. */
    demandeurType: z.enum(['PersonneMorale', 'PersonneMoraleIncomplete', 'PersonnePhysique']).optional(),
    /** INSEE catégorie juridique (niveau III, 4 digits) from DS's entreprise data; absent when DS has none. */
    legalFormCode: z.string().regex(/^\d{4}$/, 'legal form code must be 4 digits').optional(),
    /** Its label, as DS gives it. */
    legalForm: z.string().optional(),
  }),
  contactEmails: z.array(z.email('contact email is not a valid address')).min(1, 'no contact email'),
  team: z.array(TeamMemberSchema).min(1, 'the team has no member'),
  eigPostsRequested: z.number().int().min(1, 'at least one EIG post must be requested'),
  wishedStartDate: z.iso.date('wished start date is not a date'),
  theme: z.string().trim().min(1, 'theme is empty'),
  /**
   * The EIG profiles requested (option labels of the form, e.g. "Directeur·rice de produit").
   * Dossiers stored before this field existed have none: readers use `project.profiles ?? []`.
   */
  profiles: z.array(z.string()).min(1, 'at least one profile must be requested'),
  /** Whether the beta.gouv.fr commitment is ticked; absent when the form has no such champ or it is hidden. */
  betaGouvCommitment: z.boolean().optional(),
  commitments: z.array(z.object({ champId: z.string(), label: z.string(), accepted: z.boolean() })),
  attachments: z.array(ProjectAttachmentSchema),
});
export type Project = z.infer<typeof ProjectSchema>;
