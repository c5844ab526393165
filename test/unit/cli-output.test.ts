import { CommanderError, InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import type { AttachmentRecord, AttachmentRef, DossierRecord } from '#core/dossier';
import { ConfigurationError, DsAuthorizationError } from '#core/errors';
import { safeFilename, uniqueFilenames } from '../../infra/cli/attachments.ts';
import { parseInstant, parsePositiveInteger } from '../../infra/cli/context.ts';
import { deadLetterView } from '../../infra/cli/dlq.ts';
import { dossierDetail, dossierSummary, dossierTable, storedFileCount, recordsByKey } from '../../infra/cli/dossier-views.ts';
import {
  CliError, EXIT_CODES, NotFoundError, PartialFailureError, StackUnreachableError, UsageError, explainError,
} from '../../infra/cli/errors.ts';
import { run } from '../../infra/cli/main.ts';
import { formatBytes, formatTable, truncate, type CliIo } from '../../infra/cli/output.ts';
import { ProgressBar, renderProgress } from '../../infra/cli/progress.ts';
import { ReviewerImportError } from '#core/rounds/errors';
import type { DecisionRecord, ReviewRecord, ReviewerRecord, RoundRecord } from '#core/rounds/model';
import { RoundStepRefusedError, type RoundStepResult } from '#core/rounds/run-round-step';
import { reportLines } from '../../infra/cli/report.ts';
import { readCsv } from '../../infra/cli/csv.ts';
import { detectFormat, parseReviewerFile, reviewerTable, reviewerView } from '../../infra/cli/reviewers.ts';
import { describeReviews, reviewTable, reviewViews } from '../../infra/cli/reviews.ts';
import {
  decisionTable, humanize, parseRoundId, roundDetailLines, roundTable, roundViews, staffActor, stepResultLines, withPhases,
} from '../../infra/cli/rounds.ts';

function ref(index: number, overrides: Partial<AttachmentRef> = {}): AttachmentRef {
  return {
    champId: `Q2hhbXAt${index}`,
    label: `Pièce ${index}`,
    filename: `piece-${index}.pdf`,
    contentType: 'application/pdf',
    byteSize: 1000 + index,
    checksum: Buffer.alloc(16, index).toString('base64'),
    virusScan: 'safe',
    key: `attachments/1001/${index}/piece-${index}.pdf`,
    ...overrides,
  };
}

function record(attachment: AttachmentRef, status: AttachmentRecord['status'], extra: Partial<AttachmentRecord> = {}): AttachmentRecord {
  return { ...attachment, dossierNumber: 1001, status, updatedAt: '2026-03-05T16:31:00.000Z', ...extra };
}

function dossier(overrides: Partial<DossierRecord> = {}): DossierRecord {
  return {
    number: 1001,
    demarcheNumber: 98765,
    state: 'en_construction',
    status: 'files_pending',
    dateDerniereModification: '2026-03-05T14:22:11+01:00',
    modifiedAtMs: Date.parse('2026-03-05T14:22:11+01:00'),
    dateDepot: '2026-03-02T09:00:00+01:00',
    round: '2026-03',
    project: { title: 'Un projet', theme: 'santé' },
    issues: [],
    attachments: [ref(1), ref(2), ref(3)],
    filesComplete: false,
    snapshotKey: 'dossiers/1001/1.json',
    ingestedAt: '2026-03-05T16:31:00.000Z',
    ...overrides,
  };
}

function captureIo(): CliIo & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    stdout: { write: (text: string) => { out += text; } },
    stderr: { write: (text: string) => { err += text; } },
    env: {},
    cwd: process.cwd(),
    out: () => out,
    err: () => err,
  };
}

describe('formatTable', () => {
  it('pads columns to their widest cell, right-aligns numbers, leaves no trailing space', () => {
    const lines = formatTable(
      [{ header: 'NUMBER', align: 'right' }, { header: 'STATUS' }, { header: 'TITLE' }],
      [['7', 'stored', 'Été'], ['1234567', 'files_pending', 'x']],
    );
    expect(lines).toEqual([
      ' NUMBER  STATUS         TITLE',
      '      7  stored         Été',
      '1234567  files_pending  x',
    ]);
  });

  it('counts accented characters once', () => {
    const [header, row] = formatTable([{ header: 'A' }, { header: 'B' }], [['éé', 'x']]);
    expect(header).toBe('A   B');
    expect(row).toBe('éé  x');
  });
});

