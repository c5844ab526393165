import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { sign } from '#core/standard-webhooks';
import { parseGraphqlDocument, validateDocument, type SchemaFields } from '#adapters/ds-api/graphql-document';
import { SimulatorMutations, type SimulatorMutationsOptions } from './ds-simulator-mutations.ts';

/**
 * A stand-in for Démarches Simplifiées: the GraphQL operations our client sends
 * (`getDossier`, `getDemarcheDossiers`, `getDeletedDossiers`), file downloads whose bytes
 * match the checksums it advertises, expiring file URLs, virus scans that clear after a
 * while, and emission of legacy webhooks. Seeded from events/dossiers/*.json.
 *
 * File bytes are generated, not stored: a deterministic stream per file, so a 200 MB file
 * costs no memory and its MD5 is computed once by streaming it.
 */

export interface DsSimulatorOptions {
  /** Bearer token required on GraphQL calls; when unset any token is accepted. */
  token?: string;
  host?: string;
  port?: number;
  /** Folder of `<number>.json` GraphQL answers to seed from. */
  seedDir?: string;
  /** Lifetime of the file URLs it hands out (DS: 1 hour). */
  fileUrlTtlMs?: number;
  /** Files seeded with a pending virus scan turn `safe` after this long. */
  virusScanMs?: number;
  /** Where `POST /_simulator/webhooks` delivers: the legacy URL (with its token) and/or the v2 URL and its secret. */
  webhooks?: { legacyUrl?: string; v2Url?: string; v2Secret?: string };
  /** Faults to inject from the start (see `setFaults`); none by default. */
  faults?: SimulatorFaults;
  /** Tokens DS would say expired: answered 401 `unauthorized` (a wrong token gets 403 `forbidden`). */
  expiredTokens?: string[];
  /** DS's rate limiter (400 a minute per token in production): off when unset (see `setRateLimit`). */
  rateLimitPerMinute?: number;
  /**
   * The démarches the token may read (default: every one served). A dossier of another one is
   * refused (`unauthorized` at `["dossier"]`), and hidden where a DossierLinkChamp links to it
   * (nested `unauthorized`, the rest of the dossier answered), as DS does.
   */
  readableDemarches?: number[];
  /** Write-back: the write token and instructeurs the mutations accept (infra/local/ds-simulator-mutations.ts). */
  writeBack?: SimulatorMutationsOptions;
}

/**
 * What the simulator can do wrong, as DS and its file host do: each rate is the probability
 * (0 to 1) that one request meets that fault, drawn from a seeded generator so a run is
 * repeatable. `injectNext` forces the next ones instead, for tests that need an exact fault.
 */
export interface SimulatorFaults {
  /** Seed of the draws (default 1). */
  seed?: number;
  /** GraphQL answered HTTP 429 with `RateLimit-Reset` (DS's rate limiter), after which DS serves again. */
  rateLimited?: number;
  /** Seconds until the `RateLimit-Reset` announced (an epoch second, as DS sends it; default 1). */
  rateLimitResetSeconds?: number;
  /** GraphQL answered HTTP 500. */
  serverErrors?: number;
  /** GraphQL answered only after `timeoutMs` (default 40 s: past any client timeout). */
  timeouts?: number;
  timeoutMs?: number;
  /** A file download that stops halfway (the connection is cut). */
  cutDownloads?: number;
  /** A file download with one byte changed (the checksum no longer matches). */
  corruptDownloads?: number;
}

export type FaultKind = 'rate_limited' | 'server_error' | 'timeout' | 'cut_download' | 'corrupt_download';

const GRAPHQL_FAULTS: ReadonlyArray<[FaultKind, keyof SimulatorFaults]> = [
  ['rate_limited', 'rateLimited'], ['server_error', 'serverErrors'], ['timeout', 'timeouts'],
];
const DOWNLOAD_FAULTS: ReadonlyArray<[FaultKind, keyof SimulatorFaults]> = [
  ['cut_download', 'cutDownloads'], ['corrupt_download', 'corruptDownloads'],
];

