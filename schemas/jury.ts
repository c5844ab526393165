import * as z from 'zod';

/**
 * The jury's conflict rules beyond the SIRETs staff declare (schemas/jury-config.json,
 * docs/jury.md): a reviewer whose email domain is the domain of one of the dossier's contacts
 * or team members is kept off the dossier (OpenReview's domain conflicts), unless that domain
 * is one many unrelated people share (public webmail), listed in `ignoredDomains`.
 *
 * Domains are compared whole: `interieur.gouv.fr` conflicts with `interieur.gouv.fr` only, never
 * with `gouv.fr` nor `dgpn.interieur.gouv.fr`. So a shared suffix such as `gouv.fr` needs no entry
 * (no reviewer's address is `@gouv.fr`), and listing one cannot switch the rule off for a whole
 * branch of the State by mistake.
 */

/** Addresses anyone can open: they say nothing of the organisation behind them. */
export const PUBLIC_EMAIL_DOMAINS = [
  'aol.com', 'bbox.fr', 'free.fr', 'gmail.com', 'gmx.fr', 'googlemail.com', 'hotmail.com', 'hotmail.fr', 'icloud.com',
  'laposte.net', 'live.com', 'live.fr', 'me.com', 'msn.com', 'neuf.fr', 'numericable.fr', 'orange.fr', 'outlook.com',
  'outlook.fr', 'proton.me', 'protonmail.com', 'sfr.fr', 'wanadoo.fr', 'yahoo.com', 'yahoo.fr',
] as const;

/** A full domain name, lower case, at least two labels (`orange.fr`, not `fr`). */
export const EmailDomainSchema = z.string()
  .transform((domain) => domain.trim().toLowerCase())
  .pipe(z.string().regex(
    /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/,
    'a domain is a full name such as orange.fr (no @, no scheme, at least one dot)',
  ));

/** Strict: a misspelt key would otherwise be dropped and its default used without a word. */
export const JuryConfigSchema = z.strictObject({
  $comment: z.string().optional(),
  /** Keep a reviewer off a dossier whose contacts or team share their email domain. */
  emailDomainConflicts: z.boolean().default(true),
  /** Domains that never make a conflict (compared whole, after lower-casing). */
  ignoredDomains: z.array(EmailDomainSchema).default([...PUBLIC_EMAIL_DOMAINS]),
});
export type JuryConfig = z.infer<typeof JuryConfigSchema>;

/** The rules when no configuration is given: domain conflicts on, public webmail ignored. */
export const DEFAULT_JURY_CONFIG: JuryConfig = JuryConfigSchema.parse({});