describe('truncate and formatBytes', () => {
  it('cuts with an ellipsis only when needed', () => {
    expect(truncate('abcdef', 6)).toBe('abcdef');
    expect(truncate('abcdefg', 6)).toBe('abcde…');
    expect(truncate('ééééééé', 4)).toBe('ééé…');
  });

  it('prints sizes in binary units', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KB');
    expect(formatBytes(200 * 1024 * 1024)).toBe('200 MB');
  });
});

describe('explainError: exit codes', () => {
  it.each([
    [new StackUnreachableError('down'), EXIT_CODES.unreachable],
    [new NotFoundError('no such dossier'), EXIT_CODES.notFound],
    [new UsageError('bad'), EXIT_CODES.usage],
    [new PartialFailureError('1 of 3 failed'), EXIT_CODES.partialFailure],
    [new CliError('whatever', 3), 3],
    [new ConfigurationError('DS_API_TOKEN is required'), EXIT_CODES.unreachable],
    [new DsAuthorizationError('token refused'), EXIT_CODES.unreachable],
    [new ReviewerImportError([{ line: 3, message: 'email: Invalid email address' }]), EXIT_CODES.usage],
  ])('%s -> %i, with its own message', (error, exitCode) => {
    expect(explainError(error)).toEqual({ exitCode, message: error.message });
  });

  it('maps a refused round step to 6, saying it was refused', () => {
    const refused = new RoundStepRefusedError('round 2026-03 is open: close-selection applies to a round that is reviewing', 'earlier_phase', '2026-03');
    expect(explainError(refused)).toEqual({ exitCode: 6, message: `refused: ${refused.message}` });
    expect(EXIT_CODES.refused).toBe(6);
  });

  it('maps commander: --help and --version to 0, usage errors to 4, without printing twice', () => {
    expect(explainError(new CommanderError(0, 'commander.helpDisplayed', '(outputHelp)'))).toEqual({ exitCode: 0 });
    expect(explainError(new CommanderError(1, 'commander.unknownOption', "error: unknown option '--x'"))).toEqual({ exitCode: 4 });
    expect(explainError(new InvalidArgumentError('must be a positive whole number'))).toEqual({ exitCode: 4 });
  });

  it('maps missing AWS credentials, region and unreachable endpoints to 2 with a hint', () => {
    const noCredentials = Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' });
    expect(explainError(noCredentials)).toMatchObject({ exitCode: 2, message: expect.stringContaining('AWS_PROFILE') });
    expect(explainError(new Error('Region is missing'))).toMatchObject({ exitCode: 2, message: expect.stringContaining('--region') });
    const expired = Object.assign(new Error('The security token included in the request is expired'), { name: 'ExpiredTokenException' });
    expect(explainError(expired)).toMatchObject({ exitCode: 2, message: expect.stringContaining('renew') });
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4569'), { code: 'ECONNREFUSED', address: '127.0.0.1', port: 4569 });
    expect(explainError(refused)).toMatchObject({ exitCode: 2, message: expect.stringContaining('ECONNREFUSED at 127.0.0.1:4569') });
  });

  it('maps anything else to 1, naming the error', () => {
    expect(explainError(new TypeError('x is undefined'))).toEqual({ exitCode: 1, message: 'unexpected error: TypeError: x is undefined' });
  });
});

