import { ParseError, type ProgramExample, type ProposerInput, type ProposerOutput } from '../../src/core/index.ts';
import { defineRole } from './role.ts';
import { codeBlocks } from './text.ts';

const formatExamples = (language: string, examples: readonly ProgramExample[] = []) =>
  examples.length === 0
    ? ''
    : `\nEarlier tasks (propose something different):\n${examples
        .map((e) => `\`\`\`${language}\n${e.program}\n\`\`\`\n\`\`\`input\n${e.input}\n\`\`\`${e.output === undefined ? '' : `\n\`\`\`output\n${e.output}\n\`\`\``}`)
        .join('\n')}\n`;

/** Reads the last program block and the last ```input block. */
function parseTask(text: string): ProposerOutput {
  const blocks = codeBlocks(text);
  const program = blocks.filter((b) => b.language !== 'input' && b.language !== 'output').pop();
  const input = blocks.filter((b) => b.language === 'input').pop();
  if (!program) throw new ParseError('no program: expected a fenced code block such as ```python ... ```');
  if (!program.body.trim()) throw new ParseError('the program block is empty');
  if (!input) throw new ParseError('no input: expected a block ```input ... ``` after the program');
  if (!input.body.trim()) throw new ParseError('the input block is empty');
  return { program: program.body.trim(), input: input.body.trim(), language: program.language };
}

/** Proposes a program and an input whose output is hard but possible to reason out (Absolute Zero's proposer). */
export const proposer = defineRole<ProposerInput, ProposerOutput, 'language' | 'examples' | 'instructions'>({
  name: 'proposer',
  placeholders: ['language', 'examples', 'instructions'],
  templates: {
    user:
      'Propose a new {language} program that defines a function f, and an input for it, such that working out f(input) is hard but possible by careful reasoning. ' +
      'The program must be deterministic, self-contained and do no input or output.\n{examples}\n{instructions}' +
      'Write the program in a ```{language} block, then the input (the arguments of f) in an ```input block.',
  },
  vars: (input) => {
    const language = input.language ?? 'python';
    return { language, examples: formatExamples(language, input.examples), instructions: input.instructions ? `${input.instructions}\n` : '' };
  },
  parse: parseTask,
});