/** mulberry32: a small seeded generator, enough for fault draws (and the storm test's own draws). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface SimulatedFile {
  id: string;
  size: number;
  seed: string;
  checksum: string;
  contentType: string;
  scanClearsAt: number;
}

interface DeletedEntry { number: number; state: string; reason: string; dateSupression: string }

/**
 * The fields of DS's schema for the types our documents use (derived from DS's schema.graphql,
 * source cited in the file): the simulator refuses a document selecting any other, as DS does.
 */
const SCHEMA_FIELDS: SchemaFields = JSON.parse(
  readFileSync(new URL('../../test/fixtures/ds-api/schema-fields.json', import.meta.url), 'utf8'),
) as SchemaFields;

/** GraphQL `Int`: DS refuses a bigger variable before running the query. */
const GRAPHQL_INT_MAX = 2 ** 31 - 1;

/** An instant as DS writes it: Paris offset, whole seconds (`2026-03-05T14:22:11+01:00`). */
export function parisTime(date: Date): string {
  const parts = Object.fromEntries(new Intl.DateTimeFormat('en-GB', {
    timeZone: 'Europe/Paris', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit',
    second: '2-digit', hourCycle: 'h23', timeZoneName: 'longOffset',
  }).formatToParts(date).map((part) => [part.type, part.value]));
  const offset = parts.timeZoneName === 'GMT' ? '+00:00' : parts.timeZoneName!.slice(3);
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}:${parts.second}${offset}`;
}

const CHUNK = 64 * 1024;

/** Deterministic pseudo-random bytes (xorshift32), generated chunk by chunk. */
export function* fileChunks(seed: string, size: number): Generator<Buffer> {
  let state = createHash('md5').update(seed).digest().readUInt32LE(0) || 1;
  for (let offset = 0; offset < size; offset += CHUNK) {
    const chunk = Buffer.allocUnsafe(Math.min(CHUNK, size - offset));
    for (let i = 0; i < chunk.length; i += 4) {
      state ^= state << 13; state ^= state >>> 17; state ^= state << 5; state >>>= 0;
      if (i + 4 <= chunk.length) chunk.writeUInt32LE(state, i);
      else for (let j = i; j < chunk.length; j++) chunk[j] = (state >>> ((j - i) * 8)) & 0xff;
    }
    yield chunk;
  }
}

export function base64Md5(seed: string, size: number): string {
  const hash = createHash('md5');
  for (const chunk of fileChunks(seed, size)) hash.update(chunk);
  return hash.digest('base64');
}

const graphqlError = (message: string, code: string, path?: (string | number)[]) => ({
  message, locations: [{ line: 2, column: 3 }], ...(path ? { path } : {}), extensions: { code },
});

export class DsSimulator {
  readonly dossiers = new Map<number, any>();
  readonly deleted: DeletedEntry[] = [];
  /** Dossiers in DS's bin (`pendingDeletedDossiers`): hidden, not deleted for good yet. */
  readonly pendingDeleted: DeletedEntry[] = [];
  /** Requests counted by DS's rate limiter, per token and minute window. */
  private readonly rateWindows = new Map<string, { window: number; count: number }>();
  /** Requests served, by GraphQL operation name or `file`. */
  readonly calls = new Map<string, number>();
  /** Faults injected so far, by kind. */
  readonly faultsInjected = new Map<FaultKind, number>();
  private readonly files = new Map<string, SimulatedFile>();
  private server?: Server;
  private faults: SimulatorFaults = {};
  private random: () => number = seededRandom(1);
  private readonly forced = new Map<FaultKind, number>();
  baseUrl = '';
  /** The mutations of write-back (state machine, motivations, annotations): infra/local/ds-simulator-mutations.ts. */
  readonly mutations: SimulatorMutations;

  constructor(private readonly options: DsSimulatorOptions = {}) {
    this.mutations = new SimulatorMutations(this.dossiers, options.writeBack);
    if (options.seedDir) this.seed(options.seedDir);
    if (options.faults) this.setFaults(options.faults);
  }

  /** Switches faults on (rates by kind, see SimulatorFaults); `setFaults({})` switches them off. */
  setFaults(faults: SimulatorFaults): void {
    this.faults = { ...faults };
    this.random = seededRandom(faults.seed ?? 1);
  }

  /** Switches DS's rate limiter on (requests a minute per token, as rack-attack counts them) or off (undefined). */
  setRateLimit(perMinute: number | undefined): void {
    this.options.rateLimitPerMinute = perMinute;
    this.rateWindows.clear();
  }

  /** Forces the next `count` requests of that kind (GraphQL or download) to meet this fault. */
  injectNext(kind: FaultKind, count = 1): void {
    this.forced.set(kind, (this.forced.get(kind) ?? 0) + count);
  }

  /** Total faults injected so far. */
  get faultCount(): number {
    return [...this.faultsInjected.values()].reduce((sum, n) => sum + n, 0);
  }

  /** The fault this request meets, if any: a forced one first, else one draw per kind. */
  private drawFault(kinds: ReadonlyArray<[FaultKind, keyof SimulatorFaults]>): FaultKind | undefined {
    let fault = kinds.find(([kind]) => (this.forced.get(kind) ?? 0) > 0)?.[0];
    if (fault) this.forced.set(fault, this.forced.get(fault)! - 1);
    else fault = kinds.find(([, rate]) => this.random() < Number(this.faults[rate] ?? 0))?.[0];
    if (fault) this.faultsInjected.set(fault, (this.faultsInjected.get(fault) ?? 0) + 1);
    return fault;
  }

  get graphqlUrl(): string {
    return `${this.baseUrl}/api/v2/graphql`;
  }

  seed(dir: string): void {
    for (const name of readdirSync(dir).filter((n) => /^\d+\.json$/.test(n)).sort()) {
      const answer = JSON.parse(readFileSync(join(dir, name), 'utf8'));
      this.upsert(answer.data.dossier);
    }
  }

  /** Publishes a version of a dossier (a new `dateDerniereModification` makes it a new version). */
  upsert(dossier: any): void {
    const copy = structuredClone(dossier);
    for (const file of filesIn(copy.champs ?? [])) this.register(copy.number, file);
    this.dossiers.set(copy.number, copy);
    for (const list of [this.deleted, this.pendingDeleted]) {
      const gone = list.findIndex((d) => d.number === copy.number);
      if (gone >= 0) list.splice(gone, 1);
    }
  }

  /** Ends every pending virus scan now (their files turn `safe` on the next read). */
  clearVirusScans(): void {
    for (const file of this.files.values()) file.scanClearsAt = 0;
  }

  /** Changes the lifetime of the file URLs handed out from now on (a negative one hands out expired URLs). */
  setFileUrlTtl(ms: number): void {
    this.options.fileUrlTtlMs = ms;
  }

  delete(number: number, reason = 'user_request'): void {
    const dossier = this.dossiers.get(number);
    if (!dossier) return;
    this.dossiers.delete(number);
    const pending = this.pendingDeleted.findIndex((d) => d.number === number);
    if (pending >= 0) this.pendingDeleted.splice(pending, 1);
    this.deleted.push({ number, state: dossier.state, reason, dateSupression: parisTime(new Date()) });
  }

  /**
   * Puts a dossier in DS's bin (hidden by the applicant or the administration): `dossier(number)`
   * no longer returns it and `pendingDeletedDossiers` lists it until it is deleted for good
   * (`delete`) or restored (`upsert` again).
   */
  putInBin(number: number, reason = 'user_request'): void {
    const dossier = this.dossiers.get(number);
    if (!dossier) return;
    this.dossiers.delete(number);
    this.pendingDeleted.push({ number, state: dossier.state, reason, dateSupression: parisTime(new Date()) });
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.route(req, res).catch((error) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(String(error));
      });
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.options.port ?? 0, this.options.host ?? '127.0.0.1', () => resolve());
    });
    const { port } = this.server.address() as AddressInfo;
    this.baseUrl = `http://${this.options.host ?? '127.0.0.1'}:${port}`;
    return this;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  /** Posts the legacy webhook DS sends when a dossier changes state. */
  async emitLegacyWebhook(url: string, number: number): Promise<number> {
    const dossier = this.dossiers.get(number);
    if (!dossier) throw new Error(`dossier ${number} is not in the simulator`);
    const updatedAt = new Date(dossier.dateDerniereModification).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
    const body = new URLSearchParams({
      procedure_id: String(dossier.demarche.number), dossier_id: String(number), state: dossier.state, updated_at: updatedAt,
    });
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
    return response.status;
  }

  /** Posts a signed DS webhooks v2 delivery (Standard Webhooks) with one `dossier_modifie` event per dossier. */
  async emitV2Webhook(url: string, secret: string, numbers: number[]): Promise<number> {
    const dossiers = numbers.map((number) => {
      const dossier = this.dossiers.get(number);
      if (!dossier) throw new Error(`dossier ${number} is not in the simulator`);
      return dossier;
    });
    const events = dossiers.map((dossier) => ({
      sequence: ++this.sequence, type: 'dossier_modifie', dossier_number: dossier.number, timestamp: dossier.dateDerniereModification,
    }));
    const body = JSON.stringify({ webhook_id: 'V2ViaG9vay1zaW11bGF0b3I=', demarche_number: dossiers[0]!.demarche.number, events });
    const id = `msg_simulator_${events[0]!.sequence}_${events.at(-1)!.sequence}`;
    const timestamp = String(Math.floor(Date.now() / 1000));
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': sign(secret, id, timestamp, Buffer.from(body)) },
      body,
    });
    return response.status;
  }

  private sequence = 0;

  private register(number: number, file: any): void {
    const size = Number(file.byteSize);
    const seed = `${number}/${file.filename}/${file.checksum}/${size}`;
    const id = createHash('sha256').update(seed).digest('base64url').slice(0, 22);
    const known = this.files.get(id);
    const scanMs = this.options.virusScanMs ?? 10_000;
    const simulated: SimulatedFile = known ?? {
      id, size, seed, checksum: base64Md5(seed, size), contentType: file.contentType,
      scanClearsAt: file.virusScanResult === 'pending' ? Date.now() + scanMs : 0,
    };
    this.files.set(id, simulated);
    file.checksum = simulated.checksum;
    file.__simulatedId = id;
  }

  /**
   * The dossier as DS would answer now: fresh file URLs, cleared virus scans, no internals, and
   * each DossierLinkChamp's `dossier` loaded, or hidden (null, with a nested `unauthorized` in
   * `errors`) when it belongs to a démarche the token cannot read.
   */
  private present(dossier: any, errors: unknown[] = []): any {
    const copy = structuredClone(dossier);
    const link = (champs: any[], path: (string | number)[]) => champs.forEach((champ: any, i: number) => {
      if (Array.isArray(champ.rows)) champ.rows.forEach((row: any, r: number) => link(row.champs ?? [], [...path, i, 'rows', r, 'champs']));
      if (champ.__typename !== 'DossierLinkChamp') return;
      const linked = this.dossiers.get(Number(champ.stringValue));
      if (!linked) champ.dossier = null;
      else if (this.readable(linked.demarche.number)) champ.dossier = { id: linked.id, number: linked.number, state: linked.state };
      else {
        champ.dossier = null;
        errors.push(graphqlError('An object of type Dossier was hidden due to permissions', 'unauthorized', [...path, i, 'dossier']));
      }
    });
    link(copy.champs ?? [], ['dossier', 'champs']);
    link(copy.annotations ?? [], ['dossier', 'annotations']);
    const expires = Date.now() + (this.options.fileUrlTtlMs ?? 60 * 60 * 1000);
    for (const file of filesIn(copy.champs ?? [])) {
      const simulated = this.files.get(file.__simulatedId)!;
      delete file.__simulatedId;
      if (file.virusScanResult === 'pending' && Date.now() >= simulated.scanClearsAt) file.virusScanResult = 'safe';
      file.url = `${this.baseUrl}/files/${simulated.id}/${encodeURIComponent(file.filename)}?temp_url_expires=${Math.floor(expires / 1000)}`;
    }
    return copy;
  }

  private count(name: string): void {
    this.calls.set(name, (this.calls.get(name) ?? 0) + 1);
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.baseUrl);
    if (req.method === 'POST' && url.pathname === '/api/v2/graphql') return this.graphql(req, res);
    if (req.method === 'GET' && url.pathname.startsWith('/files/')) return this.download(url, res);
    if (req.method === 'POST' && url.pathname === '/_simulator/webhooks') return this.emitOnRequest(url, res);
    if (req.method === 'GET' && url.pathname === '/health') return send(res, 200, { ok: true });
    if (req.method === 'GET' && url.pathname.startsWith('/_simulator/dossiers/')) {
      const view = this.mutations.view(Number(url.pathname.split('/')[3]));
      return view ? send(res, 200, view) : send(res, 404, { error: 'no such dossier' });
    }
    send(res, 404, { error: 'not found' });
  }

  /**
   * `POST /_simulator/webhooks?dossier=N[&dossier=M][&kind=legacy|v2]`: makes the simulator send
   * the webhook DS would send for these dossiers to the configured endpoint.
   */
  private async emitOnRequest(url: URL, res: ServerResponse): Promise<void> {
    const numbers = url.searchParams.getAll('dossier').map(Number);
    const kind = url.searchParams.get('kind') ?? 'legacy';
    const { legacyUrl, v2Url, v2Secret } = this.options.webhooks ?? {};
    if (!numbers.length || numbers.some((n) => !this.dossiers.has(n))) return send(res, 404, { error: 'unknown or missing ?dossier=' });
    if (kind === 'v2' && v2Url && v2Secret) return send(res, 200, { status: await this.emitV2Webhook(v2Url, v2Secret, numbers) });
    if (kind === 'legacy' && legacyUrl) {
      const statuses = [];
      for (const number of numbers) statuses.push(await this.emitLegacyWebhook(legacyUrl, number));
      return send(res, 200, { statuses });
    }
    send(res, 400, { error: `no ${kind} webhook endpoint configured` });
  }

  private download(url: URL, res: ServerResponse): void {
    this.count('file');
    const file = this.files.get(url.pathname.split('/')[2] ?? '');
    const expires = Number(url.searchParams.get('temp_url_expires'));
    if (!file) return send(res, 404, { error: 'no such file' });
    // Swift answers 401 on an expired temp URL.
    if (!expires || expires * 1000 < Date.now()) return send(res, 401, { error: 'temp url expired' });
    res.writeHead(200, { 'content-type': file.contentType, 'content-length': String(file.size) });
    const fault = this.drawFault(DOWNLOAD_FAULTS);
    if (fault === 'cut_download') {
      // Half the bytes, then the connection drops: the client sees a short body.
      let sent = 0;
      const half = Math.floor(file.size / 2);
      for (const chunk of fileChunks(file.seed, file.size)) {
        if (sent >= half) break;
        const part = chunk.subarray(0, half - sent);
        res.write(part);
        sent += part.length;
      }
      setTimeout(() => res.destroy(), 10);
      return;
    }
    const chunks = fileChunks(file.seed, file.size);
    Readable.from(fault === 'corrupt_download' ? corrupted(chunks) : chunks).pipe(res);
  }

  private async graphql(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const token = this.options.token;
    const authorization = req.headers.authorization ?? '';
    // DS answers JSON here: 401 `unauthorized` for an expired token, 403 `forbidden` otherwise.
    if (this.options.expiredTokens?.some((expired) => authorization === `Bearer ${expired}`)) {
      return send(res, 401, { errors: [{ message: 'Token expired', extensions: { code: 'unauthorized' } }], data: null });
    }
    if (token && authorization !== `Bearer ${token}` && !this.mutations.accepts(req.headers.authorization)) {
      return send(res, 403, { errors: [{ message: 'Without a token, only persisted queries are allowed', extensions: { code: 'forbidden' } }], data: null });
    }
    const limited = this.rateLimited(authorization);
    if (limited !== undefined) return tooManyRequests(res, limited);
    const { query, operationName, variables = {} } = JSON.parse(await readBody(req));
    this.count(operationName);
    switch (this.drawFault(GRAPHQL_FAULTS)) {
      case 'rate_limited':
        // As DS's limiter: plain text, `RateLimit-Reset` the instant (epoch seconds) it serves again.
        return tooManyRequests(res, Math.ceil(Date.now() / 1000) + (this.faults.rateLimitResetSeconds ?? 1));
      case 'server_error':
        return send(res, 500, { errors: [graphqlError('Internal Server Error', 'internal_server_error')] });
      case 'timeout':
        await new Promise((resolve) => setTimeout(resolve, this.faults.timeoutMs ?? 40_000));
        if (res.destroyed) return;
        break;
      default:
    }
    // DS validates the document before running it: HTTP 200, `errors`, no `data`.
    const refused = typeof query === 'string' ? refusedDocument(query, variables) : undefined;
    if (refused) return send(res, 200, { errors: refused });
    if (operationName !== 'getDossier' && typeof variables.demarche === 'number' && !this.readable(variables.demarche)) {
      return send(res, 200, { data: null, errors: [graphqlError('An object of type Demarche was hidden due to permissions', 'unauthorized', ['demarche'])] });
    }
    switch (operationName) {
      case 'getDossier': {
        const dossier = this.dossiers.get(Number(variables.number));
        // `Query.dossier` is non-null: an error on it nulls the whole `data`.
        if (!dossier) return send(res, 200, { data: null, errors: [graphqlError('Dossier not found', 'not_found', ['dossier'])] });
        if (!this.readable(dossier.demarche.number)) {
          return send(res, 200, { data: null, errors: [graphqlError('An object of type Dossier was hidden due to permissions', 'unauthorized', ['dossier'])] });
        }
        const errors: unknown[] = [];
        const presented = this.present(dossier, errors);
        return send(res, 200, { data: { dossier: presented }, ...(errors.length ? { errors } : {}) });
      }
      case 'getDemarcheDossiers': return send(res, 200, { data: { demarche: { dossiers: this.updatedPage(variables) } } });
      case 'getDeletedDossiers': return send(res, 200, { data: { demarche: { deletedDossiers: this.deletedPage(variables) } } });
      case 'getPendingDeletedDossiers': {
        return send(res, 200, { data: { demarche: { pendingDeletedDossiers: this.deletedPage(variables, this.pendingDeleted) } } });
      }
      default: {
        const answer = this.mutations.answer(operationName, variables, req.headers.authorization);
        if (answer) return send(res, answer.status, answer.body);
        return send(res, 400, { errors: [graphqlError(`unknown operation ${operationName}`, 'graphql_parse_failed')] });
      }
    }
  }

  /** `demarche.dossiers(updatedSince, after, first)`: ordered by (updated, number), `updatedSince` inclusive. */
  private updatedPage(variables: { demarche: number; updatedSince?: string; after?: string; first?: number }) {
    const since = variables.updatedSince ? Date.parse(variables.updatedSince) : -Infinity;
    const nodes = [...this.dossiers.values()]
      .filter((d) => d.demarche.number === variables.demarche && Date.parse(d.dateDerniereModification) >= since)
      .sort((a, b) => Date.parse(a.dateDerniereModification) - Date.parse(b.dateDerniereModification) || a.number - b.number)
      .map((d) => ({ number: d.number, dateDerniereModification: d.dateDerniereModification, state: d.state }));
    return paginate(nodes, variables.after, variables.first);
  }

  private deletedPage(variables: { demarche: number; deletedSince?: string; after?: string }, entries = this.deleted) {
    const since = variables.deletedSince ? Date.parse(variables.deletedSince) : -Infinity;
    return paginate(entries.filter((d) => Date.parse(d.dateSupression) >= since), variables.after, 100);
  }

  private readable(demarche: number): boolean {
    return this.options.readableDemarches === undefined || this.options.readableDemarches.includes(demarche);
  }

  /**
   * DS's rate limiter (rack-attack): requests counted per Authorization value in fixed windows
   * of a minute; past the limit, the epoch second the window ends (`RateLimit-Reset`).
   */
  private rateLimited(authorization: string): number | undefined {
    const limit = this.options.rateLimitPerMinute;
    if (limit === undefined) return undefined;
    const window = Math.floor(Date.now() / 60_000);
    const counted = this.rateWindows.get(authorization);
    const entry = counted && counted.window === window ? counted : { window, count: 0 };
    entry.count++;
    this.rateWindows.set(authorization, entry);
    return entry.count > limit ? (window + 1) * 60 : undefined;
  }
}