describe('run: usage', () => {
  it('prints help on stdout and exits 0', async () => {
    const io = captureIo();
    expect(await run(['dossiers', 'list', '--help'], io)).toBe(0);
    expect(io.out()).toContain('Usage: ds-selection dossiers list');
    expect(io.out()).toContain('Exit codes:');
  });

  it.each([
    [['nonsense']],
    [['dossiers', 'list', '--status', 'lost']],
    [['dossiers', 'show', 'abc']],
    [['dossiers', 'show', '0']],
    [['dossiers', 'list', '--limit', '-1']],
    [['attachments', 'download', '12']],
    [['sync', '--since', 'yesterday']],
    [['dossiers', 'list', '--unknown']],
    [['rounds', 'open', '--round', '2026-04']],
    [['rounds', 'close-selection', '--round', 'last']],
    [['reviews', 'list']],
    [['report', '--round', '2026']],
  ])('exits 4 on %j, before touching any stack', async (argv) => {
    const io = captureIo();
    const connectCalls: unknown[] = [];
    const code = await run(argv, { io, connect: async (globals) => { connectCalls.push(globals); throw new Error('must not connect'); } });
    expect(code).toBe(4);
    expect(io.out()).toBe('');
    expect(io.err()).toMatch(/error/);
    expect(connectCalls).toEqual([]);
  });

  it('a reviewer file that does not exist is not found (3), before touching any stack', async () => {
    const io = captureIo();
    const code = await run(['reviewers', 'import', 'no-such-file.csv'], { io, connect: async () => { throw new Error('must not connect'); } });
    expect(code).toBe(3);
    expect(io.err()).toMatch(/^ds-selection: cannot read no-such-file\.csv: no such file \(\/\S*no-such-file\.csv\)\n$/);
  });

  it('refuses a stage name that cannot be a stack with 4', async () => {
    const io = captureIo();
    expect(await run(['--stage', 'Prod!', 'dossiers', 'list'], io)).toBe(4);
    expect(io.err()).toContain('invalid --stage');
  });
});

describe('argument parsers', () => {
  it('reads positive integers only', () => {
    expect(parsePositiveInteger('42')).toBe(42);
    for (const bad of ['0', '-1', '1.5', '1e3', '', 'abc']) expect(() => parsePositiveInteger(bad)).toThrow(InvalidArgumentError);
  });

  it('turns --since into a UTC instant', () => {
    expect(parseInstant('2026-03-01T00:00:00+01:00')).toBe('2026-02-28T23:00:00.000Z');
    expect(parseInstant('2026-03-01')).toBe('2026-03-01T00:00:00.000Z');
    for (const bad of ['yesterday', '2026-13-01', '01/03/2026']) expect(() => parseInstant(bad)).toThrow(InvalidArgumentError);
  });
});

describe('dossiers show --json', () => {
  it('has the contract fields, and each file the status of its record or pending', () => {
    const record1 = record(ref(1), 'stored');
    const record3 = record(ref(3), 'fetch_failed', { lastError: 'HTTP 401' });
    const older = record(ref(9), 'stored'); // a file of an older version: not listed
    const detail = dossierDetail(dossier({ attachments: [ref(1), ref(2, { rowId: 'row-1' }), ref(3)] }), [record1, record3, older]);

    for (const field of ['number', 'state', 'status', 'dateDerniereModification', 'round', 'project', 'issues', 'attachments']) {
      expect(detail).toHaveProperty(field);
    }
    expect(detail.attachments.map((attachment) => attachment.status)).toEqual(['stored', 'pending', 'fetch_failed']);
    for (const attachment of detail.attachments) {
      expect(Object.keys(attachment)).toEqual(expect.arrayContaining(['champId', 'filename', 'contentType', 'byteSize', 'checksum', 'status', 'key']));
    }
    expect(detail.attachments[1]).toMatchObject({ rowId: 'row-1', key: ref(2).key, checksum: ref(2).checksum, byteSize: 1002 });
    expect(detail.attachments[2]).toMatchObject({ lastError: 'HTTP 401' });
    // Plain JSON: what JSON.stringify prints is what the object holds.
    expect(JSON.parse(JSON.stringify(detail))).toEqual(detail);
  });
});

