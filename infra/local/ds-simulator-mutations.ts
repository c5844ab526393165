/**
 * The write side of the DS simulator (infra/local/ds-simulator.ts hooks it in): the mutations
 * write-back sends, with DS's state machine and its refusals, and the read query it sends first.
 *
 * - `dossierPasserEnInstruction` only from `en_construction`, and not while a correction is
 *   pending (`requestCorrection`); `dossierAccepter` (motivation optional), `dossierRefuser` and
 *   `dossierClasserSansSuite` (motivation required) only from `en_instruction`. A refused
 *   transition answers `{ dossier: null, errors: [{ message: "Le dossier est déjà ..." }] }`, as DS.
 * - `dossierModifierAnnotations`: each value a `@oneOf` (exactly one key), stored as the champ's
 *   `stringValue`; unknown annotation ids are ignored, as DS does.
 * - Mutations need the write token (`writeToken`); the read token gets DS's "seulement en lecture".
 * - A change moves `dateDerniereModification`, so reconciliation ingests the new state.
 * - `GET /_simulator/dossiers/<n>` (see `view`) shows a dossier's state, motivation and annotations.
 */

export interface SimulatorMutationsOptions {
  /** The token with write access; when unset, mutations are refused as with a read-only token. */
  writeToken?: string;
  /** Instructeur GraphQL ids the simulator knows (default: SIMULATOR_INSTRUCTEUR_ID). */
  instructeurIds?: string[];
}

/** The simulator's one instructeur: base64 of `Instructeur-1`. */
export const SIMULATOR_INSTRUCTEUR_ID = Buffer.from('Instructeur-1').toString('base64');

const STATE_LABELS: Record<string, string> = {
  en_construction: 'en construction', en_instruction: 'en instruction', accepte: 'accepté', refuse: 'refusé', sans_suite: 'classé sans suite',
};

type Answer = { status: number; body: unknown };
const graphqlError = (message: string, code?: string) => ({ message, ...(code ? { extensions: { code } } : {}) });

const TRANSITIONS: Record<string, { from: string; to: string; event: string; motivation: 'none' | 'optional' | 'required' }> = {
  dossierPasserEnInstruction: { from: 'en_construction', to: 'en_instruction', event: 'passer_en_instruction', motivation: 'none' },
  dossierAccepter: { from: 'en_instruction', to: 'accepte', event: 'accepter', motivation: 'optional' },
  dossierRefuser: { from: 'en_instruction', to: 'refuse', event: 'refuser', motivation: 'required' },
  dossierClasserSansSuite: { from: 'en_instruction', to: 'sans_suite', event: 'classer_sans_suite', motivation: 'required' },
};
const ANNOTATION_KEYS = ['text', 'textarea', 'email', 'checkbox', 'yesNo', 'date', 'datetime', 'integerNumber', 'decimalNumber', 'dropDownList', 'multipleDropDownList'];

export class SimulatorMutations {
  /** Mutations served, by name, refused ones included. */
  readonly calls = new Map<string, number>();
  private readonly pendingCorrections = new Set<number>();

  constructor(private readonly dossiers: Map<number, any>, private readonly options: SimulatorMutationsOptions = {}) {}

  /** True for the write token: the simulator's GraphQL endpoint lets it through besides the read token. */
  accepts(authorization: string | undefined): boolean {
    return Boolean(this.options.writeToken) && authorization === `Bearer ${this.options.writeToken}`;
  }

  /** A correction asked of the applicant: passing en instruction is refused until `clearCorrection`. */
  requestCorrection(number: number): void {
    this.pendingCorrections.add(number);
  }

  clearCorrection(number: number): void {
    this.pendingCorrections.delete(number);
  }

  /** What a person (or a test) sees of a dossier's decision: `GET /_simulator/dossiers/<n>`. */
  view(number: number): unknown {
    const dossier = this.dossiers.get(number);
    if (!dossier) return undefined;
    return {
      number: dossier.number, id: dossier.id, state: dossier.state, motivation: dossier.motivation ?? null,
      dateTraitement: dossier.dateTraitement ?? null, dateDerniereModification: dossier.dateDerniereModification,
      pendingCorrection: this.pendingCorrections.has(number),
      annotations: (dossier.annotations ?? []).map((a: any) => ({ id: a.id, label: a.label, stringValue: a.stringValue })),
      traitements: dossier.traitements ?? [],
    };
  }

