/**
 * The page's own URLs. Every link and form action carries the reviewer's token: it is their only
 * credential (no cookie), and it never leaves the origin (Referrer-Policy: no-referrer).
 */

const segment = encodeURIComponent;
const withToken = (path: string, token: string, extra: Record<string, string> = {}) =>
  `${path}?${new URLSearchParams({ token, ...extra }).toString()}`;

export const listHref = (roundId: string, token: string) => withToken(`/review/${segment(roundId)}`, token);

export const dossierHref = (roundId: string, dossierNumber: number, token: string, extra: Record<string, string> = {}) =>
  withToken(`/review/${segment(roundId)}/dossiers/${dossierNumber}`, token, extra);

export const attachmentHref = (roundId: string, dossierNumber: number, index: number, token: string) =>
  withToken(`/review/${segment(roundId)}/dossiers/${dossierNumber}/attachments/${index}`, token);