describe('dossier rows', () => {
  it('count stored files from the records, or all of them once the dossier says its files are complete', () => {
    const records = recordsByKey([record(ref(1), 'stored'), record(ref(2), 'scan_pending')]);
    expect(storedFileCount(dossier(), records)).toBe(1);
    expect(storedFileCount(dossier({ filesComplete: true, status: 'stored' }))).toBe(3);
  });

  it('line up in a table, with long titles cut', () => {
    const long = 'Un très long titre de projet qui dépasse largement la colonne prévue';
    const lines = dossierTable([
      dossierSummary(dossier({ project: { title: long } }), 1),
      dossierSummary(dossier({ number: 23456789, state: null, project: null, attachments: [], status: 'not_found', dateDerniereModification: null }), 0),
    ]);
    expect(lines[0]).toMatch(/^ +NUMBER {2}STATUS +STATE +ROUND +MODIFIED +FILES {2}ELIGIBILITY +TITLE$/);
    expect(lines[1]).toContain('1/3');
    expect(lines[1]).toContain('Un très long titre de projet qui dépass…');
    expect(lines[2]).toMatch(/^23456789 {2}not_found +- +2026-03 +- +0\/0 {2}\S+ +-$/);
    // Every row starts its columns at the same offsets.
    expect(lines[1]!.indexOf('2026-03')).toBe(lines[2]!.indexOf('2026-03'));
  });
});

describe('download file names', () => {
  it('are made safe and distinct, in order', () => {
    expect(uniqueFilenames(['annexe.pdf', 'Annexe.PDF', 'annexe.pdf', '../../etc/passwd', '.bashrc', '', 'README'])).toEqual([
      'annexe.pdf', 'Annexe (2).PDF', 'annexe (3).pdf', '__.._etc_passwd', '_bashrc', 'file', 'README',
    ]);
    expect(safeFilename('a\u0000b\nc')).toBe('a_b_c');
  });
});

describe('progress', () => {
  it('renders a bar with count, total, percentage and rate', () => {
    expect(renderProgress({ label: 'sync', done: 50, total: 200, elapsedMs: 10_000 }))
      .toBe(`sync [${'█'.repeat(6)}${'░'.repeat(18)}] 50/200 25% 5.0/s`);
    expect(renderProgress({ label: 'sync', done: 12, elapsedMs: 4_000 })).toBe('sync 12 3.0/s');
    expect(renderProgress({ label: 'sync', done: 12, elapsedMs: 4_000, width: 8 })).toHaveLength(7);
  });

  it('draws only on a terminal', () => {
    let written = '';
    const pipe = new ProgressBar({ write: (text: string) => { written += text; } }, { label: 'x' });
    pipe.update(5);
    pipe.finish();
    expect(written).toBe('');

    let clock = 0;
    const tty = new ProgressBar({ write: (text: string) => { written += text; }, isTTY: true }, { label: 'x', now: () => clock });
    clock = 1000;
    tty.update(5);
    tty.update(6); // within 100 ms: not redrawn
    tty.finish();
    expect(written).toBe('\r\x1b[2Kx 5 5.0/s\r\x1b[2K');
  });
});

describe('dead letters', () => {
  it('read the dossier from the body and the counts from the attributes', () => {
    const view = deadLetterView({
      MessageId: 'm-1',
      Body: JSON.stringify({ demarcheNumber: 98765, dossierNumber: 1001, hint: { source: 'webhook', receivedAt: '2026-03-05T10:00:00.000Z' } }),
      Attributes: { ApproximateReceiveCount: '6', ApproximateFirstReceiveTimestamp: '1772704800000', SentTimestamp: '1772704700000' },
    });
    expect(view).toEqual({
      messageId: 'm-1', demarcheNumber: 98765, dossierNumber: 1001, source: 'webhook', receiveCount: 6,
      firstReceivedAt: new Date(1772704800000).toISOString(), sentAt: new Date(1772704700000).toISOString(),
    });
    expect(deadLetterView({ MessageId: 'm-2', Body: 'not json' })).toMatchObject({ dossierNumber: null, receiveCount: null });
  });
});

describe('rounds', () => {
  it('count dossiers per round and status, unassigned last', () => {
    const views = roundViews([
      dossier({ number: 1, round: 'unassigned', status: 'not_found' }),
      dossier({ number: 2, round: '2026-05', status: 'invalid' }),
      dossier({ number: 3, round: '2026-03', status: 'stored' }),
      dossier({ number: 4, round: '2026-03', status: 'files_pending' }),
    ]);
    expect(views.map((view) => [view.round, view.total])).toEqual([['2026-03', 2], ['2026-05', 1], ['unassigned', 1]]);
    expect(views[0]!.byStatus).toEqual({ stored: 1, files_pending: 1, invalid: 0, not_found: 0, deleted: 0 });
  });
});