function paginate<T>(all: T[], after: string | undefined, first = 100) {
  const start = after ? Number(Buffer.from(after, 'base64').toString()) : 0;
  const nodes = all.slice(start, start + Math.min(first, 100));
  const end = start + nodes.length;
  return { pageInfo: { hasNextPage: end < all.length, endCursor: nodes.length ? Buffer.from(String(end)).toString('base64') : null }, nodes };
}

/** The same bytes with the first byte flipped: the size is right, the MD5 is not. */
function* corrupted(chunks: Generator<Buffer>): Generator<Buffer> {
  let first = true;
  for (const chunk of chunks) {
    if (first && chunk.length > 0) {
      const copy = Buffer.from(chunk);
      copy[0] = copy[0]! ^ 0xff;
      yield copy;
      first = false;
    } else yield chunk;
  }
}

function filesIn(champs: any[]): any[] {
  return champs.flatMap((champ) => [
    ...(Array.isArray(champ.files) ? champ.files : []),
    ...(Array.isArray(champ.rows) ? champ.rows.flatMap((row: any) => filesIn(row.champs ?? [])) : []),
  ]);
}

/** DS's 429: plain text, no `Retry-After`, `RateLimit-Reset` an absolute epoch second. */
function tooManyRequests(res: ServerResponse, resetEpochSeconds: number): void {
  res.writeHead(429, { 'content-type': 'text/plain', 'ratelimit-remaining': '0', 'ratelimit-reset': String(resetEpochSeconds) });
  res.end('Calm down, cowboy!\n');
}

