import { beforeEach, describe, expect, it } from 'vitest';
import { ReviewerImportError } from '#core/rounds/errors';
import { importReviewers } from '#core/rounds/import-reviewers';
import { MemoryRoundRepository } from '../helpers/memory-round-ports.ts';

let rounds: MemoryRoundRepository;
/** Ids are random: a reviewer is found by address, as the import matches them. */
const byEmail = (email: string) => [...rounds.reviewers.values()].find((r) => r.email === email);
beforeEach(() => {
  rounds = new MemoryRoundRepository();
});

const FILE = [
  { email: 'Alice.Martin@Example.gouv.fr', name: ' Alice Martin ', conflicts: ['13002526500013', '11000201100044', '13002526500013'] },
  { email: 'bob@example.fr', name: 'Bob Durand' },
  { email: 'carole@example.fr', name: 'Carole Petit', active: false },
];

describe('importReviewers', () => {
  it('upserts reviewers by their lower-cased email (new ones get a random id, known ones keep theirs), then counts what changed', async () => {
    expect(await importReviewers(FILE, { rounds })).toEqual({ imported: 3, updated: 0, unchanged: 0 });
    const alice = byEmail('alice.martin@example.gouv.fr')!;
    expect(alice).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{16}$/), email: 'alice.martin@example.gouv.fr', name: 'Alice Martin',
      conflicts: ['11000201100044', '13002526500013'], active: true,
    });
    expect(byEmail('carole@example.fr')).toMatchObject({ active: false, conflicts: [] });
    const ids = new Map([...rounds.reviewers.values()].map((r) => [r.email, r.id]));

    expect(await importReviewers(FILE, { rounds })).toEqual({ imported: 0, updated: 0, unchanged: 3 });
    const changed = [{ ...FILE[0], name: 'Alice Martin-Durand' }, FILE[1], { email: 'david@example.fr', name: 'David' }];
    expect(await importReviewers(changed, { rounds })).toEqual({ imported: 1, updated: 1, unchanged: 1 });
    expect(rounds.reviewers.size).toBe(4);
    for (const [email, id] of ids) expect(byEmail(email)!.id).toBe(id);
    expect(rounds.reviewers.get(alice.id)!.name).toBe('Alice Martin-Durand');
  });

  it('keeps the suppressed flag set by bounces', async () => {
    await importReviewers(FILE, { rounds });
    const id = byEmail('bob@example.fr')!.id;
    rounds.reviewers.set(id, { ...rounds.reviewers.get(id)!, suppressed: true, suppressedReason: 'bounce', suppressedAt: '2026-03-14T08:00:00.000Z' });
    expect(await importReviewers(FILE, { rounds })).toEqual({ imported: 0, updated: 0, unchanged: 3 });
    await importReviewers([{ email: 'bob@example.fr', name: 'Bob D.' }], { rounds });
    expect(rounds.reviewers.get(id)).toMatchObject({ name: 'Bob D.', suppressed: true, suppressedReason: 'bounce', suppressedAt: '2026-03-14T08:00:00.000Z' });
  });

  it('rejects the whole file on a duplicate email, naming the lines (not the address)', async () => {
    const file = [...FILE, { email: 'ALICE.martin@example.gouv.fr', name: 'Alice bis' }];
    const error = await importReviewers(file, { rounds }, { firstLine: 2 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReviewerImportError);
    expect((error as ReviewerImportError).issues).toEqual([{ line: 5, message: 'duplicate email: the same address is already on line 2' }]);
    expect((error as Error).message).not.toMatch(/alice/i);
    expect(rounds.reviewers.size).toBe(0);
    expect(rounds.writeCount).toBe(0);
  });

  it('rejects invalid entries, every one named by its line', async () => {
    const file = [FILE[0], { email: 'not-an-email', name: 'X' }, { email: 'e@example.fr', name: '', conflicts: ['123'] }];
    const error = (await importReviewers(file, { rounds }).catch((e: unknown) => e)) as ReviewerImportError;
    expect(error).toBeInstanceOf(ReviewerImportError);
    expect(error.issues.map((i) => i.line)).toEqual([2, 3, 3]);
    expect(error.issues[2]!.message).toMatch(/conflicts\.0: a conflict is a 14-digit SIRET/);
    expect(error.message).toMatch(/nothing imported/);
    expect(rounds.reviewers.size).toBe(0);
  });

  it('reads the college (French spellings too), keeps it through a re-import that names none, changes or removes it when told', async () => {
    const file = [
      { email: 'alice@example.fr', name: 'Alice', college: 'Administration' },
      { email: 'bob@example.fr', name: 'Bob', college: ' Numérique ' },
      { email: 'carole@example.fr', name: 'Carole', college: 'RECHERCHE' },
      { email: 'david@example.fr', name: 'David' },
    ];
    expect(await importReviewers(file, { rounds })).toEqual({ imported: 4, updated: 0, unchanged: 0 });
    expect(['alice', 'bob', 'carole', 'david'].map((n) => byEmail(`${n}@example.fr`)!.college)).toEqual(['administration', 'numerique', 'recherche', undefined]);
    expect(byEmail('david@example.fr')).not.toHaveProperty('college');

    // A file from before colleges (or empty cells): nothing changes.
    const old = file.map(({ email, name }) => ({ email, name }));
    expect(await importReviewers(old, { rounds })).toEqual({ imported: 0, updated: 0, unchanged: 4 });
    expect(await importReviewers(old.map((e) => ({ ...e, college: '' })), { rounds })).toEqual({ imported: 0, updated: 0, unchanged: 4 });
    expect(byEmail('bob@example.fr')!.college).toBe('numerique');

    // A new college is a change; `aucun` (or null) removes it.
    expect(await importReviewers([{ ...old[1], college: 'recherche' }, { ...old[2], college: 'aucun' }, { ...old[0], college: null }], { rounds }))
      .toEqual({ imported: 0, updated: 3, unchanged: 0 });
    expect(byEmail('bob@example.fr')!.college).toBe('recherche');
    expect(byEmail('carole@example.fr')).not.toHaveProperty('college');
    expect(byEmail('alice@example.fr')).not.toHaveProperty('college');
  });

  it('rejects the whole file on an unknown college, naming the line and the three colleges', async () => {
    const file = [{ email: 'alice@example.fr', name: 'Alice', college: 'administration' }, { email: 'bob@example.fr', name: 'Bob', college: 'digital' }];
    const error = (await importReviewers(file, { rounds }, { firstLine: 2 }).catch((e: unknown) => e)) as ReviewerImportError;
    expect(error).toBeInstanceOf(ReviewerImportError);
    expect(error.issues).toEqual([{ line: 3, message: 'college: a college is one of administration, numerique, recherche' }]);
    expect(rounds.reviewers.size).toBe(0);
  });
});