const ROUND_RECORD: RoundRecord = {
  id: '2026-03', status: 'reviewing', openedAt: '2026-03-01T08:00:00.000Z', submissionsClosedAt: '2026-05-01T08:00:00.000Z',
  reviewDeadline: '2026-05-22T08:00:00.000Z', selectionClosedAt: null, capacityPosts: 12, reviewersPerDossier: 2,
  criteria: [{ id: 'impact', label: 'Impact', weight: 3 }, { id: 'faisabilite', label: 'Faisabilité', weight: 1 }], version: 2,
};

describe('rounds with their records', () => {
  it('take their phase from the record; an opened round without dossiers is listed too', () => {
    const views = withPhases(roundViews([
      dossier({ number: 1, round: 'unassigned', status: 'not_found' }),
      dossier({ number: 3, round: '2026-03', status: 'stored' }),
    ]), [ROUND_RECORD, { ...ROUND_RECORD, id: '2026-05', status: 'open' }]);
    expect(views.map((view) => [view.round, view.phase, view.total])).toEqual([['2026-03', 'reviewing', 1], ['2026-05', 'open', 0], ['unassigned', undefined, 1]]);
    expect('phase' in views[2]!).toBe(false);
    const table = roundTable(views);
    expect(table[0]).toMatch(/^SESSION +PHASE +TOTAL {2}STORED/);
    expect(table[3]).toMatch(/^unassigned {2}- +1/);
  });

  it('show the record of an opened round under the counts', () => {
    const [view] = roundViews([dossier({ number: 3, round: '2026-03', status: 'stored' })]);
    const lines = roundDetailLines(view!, [], ROUND_RECORD);
    expect(lines.slice(0, 3)).toEqual(['Session 2026-03 : 1 dossier (1 stored)', '  phase            reviewing', '  ouverte le       2026-03-01T08:00:00.000Z']);
    expect(lines).toContain('  capacité         12 postes EIG, 2 évaluateurs par dossier');
    expect(lines).toContain('  critères         impact ×3, faisabilite ×1');
    expect(roundDetailLines(view!, [])[1]).toBe('  phase            pas encore ouverte (ds-selection rounds open --round 2026-03)');
  });

  it('--round takes round ids only', () => {
    expect(parseRoundId('2026-03')).toBe('2026-03');
    for (const bad of ['2026-04', '2026-3', 'unassigned', '26-03']) expect(() => parseRoundId(bad)).toThrow(InvalidArgumentError);
  });

  it('the actor is staff:<OS user>, without whitespace', () => {
    expect(staffActor({ env: {} })).toMatch(/^staff:\S+$/);
  });
});

