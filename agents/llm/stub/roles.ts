import type { Rng } from '../../../src/core/index.ts';

/**
 * Model-like answers to the roles' default prompts, recognised by the output
 * format each prompt asks for, so environments run end to end against the
 * stub. Prompts in another format get null (the stub then says it found no
 * legal actions).
 */
type RoleReplier = (prompt: string, rng: Rng) => string;

const lastNumber = /-?\d+(?:\.\d+)?(?!.*\d)/s;

const critic: RoleReplier = (_prompt, rng) => `Let me check the step. ${rng.next() < 0.5 ? 'The arithmetic holds.\n<Answer>Correct</Answer>' : 'The arithmetic looks off.\n<Answer>Incorrect</Answer>'}`;

/** Rewrites the requested step by changing its last number by one or two. */
const sneakyGenerator: RoleReplier = (prompt, rng) => {
  const step = /Rewrite step (\d+)/.exec(prompt)?.[1];
  const line = step === undefined ? undefined : new RegExp(`^Step ${step}: (.*)$`, 'm').exec(prompt)?.[1];
  if (line === undefined) return 'I could not find the step to rewrite.';
  const rewritten = line.replace(lastNumber, (n) => String(Number(n) + (rng.next() < 0.5 ? 1 : 2)));
  return `<Step>${rewritten}</Step>\n<ErrorType>calculation</ErrorType>`;
};

/** Copies the requested step from the solution in the prompt. */
const helpfulProver: RoleReplier = (prompt) => {
  const step = /Write step (\d+) out/.exec(prompt)?.[1];
  const line = step === undefined ? undefined : new RegExp(`^Step ${step}: (.*)$`, 'm').exec(prompt)?.[1];
  return line === undefined ? 'I could not find the step to write.' : `Here it is.\n<Step>${line}</Step>`;
};

const teacher: RoleReplier = (prompt, rng) => {
  const count = Math.min(Number(/Write (\d+) new/.exec(prompt)?.[1] ?? 1), 8);
  return Array.from({ length: count }, () => {
    const a = rng.int(90) + 10;
    const b = rng.int(90) + 10;
    const answer = a + b + (rng.next() < 0.2 ? 1 : 0);
    return `<question>What is ${a} + ${b}?</question>\n<answer>${answer}</answer>`;
  }).join('\n');
};

/** A small JavaScript function; several inputs when the prompt asks for a list of argument lists. */
const proposer: RoleReplier = (prompt, rng) => {
  const k = rng.int(5) + 2;
  const c = rng.int(10);
  const program = `function f(x) {\n  return x * ${k} + ${c};\n}`;
  const input = /argument lists/.test(prompt) ? JSON.stringify([0, 1, 2, 3, 4, 5].map((x) => [x * 10 + rng.int(10)])) : JSON.stringify([rng.int(20)]);
  return `Here is a task.\n\`\`\`javascript\n${program}\n\`\`\`\n\`\`\`input\n${input}\n\`\`\``;
};

/** Steps one of the current parameters by one, within the allowed values when the prompt gives them. */
const creator: RoleReplier = (prompt, rng) => {
  let params: Record<string, number>;
  try {
    params = JSON.parse(/^Current parameters: (.*)$/m.exec(prompt)?.[1] ?? '');
  } catch {
    return 'I could not find the current parameters.';
  }
  const names = Object.keys(params);
  if (names.length === 0) return '```json\n{"params": {}}\n```';
  const name = rng.pick(names);
  const bounds = new RegExp(`${name} from (-?\\d+) to (-?\\d+)`).exec(prompt);
  const next = params[name] + (rng.next() < 0.5 ? -1 : 1);
  const clamped = bounds ? Math.min(Number(bounds[2]), Math.max(Number(bounds[1]), next)) : next;
  return `I will change ${name} a little.\n\`\`\`json\n${JSON.stringify({ params: { ...params, [name]: clamped } })}\n\`\`\``;
};

/** Weakens the seed's conclusion with a new antecedent: `A |- C` becomes `A |- s -> (C)`. */
const conjecturer: RoleReplier = (prompt, rng) => {
  const seed = /^Seed theorem: (.*)$/m.exec(prompt)?.[1];
  if (seed === undefined || !seed.includes('|-')) return 'I could not find the seed theorem.';
  const [premises, conclusion] = seed.split('|-');
  return `A weaker statement should hold.\n<conjecture>${premises.trim()}${premises.trim() ? ' ' : ''}|- ${rng.pick(['s', 'r', 'q'])} -> (${conclusion.trim()})</conjecture>`;
};

/** Writes the premises as steps, then claims the conclusion by modus ponens from the first two: right only when that is so. */
const prover: RoleReplier = (prompt) => {
  const statement = /^Prove: (.*)$/m.exec(prompt)?.[1];
  if (statement === undefined || !statement.includes('|-')) return 'I could not find the statement.';
  const [before, conclusion] = statement.split('|-');
  const premises = before.trim() ? before.split(',').map((p) => p.trim()) : [];
  const steps = premises.map((p, i) => `${i + 1}. ${p} [premise]`);
  if (!premises.includes(conclusion.trim())) steps.push(`${steps.length + 1}. ${conclusion.trim()} [MP 1, 2]`);
  return `<proof>\n${steps.join('\n')}\n</proof>`;
};

const solver: RoleReplier = (_prompt, rng) => `Let me think step by step. I estimate the answer.\n\\boxed{${rng.int(20)}}`;

/** Checked in order: the first role whose format the prompt asks for answers. */
const REPLIERS: readonly (readonly [RegExp, RoleReplier])[] = [
  [/<Answer>Correct<\/Answer> or <Answer>Incorrect<\/Answer>/, critic],
  [/<Step>.*<\/Step> and <ErrorType>/, sneakyGenerator],
  [/Answer with the step alone, as <Step>/, helpfulProver],
  [/<question>\.\.\.<\/question> followed by <answer>/, teacher],
  [/```input block/, proposer],
  [/```json block: \{"params"/, creator],
  [/<conjecture>p -> q, q -> r \|- p -> r<\/conjecture>/, conjecturer],
  [/Write the proof inside <proof>/, prover],
  [/\\boxed\{\}/, solver],
];

/** The stub's answer to a role prompt (the last user message), or null when no role's format is asked for. */
export function roleReply(prompt: string, rng: Rng): string | null {
  const match = REPLIERS.find(([pattern]) => pattern.test(prompt));
  return match ? match[1](prompt, rng) : null;
}
