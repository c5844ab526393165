import { describe, expect, it } from 'vitest';
import { classifyGraphqlError, type AnswerShape } from '#adapters/ds-api/graphql-client';
import type { GraphqlError } from '#schemas/ds-dossier';

/**
 * How the DS client reads a GraphQL error: by `extensions.code` and `path`, never by HTTP status
 * alone (DS answers 200 to a document that fails validation, and to a partial answer).
 */

const error = (code: string | undefined, path?: (string | number)[]): GraphqlError => ({
  message: 'a message', ...(path ? { path } : {}), ...(code ? { extensions: { code } } : {}),
});
const answered = (root: Record<string, boolean>): AnswerShape => ({ dataPresent: true, rootPresent: (field) => root[field] ?? false });
const withDossier = answered({ dossier: true });
const withoutDossier = answered({ dossier: false });
const beforeExecution: AnswerShape = { dataPresent: false, rootPresent: () => false };

describe('classifyGraphqlError', () => {
  it('a nested unauthorized with the root object present is a hidden object, not a bad token', () => {
    expect(classifyGraphqlError(error('unauthorized', ['dossier', 'champs', 3, 'dossier']), withDossier)).toBe('hidden');
    expect(classifyGraphqlError(error('unauthorized', ['dossier', 'champs', 2, 'rows', 0, 'champs', 1, 'dossier']), withDossier)).toBe('hidden');
  });

  it('unauthorized on the root field, or nested with the root nulled, or forbidden, is the token', () => {
    expect(classifyGraphqlError(error('unauthorized', ['dossier']), withoutDossier)).toBe('token');
    expect(classifyGraphqlError(error('unauthorized'), withoutDossier)).toBe('token');
    expect(classifyGraphqlError(error('unauthorized', ['dossier', 'demandeur']), withoutDossier)).toBe('token');
    expect(classifyGraphqlError(error('unauthorized', ['demarche']), answered({}))).toBe('token');
    expect(classifyGraphqlError(error('forbidden'), beforeExecution)).toBe('token');
  });

  it('not_found on the root field is the dossier missing; nested, something else', () => {
    expect(classifyGraphqlError(error('not_found', ['dossier']), withoutDossier)).toBe('not_found');
    expect(classifyGraphqlError(error('not_found', ['dossier', 'groupeInstructeur']), withDossier)).toBe('other');
  });

  it('timeout and internal_server_error may pass later', () => {
    expect(classifyGraphqlError(error('timeout', ['dossier']), withoutDossier)).toBe('transient');
    expect(classifyGraphqlError(error('internal_server_error'), beforeExecution)).toBe('transient');
  });

  it('validation errors (graphql-ruby codes, or any error of an answer without data) are our document: invalid_request', () => {
    expect(classifyGraphqlError(error('undefinedField', ['query getDossier', 'dossier', 'nope']), beforeExecution)).toBe('invalid_request');
    expect(classifyGraphqlError(error('undefinedField', ['query getDossier', 'dossier', 'nope']), withDossier)).toBe('invalid_request');
    expect(classifyGraphqlError(error('graphql_parse_failed'), beforeExecution)).toBe('invalid_request');
    // A variable beyond GraphQL Int: no code, no data.
    expect(classifyGraphqlError(error(undefined), beforeExecution)).toBe('invalid_request');
  });

  it('anything else that came with data is left to the caller', () => {
    expect(classifyGraphqlError(error('invalid_null', ['dossier', 'demandeur', 'entreprise', 'raisonSociale']), withDossier)).toBe('other');
    expect(classifyGraphqlError(error('bad_request'), withDossier)).toBe('other');
  });
});