describe('round step results', () => {
  const decisions: DecisionRecord[] = [
    { roundId: '2026-03', dossierNumber: 7, outcome: 'not_selected', rank: null, score: null, reviewCount: 0, eigPostsRequested: 1, reasonCode: 'no_counted_review', reason: 'Aucune évaluation comptée : dossier non classé.' },
    { roundId: '2026-03', dossierNumber: 9, outcome: 'selected', rank: 1, score: 4.5, reviewCount: 2, eigPostsRequested: 2, reasonCode: 'selected_within_capacity', reason: 'Rang 1' },
    { roundId: '2026-03', dossierNumber: 3, outcome: 'waitlisted', rank: 2, score: 3.25, reviewCount: 2, eigPostsRequested: 20, reasonCode: 'waitlisted_over_capacity', reason: "Liste d'attente, position 1" },
  ];

  it('say what changed, then the counts', () => {
    const result: RoundStepResult = {
      step: 'close-submissions', roundId: '2026-03', dryRun: false, changed: true, status: 'reviewing',
      summary: { already: false, assignmentsWritten: 6, reviewDeadline: '2026-05-22T08:00:00.000Z', mailsSent: 3 },
    };
    expect(stepResultLines(result)).toEqual([
      'close-submissions : session 2026-03',
      '  phase                                   ouverte → en évaluation',
      '  affectations écrites                    6',
      '  date limite                             2026-05-22T08:00:00.000Z',
      '  mails envoyés                           3',
    ]);
    expect(stepResultLines({ ...result, changed: false, summary: { already: true, mailsSent: 0 } })[1])
      .toBe('  phase                                   en évaluation (inchangée : étape déjà faite)');
    expect(stepResultLines({ ...result, step: 'open', status: 'open' })[1]).toBe('  phase                                   aucune → ouverte');
    expect(stepResultLines({ ...result, summary: { forced: true, closingRefused: 'reviews_missing', someNewKey: null } }).slice(2)).toEqual([
      '  forcé                                   oui',
      '  clôture refusée                         évaluations manquantes',
      '  some new key                            -',
    ]);
  });

  it('print a dry run\'s plan: assignments by reviewer email, shortfalls, decisions, mails', () => {
    const lines = stepResultLines({
      step: 'close-submissions', roundId: '2026-03', dryRun: true, changed: false, status: 'open', summary: { already: false },
      plan: {
        round: { ...ROUND_RECORD, status: 'reviewing' }, assignments: { zz: [1, 2], aa: [3] },
        shortfalls: [{ dossierNumber: 3, assigned: 1, wanted: 2 }], decisions, mails: 2,
      },
    }, new Map([['zz', 'alice@example.fr']]));
    expect(lines[0]).toBe("close-submissions : session 2026-03 (simulation : rien n'est écrit, aucun mail envoyé)");
    expect(lines[1]).toBe('  phase                                   ouverte → en évaluation (prévu)');
    expect(lines).toContain('Affectations à écrire : 3 affectations pour 2 évaluateurs');
    // By the name shown: an id without a known email sorts as itself.
    expect(lines.filter((line) => /^ {2}(aa|alice)/.test(line))).toEqual(['  aa                       1  3', '  alice@example.fr         2  1 2']);
    expect(lines).toContain('  dossier 3 : 1 évaluateur(s) sur 2');
    expect(lines.at(-1)).toBe('Mails à envoyer : 2');
  });

  it('of remind over several rounds list each round', () => {
    const one: RoundStepResult = { step: 'remind', roundId: '2026-01', dryRun: false, changed: false, status: 'reviewing', summary: { mailsSent: 1 } };
    const lines = stepResultLines({
      step: 'remind', roundId: null, dryRun: false, changed: false, status: null, summary: { rounds: 2, mailsSent: 1 },
      rounds: [one, { ...one, roundId: '2026-03', summary: { mailsSent: 0 } }],
    });
    expect(lines[0]).toBe('remind : 2 sessions en évaluation');
    expect(lines.filter((line) => line.startsWith('remind : session'))).toEqual(['remind : session 2026-01', 'remind : session 2026-03']);
  });

  it('humanize summary keys', () => {
    expect(humanize('mailsAlreadySent')).toBe('mails already sent');
    expect(humanize('shortfalls')).toBe('shortfalls');
  });

  it('decisions: ranked first by rank, then the others by number, with titles when given', () => {
    const table = decisionTable(decisions, new Map([[9, 'Projet neuf']]));
    expect(table[0]).toMatch(/^RANG {2}DOSSIER {2}DÉCISION +SCORE {2}ÉVALUATIONS {2}POSTES {2}TITRE +MOTIF$/);
    expect(table.slice(1).map((line) => line.trim().split(/ {2,}/).slice(0, 4))).toEqual([
      ['1', '9', 'sélectionné', '4,50'], ['2', '3', "liste d'attente", '3,25'], ['-', '7', 'non sélectionné', '-'],
    ]);
    expect(table[1]).toContain('Projet neuf');
    expect(table[3]).toMatch(/Aucune évaluation comptée : dossier non classé\.$/);
    expect(decisionTable(decisions)[0]).not.toContain('TITRE');
  });

  it('the report headline counts outcomes and posts against the capacity', () => {
    expect(reportLines({ ...ROUND_RECORD, status: 'closed', selectionClosedAt: '2026-06-01T08:00:00.000Z' }, decisions)[0])
      .toBe("Session 2026-03, sélection close le 2026-06-01T08:00:00.000Z : 3 dossiers, 2 classés (4 évaluations comptées), "
        + "1 sélectionné (2 postes EIG sur 12), 1 en liste d'attente, 1 non sélectionné");
    const none = decisions.map((d) => ({ ...d, outcome: 'not_selected' as const, rank: null, score: null, reviewCount: 0 }));
    expect(reportLines({ ...ROUND_RECORD, status: 'closed', selectionClosedAt: '2026-06-01T08:00:00.000Z' }, none).slice(0, 2)).toEqual([
      "Session 2026-03, sélection close le 2026-06-01T08:00:00.000Z : 3 dossiers, 0 classé (0 évaluation comptée), "
        + "0 sélectionné (0 poste EIG sur 12), 0 en liste d'attente, 3 non sélectionnés",
      "Aucune évaluation n'a été comptée : aucun dossier n'a été classé ni sélectionné.",
    ]);
  });
});

