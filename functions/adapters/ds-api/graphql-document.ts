/**
 * A small reader of the GraphQL documents we send to DS, and a check of them against the list of
 * fields DS's schema has (test/fixtures/ds-api/schema-fields.json, derived from DS's
 * schema.graphql). DS validates every document before running it and refuses one that selects
 * a field it does not have, with HTTP 200 and `errors` (graphql-ruby's `undefinedField`): the
 * DS simulator uses `validateDocument` to answer the same way, and the tests use
 * `missingSelections` to hold the fixtures of events/dossiers/ to every field the query selects.
 *
 * Only what our documents use: operations, named and inline fragments, aliases, arguments and
 * directives (skipped). No dependency on the `graphql` package for this.
 */

export type Selection =
  | { kind: 'field'; key: string; name: string; selections: Selection[]; line: number; column: number }
  | { kind: 'inline'; on: string | undefined; selections: Selection[]; line: number; column: number }
  | { kind: 'spread'; name: string; line: number; column: number };

export interface Operation {
  type: 'query' | 'mutation';
  name: string | undefined;
  variables: { name: string; type: string }[];
  selections: Selection[];
}

export interface GraphqlDocument {
  operations: Operation[];
  fragments: Map<string, { on: string; selections: Selection[] }>;
}

/** DS's fields by type: each field's object type, or null for a scalar or an enum. */
export interface SchemaFields {
  interfaces: Record<string, string[]>;
  types: Record<string, Record<string, string | null>>;
}

/** A GraphQL error as graphql-ruby (DS) writes a validation error. */
export interface DocumentError {
  message: string;
  locations: { line: number; column: number }[];
  path: string[];
  extensions: { code: string; typeName?: string; fieldName?: string; fragmentName?: string };
}

export class GraphqlSyntaxError extends Error {
  override name = 'GraphqlSyntaxError';
}

interface Token { text: string; line: number; column: number }

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  const pattern = /\s+|,|#[^\n]*|("(?:[^"\\]|\\.)*")|(\.\.\.)|([_A-Za-z][_0-9A-Za-z]*)|(-?\d+(?:\.\d+)?)|([{}()[\]:!$@=])/gy;
  let match: RegExpExecArray | null;
  while (pattern.lastIndex < text.length && (match = pattern.exec(text))) {
    const value = match[1] ?? match[2] ?? match[3] ?? match[4] ?? match[5];
    if (value === undefined) continue;
    const before = text.slice(0, match.index);
    const line = before.split('\n').length;
    tokens.push({ text: value, line, column: match.index - before.lastIndexOf('\n') });
  }
  if (pattern.lastIndex < text.length) throw new GraphqlSyntaxError(`unexpected character at offset ${pattern.lastIndex}`);
  return tokens;
}

