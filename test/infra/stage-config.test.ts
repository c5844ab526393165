import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { INGEST_PIPELINE } from '#infra/pipeline-settings';
import { loadStageConfig, parseStageConfig, RESERVED_CONCURRENCY_DEFAULTS, ROUTE_THROTTLE_DEFAULTS, StageConfigError } from '#infra/stage-config';

const valid = { name: 'dev', demarcheNumbers: [98765] };

const dir = mkdtempSync(join(tmpdir(), 'ds-selection-stages-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The message of the StageConfigError thrown by `run`. */
function failure(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(StageConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a StageConfigError');
}

describe('stage config', () => {
  it('fills the defaults', () => {
    expect(parseStageConfig(valid)).toEqual({
      name: 'dev',
      demarcheNumbers: [98765],
      region: 'eu-west-3',
      dsApiUrl: 'https://demarche.numerique.gouv.fr/api/v2/graphql',
      fixedEgressIp: false,
      logRetentionDays: 90,
      logLevel: 'INFO',
      removalPolicy: 'retain',
      ingestTimeoutSeconds: INGEST_PIPELINE.functionTimeoutSeconds,
      ingestMemoryMb: 1024,
      ingestMaxConcurrency: INGEST_PIPELINE.maxConcurrency,
      dsApiTimeoutSeconds: 35,
      alarmEmails: [],
      routeThrottles: ROUTE_THROTTLE_DEFAULTS,
      reservedConcurrency: RESERVED_CONCURRENCY_DEFAULTS,
    });
  });

  it('per-route throttles and reserved concurrency: partial overrides keep the other defaults; null means no reservation', () => {
    const stage = parseStageConfig({ ...valid, routeThrottles: { reviewAssets: { burstLimit: 80 } }, reservedConcurrency: { 'serve-review-page': null } });
    expect(stage.routeThrottles.reviewAssets).toEqual({ rateLimit: ROUTE_THROTTLE_DEFAULTS.reviewAssets.rateLimit, burstLimit: 80 });
    expect(stage.routeThrottles.webhook).toEqual(ROUTE_THROTTLE_DEFAULTS.webhook);
    expect(stage.reservedConcurrency).toEqual({ ...RESERVED_CONCURRENCY_DEFAULTS, 'serve-review-page': null });
  });

  it.each([
    ['demarcheNumbers', { demarcheNumbers: [] }, 'at least one démarche'],
    ['demarcheNumbers', { demarcheNumbers: ['98765'] }, 'demarcheNumbers'],
    ['demarcheNumbers', { demarcheNumbers: [-1] }, 'positive'],
    ['logRetentionDays', { logRetentionDays: 10 }, 'retention periods'],
    ['alarmEmail', { alarmEmail: 'not-an-email' }, 'email'],
    ['alarmEmails', { alarmEmails: ['ops@example.gouv.fr', 'nope'] }, 'email'],
    ['reservedConcurrency', { reservedConcurrency: { 'receive-ds-webhook': 0 } }, 'at least 1'],
    ['reservedConcurrency', { reservedConcurrency: { 'ingest-dossier': 5 } }, 'Unrecognized key'],
    ['routeThrottles', { routeThrottles: { webhook: { rateLimit: 0 } } }, 'positive'],
    ['routeThrottles', { routeThrottles: { admin: { rateLimit: 1 } } }, 'Unrecognized key'],
    ['dsApiUrl', { dsApiUrl: 'demarche.numerique.gouv.fr' }, 'URL'],
    ['region', { region: 'paris' }, 'AWS region'],
    ['account', { account: '12345' }, '12-digit'],
    ['ingestTimeoutSeconds', { ingestTimeoutSeconds: 1200 }, '900'],
    ['ingestMaxConcurrency', { ingestMaxConcurrency: 1 }, 'at least 2'],
    ['dsApiTimeoutSeconds', { ingestTimeoutSeconds: 60, dsApiTimeoutSeconds: 35 }, 'half of ingestTimeoutSeconds'],
    ['removalPolicy', { name: 'prod', removalPolicy: 'destroy' }, 'retain'],
    ['removalPolicy', { removalPolicy: 'keep' }, 'removalPolicy'],
    ['fixedEgressIp', { fixedEgressIp: 'yes' }, 'fixedEgressIp'],
    ['availabilityZones', { availabilityZones: ['eu-west-3a'] }, 'exactly two'],
    ['availabilityZones', { availabilityZones: ['eu-west-1a', 'eu-west-1b'] }, 'region eu-west-3'],
    ['fixedEgresIp', { fixedEgresIp: true }, 'Unrecognized key'],
  ])('rejects a bad %s with a message naming it', (field, patch, hint) => {
    const message = failure(() => parseStageConfig({ ...valid, ...patch }, 'infra/stages/dev.json'));
    expect(message).toContain('infra/stages/dev.json');
    expect(message).toContain(field);
    expect(message).toContain(hint);
  });

  it('names a missing required field', () => {
    const message = failure(() => parseStageConfig({ name: 'dev' }));
    expect(message).toMatch(/demarcheNumbers/);
  });

  it('loads infra/stages/<name>.json and checks the name inside', () => {
    writeFileSync(join(dir, 'staging.json'), JSON.stringify({ ...valid, name: 'staging' }));
    writeFileSync(join(dir, 'other.json'), JSON.stringify({ ...valid, name: 'staging' }));
    writeFileSync(join(dir, 'broken.json'), '{ "name": ');
    expect(loadStageConfig('staging', dir).name).toBe('staging');
    expect(failure(() => loadStageConfig('other', dir))).toMatch(/must describe stage "other".*\n.*name/);
    expect(failure(() => loadStageConfig('broken', dir))).toContain('not JSON');
    expect(failure(() => loadStageConfig('missing', dir))).toContain('missing.json');
    expect(failure(() => loadStageConfig('../etc/passwd', dir))).toContain('Invalid stage name');
  });

  it('the shipped dev and prod stages parse; prod retains data and has a fixed egress IP', () => {
    expect(loadStageConfig('dev').demarcheNumbers).toEqual([98765]);
    const prod = loadStageConfig('prod');
    expect(prod).toMatchObject({ removalPolicy: 'retain', fixedEgressIp: true });
  });
});
