import { ConfigError } from '../../src/core/index.ts';

/** A compiled text template: fills its `{name}` placeholders from `vars`. */
export type Template<K extends string> = (vars: Readonly<Record<K, string>>) => string;

const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/**
 * Compiles `text` once into literal pieces and placeholders, so filling it is a
 * join. Only `{identifier}` is a placeholder: `\boxed{}` and JSON braces stay
 * literal. A placeholder outside `names` is a ConfigError naming `what`.
 */
export function compileTemplate<K extends string>(text: string, names: readonly K[], what: string): Template<K> {
  const literals: string[] = [];
  const keys: K[] = [];
  let at = 0;
  for (const match of text.matchAll(PLACEHOLDER)) {
    const name = match[1];
    if (!(names as readonly string[]).includes(name)) {
      throw new ConfigError(`${what}: unknown placeholder {${name}}; it may use ${names.map((n) => `{${n}}`).join(', ')}`);
    }
    literals.push(text.slice(at, match.index));
    keys.push(name as K);
    at = match.index + match[0].length;
  }
  literals.push(text.slice(at));
  return (vars) => {
    let out = literals[0];
    for (let i = 0; i < keys.length; i++) out += vars[keys[i]] + literals[i + 1];
    return out;
  };
}