export function parseGraphqlDocument(text: string): GraphqlDocument {
  const tokens = tokenize(text);
  let at = 0;
  const peek = () => tokens[at]?.text;
  const next = (): Token => {
    const token = tokens[at++];
    if (!token) throw new GraphqlSyntaxError('unexpected end of document');
    return token;
  };
  const expect = (value: string) => {
    const token = next();
    if (token.text !== value) throw new GraphqlSyntaxError(`expected ${value} at ${token.line}:${token.column}, got ${token.text}`);
  };
  const skipBalanced = (open: string, close: string) => {
    expect(open);
    for (let depth = 1; depth > 0;) {
      const token = next().text;
      if (token === open) depth++;
      if (token === close) depth--;
    }
  };
  const skipDirectives = () => {
    while (peek() === '@') {
      next();
      next();
      if (peek() === '(') skipBalanced('(', ')');
    }
  };
  const selectionSet = (): Selection[] => {
    expect('{');
    const selections: Selection[] = [];
    while (peek() !== '}') selections.push(selection());
    expect('}');
    return selections;
  };
  const selection = (): Selection => {
    const start = tokens[at]!;
    const where = { line: start.line, column: start.column };
    if (peek() === '...') {
      next();
      if (peek() === 'on') {
        next();
        const on = next().text;
        skipDirectives();
        return { kind: 'inline', on, selections: selectionSet(), ...where };
      }
      if (peek() === '{' || peek() === '@') {
        skipDirectives();
        return { kind: 'inline', on: undefined, selections: selectionSet(), ...where };
      }
      const name = next().text;
      skipDirectives();
      return { kind: 'spread', name, ...where };
    }
    const key = next().text;
    let name = key;
    if (peek() === ':') {
      next();
      name = next().text;
    }
    if (peek() === '(') skipBalanced('(', ')');
    skipDirectives();
    return { kind: 'field', key, name, selections: peek() === '{' ? selectionSet() : [], ...where };
  };

  const document: GraphqlDocument = { operations: [], fragments: new Map() };
  while (at < tokens.length) {
    const keyword = next().text;
    if (keyword === 'fragment') {
      const name = next().text;
      expect('on');
      const on = next().text;
      skipDirectives();
      document.fragments.set(name, { on, selections: selectionSet() });
    } else if (keyword === 'query' || keyword === 'mutation' || keyword === '{') {
      if (keyword === '{') at--;
      const operation: Operation = { type: keyword === 'mutation' ? 'mutation' : 'query', name: undefined, variables: [], selections: [] };
      if (keyword !== '{' && peek() !== '(' && peek() !== '{') operation.name = next().text;
      if (peek() === '(') {
        next();
        while (peek() !== ')') {
          expect('$');
          const variable = next().text;
          expect(':');
          let type = '';
          while (peek() !== '$' && peek() !== ')' && peek() !== '=') type += next().text;
          if (peek() === '=') {
            next();
            next();
          }
          operation.variables.push({ name: variable, type });
        }
        expect(')');
      }
      skipDirectives();
      operation.selections = selectionSet();
      document.operations.push(operation);
    } else {
      throw new GraphqlSyntaxError(`unexpected ${keyword}`);
    }
  }
  return document;
}

/** Whether a type condition applies to an object of `concrete` type. */
function applies(schema: SchemaFields, on: string | undefined, concrete: string): boolean {
  return on === undefined || on === concrete || (schema.interfaces[on]?.includes(concrete) ?? false);
}

/**
 * The errors DS would give this document: fields its schema does not have (`undefinedField`),
 * unknown type conditions (`undefinedType`), unknown fragments (`undefinedFragment`), a
 * sub-selection on a scalar or none on an object (`selectionMismatch`). Empty when DS would run it.
 */
