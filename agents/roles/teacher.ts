import { ParseError, type QuestionAnswer, type TeacherInput, type TeacherOutput } from '../../src/core/index.ts';
import { defineRole } from './role.ts';
import { shown, tagTokens } from './text.ts';

const formatExamples = (examples: readonly QuestionAnswer[] = []) =>
  examples.length === 0 ? '' : `\nExamples:\n${examples.map((e) => `<question>${e.question}</question>\n<answer>${e.answer}</answer>`).join('\n')}\n`;

/** Reads `<question>...</question><answer>...</answer>` pairs, strictly in that order. */
function parsePairs(text: string): TeacherOutput {
  const pairs: QuestionAnswer[] = [];
  const expectedOrder = ['question', 'answer'];
  let open: { name: string; end: number } | undefined;
  let question: string | undefined;
  for (const token of tagTokens(text, expectedOrder)) {
    const wanted = expectedOrder[question === undefined ? 0 : 1];
    if (!open) {
      if (token.closing || token.name !== wanted) {
        throw new ParseError(`pair ${pairs.length + 1}: found <${token.closing ? '/' : ''}${token.name}> where <${wanted}> should start; expected <question>...</question> then <answer>...</answer>`);
      }
      open = { name: token.name, end: token.end };
      continue;
    }
    if (!token.closing || token.name !== open.name) {
      throw new ParseError(`pair ${pairs.length + 1}: <${open.name}> is not closed before <${token.closing ? '/' : ''}${token.name}>`);
    }
    const content = text.slice(open.end, token.start).trim();
    if (!content) throw new ParseError(`pair ${pairs.length + 1}: the ${open.name} is empty`);
    open = undefined;
    if (question === undefined) question = content;
    else {
      pairs.push({ question, answer: content });
      question = undefined;
    }
  }
  if (open) throw new ParseError(`pair ${pairs.length + 1}: <${open.name}> is never closed`);
  if (question !== undefined) throw new ParseError(`pair ${pairs.length + 1}: the question ${shown(question)} has no <answer>`);
  if (pairs.length === 0) throw new ParseError('no pairs: expected <question>...</question> followed by <answer>...</answer>');
  return { pairs };
}

/** Writes question/answer pairs for a student (SOAR's teacher). */
export const teacher = defineRole<TeacherInput, TeacherOutput, 'topic' | 'count' | 'examples'>({
  name: 'teacher',
  placeholders: ['topic', 'count', 'examples'],
  templates: {
    system: 'You are a teacher who writes practice problems.',
    user:
      'Write {count} new question/answer pairs about {topic} for a student to practise on. Each question must have one correct, checkable answer.\n' +
      '{examples}\nWrite each pair as <question>...</question> followed by <answer>...</answer>.',
  },
  vars: (input) => ({ topic: input.topic, count: String(input.count), examples: formatExamples(input.examples) }),
  parse: parsePairs,
});