/**
 * What DS answers a query document it will not run: fields its schema lacks (HTTP 200, graphql-ruby's
 * `undefinedField`...), or a number variable beyond GraphQL `Int`. Mutation documents (write-back)
 * are left to their own module. Undefined when DS would run it.
 */
function refusedDocument(query: string, variables: Record<string, unknown>): unknown[] | undefined {
  let document;
  try {
    document = parseGraphqlDocument(query);
  } catch (error) {
    return [{ message: `Parse error: ${(error as Error).message}`, extensions: { code: 'graphql_parse_failed' } }];
  }
  if (document.operations.some((operation) => operation.type !== 'query')) return undefined;
  const errors: unknown[] = validateDocument(document, SCHEMA_FIELDS);
  for (const operation of document.operations) {
    for (const { name, type } of operation.variables) {
      const value = variables[name];
      if (type.replace('!', '') === 'Int' && typeof value === 'number' && (!Number.isInteger(value) || Math.abs(value) > GRAPHQL_INT_MAX)) {
        errors.push({
          message: `Variable $${name} of type ${type} was provided invalid value`,
          locations: [{ line: 2, column: 1 }],
          extensions: { value, problems: [{ path: [], explanation: `Could not coerce value ${value} to Int` }] },
        });
      }
    }
  }
  return errors.length ? errors : undefined;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