  /** The answer to a GraphQL operation this module serves; undefined for the others. */
  answer(operationName: string, variables: any, authorization: string | undefined): Answer | undefined {
    if (operationName === 'getDossierForWriteBack') {
      const dossier = this.dossiers.get(Number(variables?.number));
      if (!dossier) return { status: 200, body: { data: { dossier: null }, errors: [graphqlError('Dossier not found', 'not_found')] } };
      const { id, number, state, motivation = null, annotations = [] } = dossier;
      return { status: 200, body: { data: { dossier: { id, number, state, motivation, annotations: annotations.map((a: any) => ({ id: a.id, stringValue: a.stringValue })) } } } };
    }
    if (!(operationName in TRANSITIONS) && operationName !== 'dossierModifierAnnotations') return undefined;
    this.calls.set(operationName, (this.calls.get(operationName) ?? 0) + 1);
    if (!this.accepts(authorization)) {
      return { status: 200, body: { data: { [operationName]: null }, errors: [graphqlError('Le jeton utilisé est configuré seulement en lecture', 'forbidden')] } };
    }
    const input = variables?.input ?? {};
    const dossier = this.dossiers.get(decodeNumber(input.dossierId, 'Dossier') ?? -1);
    if (!dossier) return topLevel(operationName, `No object found for \`dossierId: ${JSON.stringify(input.dossierId)}\``);
    if (!(this.options.instructeurIds ?? [SIMULATOR_INSTRUCTEUR_ID]).includes(input.instructeurId)) {
      return topLevel(operationName, `No object found for \`instructeurId: ${JSON.stringify(input.instructeurId)}\``);
    }
    return operationName === 'dossierModifierAnnotations' ? this.annotate(dossier, input) : this.transition(operationName, dossier, input);
  }

  private transition(operationName: string, dossier: any, input: any): Answer {
    const rule = TRANSITIONS[operationName]!;
    if (rule.motivation === 'required' && (typeof input.motivation !== 'string' || input.motivation === '')) {
      return topLevel(operationName, `Argument 'motivation' on InputObject '${operationName[0]!.toUpperCase()}${operationName.slice(1)}Input' is required. Expected type String!`);
    }
    if (dossier.state !== rule.from) return refused(operationName, `Le dossier est déjà ${STATE_LABELS[dossier.state] ?? dossier.state}`);
    if (operationName === 'dossierPasserEnInstruction' && this.pendingCorrections.has(dossier.number)) {
      return refused(operationName, 'Le dossier est en attente de correction');
    }
    const now = new Date().toISOString();
    dossier.state = rule.to;
    if (rule.to === 'en_instruction') dossier.datePassageEnInstruction = now;
    else {
      dossier.dateTraitement = now;
      dossier.motivation = typeof input.motivation === 'string' ? input.motivation : null;
    }
    dossier.traitements = [...(dossier.traitements ?? []), {
      event: rule.event, dateTraitement: now, emailAgentTraitant: 'instructeur@simulateur.example', motivation: dossier.motivation ?? null,
    }];
    dossier.dateDerniereModification = now;
    return { status: 200, body: { data: { [operationName]: { dossier: { id: dossier.id, state: dossier.state, motivation: dossier.motivation ?? null }, errors: null } } } };
  }

  private annotate(dossier: any, input: any): Answer {
    const changes = Array.isArray(input.annotations) ? input.annotations : [];
    for (const change of changes) {
      const keys = Object.keys(change?.value ?? {});
      if (keys.length !== 1 || !ANNOTATION_KEYS.includes(keys[0]!)) {
        return topLevel('dossierModifierAnnotations', `AnnotationValueInput requires exactly one key (@oneOf), got ${keys.join(', ') || 'none'}`);
      }
    }
    const written = [];
    for (const change of changes) {
      const annotation = (dossier.annotations ?? []).find((a: any) => a.id === change.id);
      if (!annotation) continue;
      const value = Object.values(change.value)[0];
      annotation.stringValue = Array.isArray(value) ? value.join(', ') : String(value);
      annotation.value = value;
      annotation.updatedAt = new Date().toISOString();
      written.push({ id: annotation.id, stringValue: annotation.stringValue });
    }
    if (written.length) dossier.dateDerniereModificationAnnotations = dossier.dateDerniereModification = new Date().toISOString();
    return { status: 200, body: { data: { dossierModifierAnnotations: { annotations: written, errors: null } } } };
  }
}

/** `Dossier-23456789` in base64 -> 23456789 (undefined when it is not a global id of that type). */
function decodeNumber(id: unknown, type: string): number | undefined {
  if (typeof id !== 'string') return undefined;
  const match = new RegExp(`^${type}-(\\d+)$`).exec(Buffer.from(id, 'base64').toString('utf8'));
  return match ? Number(match[1]) : undefined;
}

function refused(operationName: string, message: string): Answer {
  return { status: 200, body: { data: { [operationName]: { dossier: null, errors: [{ message }] } } } };
}

function topLevel(operationName: string, message: string): Answer {
  return { status: 200, body: { data: { [operationName]: null }, errors: [graphqlError(message)] } };
}