export function validateDocument(document: GraphqlDocument, schema: SchemaFields): DocumentError[] {
  const errors = new Map<string, DocumentError>();
  const add = (error: DocumentError) => {
    if (!errors.has(error.message)) errors.set(error.message, error);
  };
  const visit = (selections: Selection[], type: string, path: string[], seen: Set<string>) => {
    const fields = schema.types[type];
    for (const item of selections) {
      const locations = [{ line: item.line, column: item.column }];
      if (item.kind === 'field') {
        if (item.name === '__typename') continue;
        if (!fields || !(item.name in fields)) {
          add({
            message: `Field '${item.name}' doesn't exist on type '${type}'`, locations, path: [...path, item.key],
            extensions: { code: 'undefinedField', typeName: type, fieldName: item.name },
          });
          continue;
        }
        const fieldType = fields[item.name]!;
        if (fieldType === null && item.selections.length > 0) {
          add({
            message: `Selections can't be made on scalars (field '${item.name}' returns a scalar)`, locations, path: [...path, item.key],
            extensions: { code: 'selectionMismatch', typeName: type, fieldName: item.name },
          });
        } else if (fieldType !== null && item.selections.length === 0) {
          add({
            message: `Field must have selections (field '${item.name}' returns ${fieldType} but has no selections)`, locations,
            path: [...path, item.key], extensions: { code: 'selectionMismatch', typeName: type, fieldName: item.name },
          });
        } else if (fieldType !== null) {
          visit(item.selections, fieldType, [...path, item.key], seen);
        }
      } else if (item.kind === 'inline') {
        const on = item.on ?? type;
        if (!schema.types[on]) {
          add({
            message: `No such type ${on}, so it can't be a fragment condition`, locations, path: [...path, `... on ${on}`],
            extensions: { code: 'undefinedType', typeName: on },
          });
          continue;
        }
        visit(item.selections, on, [...path, `... on ${on}`], seen);
      } else {
        const fragment = document.fragments.get(item.name);
        if (!fragment) {
          add({
            message: `Fragment ${item.name} was used, but not defined`, locations, path: [...path, `... ${item.name}`],
            extensions: { code: 'undefinedFragment', fragmentName: item.name },
          });
          continue;
        }
        if (!schema.types[fragment.on]) {
          add({
            message: `No such type ${fragment.on}, so it can't be a fragment condition`, locations, path: [`fragment ${item.name}`],
            extensions: { code: 'undefinedType', typeName: fragment.on },
          });
          continue;
        }
        // A fragment is checked once, from its own type condition (as graphql-ruby reports it).
        if (seen.has(item.name)) continue;
        seen.add(item.name);
        visit(fragment.selections, fragment.on, [`fragment ${item.name}`], seen);
      }
    }
  };
  for (const operation of document.operations) {
    const root = operation.type === 'mutation' ? 'Mutation' : 'Query';
    visit(operation.selections, root, [`${operation.type}${operation.name ? ` ${operation.name}` : ''}`], new Set());
  }
  return [...errors.values()];
}

/** The response keys (with their field name and sub-selections) asked of an object of `concrete` type. */
function selectedKeys(document: GraphqlDocument, schema: SchemaFields, selections: Selection[], concrete: string) {
  const keys = new Map<string, { name: string; selections: Selection[] }>();
  const visit = (items: Selection[]) => {
    for (const item of items) {
      if (item.kind === 'field') {
        const known = keys.get(item.key);
        keys.set(item.key, { name: item.name, selections: [...(known?.selections ?? []), ...item.selections] });
      } else if (item.kind === 'inline') {
        if (applies(schema, item.on, concrete)) visit(item.selections);
      } else {
        const fragment = document.fragments.get(item.name);
        if (fragment && applies(schema, fragment.on, concrete)) visit(fragment.selections);
      }
    }
  };
  visit(selections);
  return keys;
}

/**
 * Every `path (on Type)` the operation selects that `data` lacks, walking the answer with the
 * schema's types (an abstract type is resolved by the object's `__typename`). A null value
 * ends the walk there: DS sends null for an empty object field.
 */
export function missingSelections(document: GraphqlDocument, schema: SchemaFields, operationName: string, data: unknown): string[] {
  const operation = document.operations.find((candidate) => candidate.name === operationName);
  if (!operation) throw new Error(`no operation ${operationName} in the document`);
  const missing: string[] = [];
  const walk = (value: unknown, selections: Selection[], type: string, path: string) => {
    if (Array.isArray(value)) {
      value.forEach((item, i) => walk(item, selections, type, `${path}[${i}]`));
      return;
    }
    if (value === null || typeof value !== 'object') return;
    const object = value as Record<string, unknown>;
    const concrete = typeof object.__typename === 'string' ? object.__typename : type;
    for (const [key, { name, selections: sub }] of selectedKeys(document, schema, selections, concrete)) {
      if (!(key in object)) {
        missing.push(`${path}.${key} (on ${concrete})`);
        continue;
      }
      const fieldType = schema.types[concrete]?.[name] ?? schema.types[type]?.[name];
      if (fieldType) walk(object[key], sub, fieldType, `${path}.${key}`);
    }
  };
  walk(data, operation.selections, operation.type === 'mutation' ? 'Mutation' : 'Query', '');
  return missing;
}
