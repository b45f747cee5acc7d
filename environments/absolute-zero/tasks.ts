import type { JsonValue } from './executor.ts';

/** Absolute Zero's three task types: predict the output, find an input, write the function. */
export const TASK_TYPES = ['deduction', 'abduction', 'induction'] as const;
export type TaskType = (typeof TASK_TYPES)[number];

/** A validated task: a program `f`, argument lists and what f returns for each. */
export interface Task {
  readonly type: TaskType;
  readonly program: string;
  /** One argument list per input; deduction and abduction have one, induction several. */
  readonly inputs: readonly (readonly JsonValue[])[];
  readonly outputs: readonly JsonValue[];
}

/** The buffers start from the identity function, as in Absolute Zero. */
export function seedTask(type: TaskType): Task {
  const program = 'function f(x) {\n  return x;\n}';
  if (type !== 'induction') return { type, program, inputs: [['Hello World']], outputs: ['Hello World'] };
  const inputs = [[1], [2], ['a'], [[3, 4]]];
  return { type, program, inputs, outputs: inputs.map((args) => args[0]) };
}

/** Induction tasks show the first half of the pairs and judge on the rest. */
export const shownPairs = (task: Task): number => Math.ceil(task.inputs.length / 2);

/** JSON text with object keys sorted: equal values give equal text. */
export function canonicalJson(value: JsonValue): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

export const sameValue = (a: JsonValue, b: JsonValue): boolean => canonicalJson(a) === canonicalJson(b);

/** What the proposer is asked for, per task type. */
export const PROPOSER_INSTRUCTIONS: Readonly<Record<TaskType, string>> = {
  deduction: 'Task type: deduction (the solver will be shown the program and the input, and must predict the output). The ```input block holds the JSON array of the arguments of f.',
  abduction: 'Task type: abduction (the solver will be shown the program and the output, and must find an input that produces it). The ```input block holds the JSON array of the arguments of f.',
  induction:
    'Task type: induction (the solver will be shown some input/output pairs and must write f; it is judged on the other pairs). The ```input block holds a JSON array of 4 to 10 argument lists, e.g. [[1], [2], [5]].',
};

const fence = (program: string) => `\`\`\`javascript\n${program}\n\`\`\``;
const args = (input: readonly JsonValue[]) => input.map((a) => JSON.stringify(a)).join(', ');

/** The solver's question for a task. */
export function question(task: Task): string {
  switch (task.type) {
    case 'deduction':
      return `Here is a JavaScript function:\n${fence(task.program)}\nWhat does f(${args(task.inputs[0])}) return? Give the value as JSON.`;
    case 'abduction':
      return `Here is a JavaScript function:\n${fence(task.program)}\nFind arguments for which f returns ${JSON.stringify(task.outputs[0])}. Give them as a JSON array of the arguments, e.g. [3] or ["a", 2].`;
    case 'induction': {
      const pairs = task.inputs
        .slice(0, shownPairs(task))
        .map((input, i) => `f(${args(input)}) = ${JSON.stringify(task.outputs[i])}`)
        .join('\n');
      return `An unknown JavaScript function f gives:\n${pairs}\nWrite f. Give the whole program (function f(...) { ... }) as your answer.`;
    }
  }
}
