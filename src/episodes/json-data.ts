/** How deep episode data may nest; deeper values (and cycles) are refused before an encoder overflows the stack. */
export const MAX_JSON_DEPTH = 256;

/** Where a value stops being JSON data, and why. */
export interface JsonProblem {
  readonly path: (string | number)[];
  readonly message: string;
}

/**
 * The first place where `value` is not JSON data (null, booleans, finite
 * numbers, well-formed strings, arrays and plain objects with well-formed
 * keys), or nests more than
 * `maxDepth` levels. An object property holding `undefined` is allowed because
 * both encodings drop it (as JSON.stringify does); `undefined` anywhere else is
 * not, since JSON would turn it into null.
 */
export function findNonJson(value: unknown, maxDepth = MAX_JSON_DEPTH): JsonProblem | undefined {
  return check(value, 0, maxDepth);
}

function check(value: unknown, depth: number, maxDepth: number): JsonProblem | undefined {
  switch (typeof value) {
    case 'boolean':
      return undefined;
    case 'number':
      return Number.isFinite(value) ? undefined : problem(`${value} is not a JSON number`);
    case 'string':
      // A lone surrogate, which JSON escapes but UTF-8 (hence msgpack) cannot carry, makes a string ill-formed.
      return value.isWellFormed() ? undefined : problem('a string with a lone surrogate cannot be encoded as UTF-8');
    case 'object':
      break;
    default:
      return problem(`${typeof value} is not JSON data`);
  }
  if (value === null) return undefined;
  if (depth >= maxDepth) return problem(`data nested more than ${maxDepth} levels deep (or a cycle)`);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = check(value[i], depth + 1, maxDepth);
      if (found) return within(i, found);
    }
    return undefined;
  }
  const prototype = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) {
    return problem(`${Object.prototype.toString.call(value).slice(8, -1)} is not a plain object`);
  }
  const record = value as Record<string, unknown>;
  // msgpackr decodes a "__proto__" key as "__proto_", so it could not round-trip.
  if (Object.hasOwn(record, '__proto__')) return problem('the key "__proto__" is not allowed');
  for (const key of Object.keys(record)) {
    const item = record[key];
    if (item === undefined) continue;
    if (!key.isWellFormed()) return within(key, problem('a key with a lone surrogate cannot be encoded as UTF-8'));
    const found = check(item, depth + 1, maxDepth);
    if (found) return within(key, found);
  }
  return undefined;
}

function problem(message: string): JsonProblem {
  return { path: [], message };
}

function within(key: string | number, found: JsonProblem): JsonProblem {
  found.path.unshift(key);
  return found;
}