describe('reviews list', () => {
  const reviewer = (id: string, email: string): ReviewerRecord => ({ id, email, name: email, conflicts: [], active: true });
  const reviewOf = (dossierNumber: number, reviewerId: string, extra: Partial<ReviewRecord> = {}): ReviewRecord => ({
    roundId: '2026-03', dossierNumber, reviewerId, scores: { impact: 4, faisabilite: 2 }, comment: 'ok',
    conflictOfInterest: false, submittedAt: '2026-05-10T10:00:00.000Z', ...extra,
  });

  it('one line per assignment in the page\'s states (to_do, draft, submitted, conflict), counted or not, with the mean of counted ones', () => {
    const assignments = [[1, 'r2'], [1, 'r1'], [2, 'r1'], [2, 'r2'], [3, 'r1']].map(([dossierNumber, reviewerId]) => ({
      roundId: '2026-03', dossierNumber: dossierNumber as number, reviewerId: reviewerId as string, assignedAt: '2026-05-01T08:00:00.000Z',
    }));
    const views = reviewViews(ROUND_RECORD, assignments, [
      reviewOf(1, 'r1', { status: 'submitted', updatedAt: '2026-05-10T10:00:00.000Z', writtenBy: 'staff:marie' }),
      reviewOf(1, 'r2', { conflictOfInterest: true }),
      reviewOf(2, 'r1', { scores: { impact: 5 } }),
      reviewOf(3, 'r1', { status: 'draft', submittedAt: null }),
    ], [reviewer('r1', 'b@example.fr'), reviewer('r2', 'a@example.fr')]);
    expect(views.map((view) => [view.dossierNumber, view.reviewerEmail, view.state, view.counted, view.weightedMean])).toEqual([
      [1, 'a@example.fr', 'conflict', false, null],
      [1, 'b@example.fr', 'submitted', true, 3.5],
      [2, 'a@example.fr', 'to_do', false, null],
      [2, 'b@example.fr', 'submitted', false, null],
      [3, 'b@example.fr', 'draft', false, null],
    ]);
    expect(views[1]).toMatchObject({ updatedAt: '2026-05-10T10:00:00.000Z', writtenBy: 'staff:marie' });
    expect(views[2]).toMatchObject({ updatedAt: null, writtenBy: null, submittedAt: null, scores: {} });
    const table = reviewTable(ROUND_RECORD, views);
    expect(table[0]).toMatch(/^DOSSIER {2}ÉVALUATEUR +IMPACT {2}FAISABILITE {2}MOYENNE {2}ÉTAT +ENVOYÉE LE$/);
    expect(table[2]).toMatch(/^ +1 {2}b@example\.fr +4 +2 +3,50 {2}envoyée +2026-05-10T10:00:00\.000Z$/);
    expect(table[1]).toMatch(/ {2}lien d'intérêt +2026/);
    expect(table[4]).toContain('envoyée (non comptée : un critère sans note)');
    expect(table[5]).toMatch(/ +3 {2}b@example\.fr +4 +2 +- {2}brouillon +-$/);
    expect(table.join('\n')).not.toContain('ok');
    expect(describeReviews(ROUND_RECORD, views)).toBe(
      "session 2026-03 (en évaluation, date limite 2026-05-22T08:00:00.000Z) : 5 affectations : 2 envoyées (1 comptée), 1 lien d'intérêt, 1 brouillon, 1 à faire",
    );
    expect(describeReviews({ ...ROUND_RECORD, status: 'open' }, [])).toBe('session 2026-03 (ouverte) : aucune affectation (elles sont faites à la clôture des dépôts)');
  });
});

describe('reviewer files', () => {
  it('CSV: quoted fields, CRLF, a BOM, a line break inside quotes; lines counted in the file', () => {
    expect(readCsv('a,"b, c"\r\n"d ""e""",f\n"g\nh",i')).toEqual({
      ok: true, records: [{ line: 1, cells: ['a', 'b, c'] }, { line: 2, cells: ['d "e"', 'f'] }, { line: 3, cells: ['g\nh', 'i'] }],
    });
    expect(readCsv('\uFEFFa,b\r\n\r\n,\n "c" , d \r"e\r\nf",g')).toEqual({
      ok: true, records: [{ line: 1, cells: ['a', 'b'] }, { line: 4, cells: ['c', 'd'] }, { line: 5, cells: ['e\r\nf', 'g'] }],
    });
    // A CRLF inside quotes is one line break, as a spreadsheet shows it.
    expect(readCsv('a,b\r\n"e\r\nf",g\r\nh,i')).toMatchObject({ records: [{ line: 1 }, { line: 2 }, { line: 4 }] });
    expect(readCsv('a,b\nc,"d\n')).toMatchObject({ ok: false, line: 2, message: expect.stringMatching(/^not valid CSV \(Quote Not Closed/) });
    expect(parseReviewerFile('x.csv', 'email,name\na@example.fr,"Alice\n')).toMatchObject({ ok: false, problems: [{ where: 'line 2' }] });
    const result = parseReviewerFile('comite.csv', '\uFEFFEmail,Name,Conflicts,Active\r\n\r\nA@Example.fr,"Martin, Alice",11111111111111; 22222222222222,oui\r\nb@example.fr,Bob,,no\r\n');
    expect(result).toEqual({
      ok: true, format: 'csv', reviewers: [
        { email: 'a@example.fr', name: 'Martin, Alice', conflicts: ['11111111111111', '22222222222222'], active: true },
        { email: 'b@example.fr', name: 'Bob', conflicts: [], active: false },
      ],
    });
  });

  it('CSV: every wrong line named, in file order', () => {
    const result = parseReviewerFile('x.csv', 'email,name,conflicts\nok@example.fr,Ok,\n\nbad,Bad,\nc@example.fr,,123\nd@example.fr,D,,extra\n');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems.map((problem) => problem.where)).toEqual(['line 4', 'line 5', 'line 6']);
    expect(result.problems[1]!.message).toMatch(/^name: .*; conflicts\.0: a conflict is a 14-digit SIRET$/);
    expect(result.problems[2]!.message).toBe('4 fields for 3 columns (quote a name that holds a comma)');
  });

  it('JSON: an array, entries named by position; the format from the extension or the content', () => {
    expect(parseReviewerFile('r.json', '{"email":"a@example.fr"}')).toMatchObject({ ok: false, problems: [{ where: 'file', message: expect.stringContaining('JSON array') }] });
    expect(parseReviewerFile('r.json', '[]')).toMatchObject({ ok: false, problems: [{ where: 'file', message: 'no reviewer in it' }] });
    expect(detectFormat('reviewers.txt', '  [{"email": "a@example.fr"}]')).toBe('json');
    expect(detectFormat('reviewers.txt', 'email,name')).toBe('csv');
    expect(detectFormat('R.JSON', 'email')).toBe('json');
  });

  it('reviewers list: suppressed addresses say so', () => {
    const view = reviewerView({ id: 'r1', email: 'a@example.fr', name: 'A', conflicts: ['11111111111111'], active: true, suppressed: true });
    expect(view.suppressed).toBe(true);
    expect(reviewerTable([view])[1]).toBe('a@example.fr  A     no (mail suppressed)  11111111111111');
  });
});
