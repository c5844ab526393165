import { describe, expect, it } from 'vitest';
import { localEnvSchema } from '#schemas/env';
import { SCHEDULES } from '#infra/schedules';

// `npm start` checks every variable before anything starts (infra/local/main.ts): a typo must
// stop it with one line naming the variable, not a stack trace and a half-written DATA_DIR.

const schema = localEnvSchema(SCHEDULES.map((s) => s.name));
const problems = (env: Record<string, string>) => {
  const parsed = schema.safeParse(env);
  return parsed.success ? [] : parsed.error.issues.map((i) => `${String(i.path[0])}: ${i.message}`);
};

describe('local environment', () => {
  it('takes the defaults and treats empty values as unset', () => {
    expect(schema.parse({ DS_API_TOKEN: '', DS_API_URL: '', RUN_SCHEDULES_AT_START: '' })).toMatchObject({ PORT: 3000, DATA_DIR: '.data' });
    expect(schema.parse({ RUN_SCHEDULES_AT_START: ' reconcile-dossiers , round-open', DS_DEMARCHE_NUMBER: '98765,98766', LOG_LEVEL: 'INFO' }))
      .toMatchObject({ RUN_SCHEDULES_AT_START: ['reconcile-dossiers', 'round-open'], DS_DEMARCHE_NUMBER: [98765, 98766], LOG_LEVEL: 'INFO' });
  });

  it.each([
    [{ RUN_SCHEDULES_AT_START: 'bogus' }, /^RUN_SCHEDULES_AT_START: must name schedules among reconcile-dossiers, .*round-close-selection/],
    [{ PORT: 'abc' }, /^PORT: must be a port number/],
    [{ PORT: '70000' }, /^PORT: /],
    [{ LOG_LEVEL: 'verbose' }, /^LOG_LEVEL: must be DEBUG, INFO, WARN or ERROR/],
    [{ DS_DEMARCHE_NUMBER: '98765;1' }, /^DS_DEMARCHE_NUMBER: must be a démarche number/],
    [{ DS_API_URL: 'https://example.fr/api/v2/graphql' }, /^DS_API_TOKEN: DS_API_URL needs DS_API_TOKEN/],
    [{ DS_WEBHOOK_V2_SECRET: 'not-a-secret' }, /^DS_WEBHOOK_V2_SECRET: must be whsec_/],
    [{ WEBHOOK_TOKEN: 'a/b' }, /^WEBHOOK_TOKEN: /],
    [{ REVIEW_LINK_SECRET: 'short' }, /^REVIEW_LINK_SECRET: must be at least 32/],
    [{ DS_SIMULATOR_VIRUS_SCAN_SECONDS: 'soon' }, /^DS_SIMULATOR_VIRUS_SCAN_SECONDS: must be a number of seconds/],
  ])('refuses %j with a message naming the variable', (env, message) => {
    expect(problems(env)).toEqual([expect.stringMatching(message)]);
  });
});

describe('local write-back settings', () => {
  it('takes DS_WRITE_BACK against the simulator alone, and asks for a write token and an instructeur against the real DS', () => {
    expect(problems({ DS_WRITE_BACK: '1' })).toEqual([]);
    expect(problems({ DS_WRITE_BACK: 'yes' })).toEqual([expect.stringMatching(/^DS_WRITE_BACK: must be 1/)]);
    expect(problems({ DS_WRITE_BACK: '1', DS_API_TOKEN: 'read-token' })).toEqual([expect.stringMatching(/^DS_WRITE_BACK: against the real DS/)]);
    expect(problems({ DS_WRITE_BACK: '1', DS_API_TOKEN: 'read-token', DS_WRITE_TOKEN: 'write-token', DS_INSTRUCTEUR_ID: 'SW5zdHJ1Y3RldXItMQ==' })).toEqual([]);
  });
});
