import { ParseError, type CreatorInput, type CreatorOutput } from '../../src/core/index.ts';
import { defineRole } from './role.ts';
import { codeBlocks, shown } from './text.ts';

const MAX_PARAMS = 32;

const formatParams = (params: Readonly<Record<string, number>>) => JSON.stringify(params);

const formatBounds = (bounds: CreatorInput['bounds']) =>
  bounds === undefined || Object.keys(bounds).length === 0
    ? ''
    : `Allowed values: ${Object.entries(bounds)
        .map(([name, [min, max]]) => `${name} from ${min} to ${max}`)
        .join(', ')}.\n`;

/**
 * The last top-level `{...}` in the text, by brace depth (braces inside JSON
 * strings are not special-cased: parameter objects have none). One pass, so
 * adversarial text stays linear.
 */
function lastObject(text: string): string | null {
  let depth = 0;
  let start = -1;
  let last: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '{') {
      if (depth === 0) start = i;
      depth++;
    } else if (ch === '}' && depth > 0) {
      depth--;
      if (depth === 0) last = text.slice(start, i + 1);
    }
  }
  return last;
}

/** The proposal's JSON text: the last ```json block (or unlabelled block), else the last {...} object. */
function proposalText(text: string): string | null {
  const block = codeBlocks(text)
    .filter((b) => b.language === 'json' || b.language === '')
    .pop();
  if (block && block.body.trim()) return block.body.trim();
  return lastObject(text);
}

/** Reads `{"params": {"name": integer, ...}}` (or the bare `{"name": integer, ...}`). */
function parseProposal(text: string): CreatorOutput {
  const raw = proposalText(text);
  if (raw === null) throw new ParseError('no parameters: expected a ```json block with {"params": {"name": integer, ...}}');
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new ParseError(`the parameters ${shown(raw)} are not valid JSON; expected {"params": {"name": integer, ...}}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ParseError(`the parameters ${shown(raw)} are not a JSON object; expected {"params": {"name": integer, ...}}`);
  }
  const wrapped = (value as Record<string, unknown>).params;
  const params = wrapped === undefined ? value : wrapped;
  if (typeof params !== 'object' || params === null || Array.isArray(params)) {
    throw new ParseError('"params" is not an object; expected {"params": {"name": integer, ...}}');
  }
  const entries = Object.entries(params as Record<string, unknown>);
  if (entries.length === 0) {
    throw new ParseError(wrapped === undefined ? 'no parameters: expected a ```json block with {"params": {"name": integer, ...}}' : 'no parameters: "params" is empty');
  }
  if (entries.length > MAX_PARAMS) throw new ParseError(`${entries.length} parameters is more than ${MAX_PARAMS}`);
  const out: Record<string, number> = {};
  for (const [name, v] of entries) {
    if (!name.trim()) throw new ParseError('a parameter has an empty name');
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new ParseError(`the parameter ${shown(name)} is ${shown(JSON.stringify(v) ?? String(v))}, not a whole number`);
    out[name] = v;
  }
  return { params: out };
}

/** Proposes the next task's parameters from a parent task and how informative it was (eva's creator). */
export const creator = defineRole<CreatorInput, CreatorOutput, 'family' | 'description' | 'params' | 'bounds' | 'informativeness'>({
  name: 'creator',
  placeholders: ['family', 'description', 'params', 'bounds', 'informativeness'],
  templates: {
    system: 'You are a creator of practice tasks for a student model.',
    user:
      'Task family: {family}\n{description}\n\nCurrent parameters: {params}\n{bounds}' +
      'Informativeness of the current task: {informativeness} (the best of several student answers minus their average reward; ' +
      'a task the student always solves, or never solves, scores 0).\n\n' +
      'Propose new integer parameters for a task of this family that will be as informative as possible: ' +
      'hard enough that the student sometimes fails, easy enough that it sometimes succeeds.\n' +
      'End with the new parameters as JSON in a ```json block: {"params": {"name": integer, ...}}',
  },
  vars: (input) => ({
    family: input.family,
    description: input.description,
    params: formatParams(input.params),
    bounds: formatBounds(input.bounds),
    informativeness: String(Math.round(input.informativeness * 1000) / 1000),
  }),
  parse: parseProposal,
});
