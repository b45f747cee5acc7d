import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { LlmClient } from '../../agents/llm/llm-client.ts';
import { resolveLlmOptions } from '../../agents/llm/options.ts';
import { startLlmStub, type LlmStub } from '../../agents/llm/stub/server.ts';
import { ask, critic, modelResponder, proposer, roles, sneakyGenerator, solver, teacher, type Role } from '../../agents/roles/index.ts';
import { ConfigError, ParseError } from '../../src/core/index.ts';

/** The parsed value, or the ParseError it threw; anything else thrown fails the test. */
function parsed<O>(role: Role<unknown, O>, text: string): O | ParseError {
  try {
    return role.parse(text);
  } catch (error) {
    if (error instanceof ParseError) return error;
    throw error;
  }
}

const errorOf = (role: Role<any, unknown>, text: string) => {
  const result = parsed(role, text);
  expect(result).toBeInstanceOf(ParseError);
  return (result as ParseError).message;
};

describe('solver', () => {
  const role = solver();
  it('prompts with the question and reads the last boxed answer', () => {
    expect(role.prompt({ question: 'What is 6 x 7?' })).toEqual([{ role: 'user', content: 'What is 6 x 7?\n\nPlease reason step by step, and put your final answer within \\boxed{}.' }]);
    expect(role.parse('First \\boxed{41}, no: 6 x 7 = \\boxed{42}')).toEqual({ answer: '42' });
    expect(role.parse('\\boxed{\\frac{1}{2}}')).toEqual({ answer: '\\frac{1}{2}' });
  });
  it('says when there is no answer or it is empty', () => {
    expect(errorOf(role, 'I think it is 42')).toBe('no final answer: expected it within \\boxed{...} at the end');
    expect(errorOf(role, 'so \\boxed{ }')).toMatch(/final answer is empty/);
  });
});

describe('critic', () => {
  const role = critic();
  const input = { problem: 'Compute 2 + 2 * 3.', steps: ['2 * 3 = 6', '2 + 6 = 9'] };
  it('prompts with the numbered steps and the step to judge', () => {
    const [system, user] = role.prompt(input);
    expect(system.role).toBe('system');
    expect(user.content).toContain('Step 1: 2 * 3 = 6\nStep 2: 2 + 6 = 9');
    expect(user.content).toContain('Is step 2 correct?');
    expect(role.prompt({ ...input, step: 1 })[1].content).toContain('Is step 1 correct?');
    expect(() => role.prompt({ ...input, step: 3 })).toThrow(/step 3 is not one of the 2 steps/);
  });
  it('reads the last <Answer> tag, in any case', () => {
    expect(role.parse('Step 2 adds wrongly.\n<Answer>Incorrect</Answer>')).toEqual({ verdict: 'incorrect' });
    expect(role.parse('<answer> correct. </ANSWER>')).toEqual({ verdict: 'correct' });
    expect(role.parse('<Answer>Correct</Answer> wait, no: <Answer>Incorrect</Answer>')).toEqual({ verdict: 'incorrect' });
  });
  it('rejects missing, unclosed and undecided verdicts', () => {
    expect(errorOf(role, 'It is Correct')).toBe('no verdict: expected <Answer>Correct</Answer> or <Answer>Incorrect</Answer>');
    expect(errorOf(role, '<Answer>Correct')).toMatch(/no verdict/);
    expect(errorOf(role, '</Answer>Correct<Answer>')).toMatch(/no verdict/);
    expect(errorOf(role, '<Answer>Correct or Incorrect</Answer>')).toBe('the verdict "Correct or Incorrect" is neither Correct nor Incorrect');
    expect(errorOf(role, '<Answer><Answer>Correct</Answer></Answer>')).toMatch(/neither Correct nor Incorrect/);
  });
});

describe('teacher', () => {
  const role = teacher();
  it('prompts with the topic, the count and any examples', () => {
    const user = role.prompt({ topic: 'fractions', count: 2, examples: [{ question: '1/2 + 1/4?', answer: '3/4' }] })[1].content;
    expect(user).toMatch(/^Write 2 new question\/answer pairs about fractions/);
    expect(user).toContain('<question>1/2 + 1/4?</question>\n<answer>3/4</answer>');
  });
  it('reads pairs in order, with text around them', () => {
    expect(role.parse('Here:\n<question> 1+1? </question>\n<answer>2</answer>\nand <Question>2+2?</Question><Answer>4</Answer> done')).toEqual({
      pairs: [{ question: '1+1?', answer: '2' }, { question: '2+2?', answer: '4' }],
    });
  });
  it('rejects pairs out of order, unclosed, empty or missing', () => {
    expect(errorOf(role, 'no pairs at all')).toMatch(/^no pairs/);
    expect(errorOf(role, '<answer>2</answer>')).toBe('pair 1: found <answer> where <question> should start; expected <question>...</question> then <answer>...</answer>');
    expect(errorOf(role, '<question>1+1?</question>')).toBe('pair 1: the question "1+1?" has no <answer>');
    expect(errorOf(role, '<question>a</question><answer>b</answer><question>c')).toBe('pair 2: <question> is never closed');
    expect(errorOf(role, '<question>a<answer>b</answer></question>')).toBe('pair 1: <question> is not closed before <answer>');
    expect(errorOf(role, '<question> </question><answer>b</answer>')).toBe('pair 1: the question is empty');
  });
});

describe('proposer', () => {
  const role = proposer();
  it('prompts for a program and an input in the language asked', () => {
    const user = role.prompt({ language: 'javascript', examples: [{ program: 'function f(x) { return x }', input: '1', output: '1' }] })[0].content;
    expect(user).toContain('```javascript block');
    expect(user).toContain('```javascript\nfunction f(x) { return x }\n```\n```input\n1\n```\n```output\n1\n```');
    expect(role.prompt({})[0].content).toContain('Propose a new python program');
  });
  it('reads the last program block and the last input block', () => {
    const text = 'Draft:\n```python\ndef f(x): return x\n```\nBetter:\n```python\ndef f(x):\n    return x * 2\n```\n```input\n21\n```';
    expect(role.parse(text)).toEqual({ program: 'def f(x):\n    return x * 2', input: '21', language: 'python' });
    expect(role.parse('```\ndef f(): pass\n```\n```input\n()\n')).toEqual({ program: 'def f(): pass', input: '()', language: '' });
  });
  it('says which part is missing or empty', () => {
    expect(errorOf(role, 'def f(x): return x')).toMatch(/^no program/);
    expect(errorOf(role, '```python\ndef f(x): return x\n```')).toMatch(/^no input/);
    expect(errorOf(role, '```python\n\n```\n```input\n1\n```')).toBe('the program block is empty');
    expect(errorOf(role, '```python\nx\n```\n```input\n   \n```')).toBe('the input block is empty');
  });
});

describe('sneaky generator', () => {
  const role = sneakyGenerator();
  it('prompts with the solution and the step to rewrite', () => {
    const user = role.prompt({ problem: 'P', steps: ['a', 'b'], step: 1 })[0].content;
    expect(user).toContain('Step 1: a\nStep 2: b');
    expect(user).toContain('Rewrite step 1');
    expect(() => role.prompt({ problem: 'P', steps: ['a'], step: 0 })).toThrow(RangeError);
  });
  it('reads the rewritten step and the error it claims', () => {
    expect(role.parse('<Step>2 * 3 = 5</Step>\n<ErrorType>calculation</ErrorType>')).toEqual({ step: '2 * 3 = 5', errorType: 'calculation' });
    expect(role.parse('<errortype> sign </errortype> <step>x = -2</step>')).toEqual({ step: 'x = -2', errorType: 'sign' });
  });
  it('rejects a missing or empty step or error type, and an essay for an error type', () => {
    expect(errorOf(role, '<ErrorType>logic</ErrorType>')).toBe('no rewritten step: expected <Step>...</Step>');
    expect(errorOf(role, '<Step>x</Step>')).toBe('no error type: expected <ErrorType>...</ErrorType>');
    expect(errorOf(role, '<Step> </Step><ErrorType>logic</ErrorType>')).toBe('the rewritten step is empty');
    expect(errorOf(role, `<Step>x</Step><ErrorType>${'very '.repeat(60)}</ErrorType>`)).toMatch(/longer than 200 characters/);
  });
});

describe('every role parser', () => {
  const all = Object.values(roles).map((make) => make() as Role<unknown, unknown>);
  const fragments = fc.constantFrom('<Answer>', '</Answer>', '<answer>', 'Correct', 'Incorrect', '<question>', '</question>', '</answer>', '<Step>', '</Step>', '<ErrorType>', '</ErrorType>', '```', '```python\n', '```input\n', '\\boxed{', '}', '{', '[', ']', '\n', ' ', 'x');
  const markup = fc.array(fc.oneof(fragments, fc.string({ maxLength: 5 })), { maxLength: 40 }).map((parts) => parts.join(''));

  it('gives a typed result or a ParseError for any text, never anything else', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'grapheme' }), markup), (text) => {
        for (const role of all) {
          const result = parsed(role, text);
          if (!(result instanceof ParseError)) expect(typeof result).toBe('object');
        }
      }),
      { numRuns: 500 },
    );
  });

  it('stays linear on long adversarial input', () => {
    const hostile = ['<Answer>'.repeat(30_000), '<question>'.repeat(30_000), '```'.repeat(60_000), '\\boxed{'.repeat(30_000), `<Step>${' '.repeat(100_000)}`];
    const started = performance.now();
    for (const text of hostile) for (const role of all) parsed(role, text);
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});

describe('template overrides', () => {
  it('replace a role\'s prompt and are checked when the role is made', () => {
    const terse = critic({ system: undefined, user: 'Judge: {step_text}\n<Answer>Correct</Answer> or <Answer>Incorrect</Answer>?' });
    expect(terse.prompt({ problem: 'p', steps: ['a', 'b'] })).toEqual([{ role: 'user', content: 'Judge: b\n<Answer>Correct</Answer> or <Answer>Incorrect</Answer>?' }]);
    expect(() => solver({ user: '{problem}' })).toThrow(new ConfigError('solver user prompt: unknown placeholder {problem}; it may use {question}'));
  });
});

describe('filling a role', () => {
  const stubs: LlmStub[] = [];
  const clients: LlmClient[] = [];
  afterAll(async () => {
    for (const client of clients) client.close();
    await Promise.all(stubs.map((s) => s.close()));
  });

  it('a scripted function stands in for a model', async () => {
    const answer = await ask(critic(), (messages) => (messages.at(-1)!.content.includes('Step 2') ? '<Answer>Incorrect</Answer>' : '<Answer>Correct</Answer>'), { problem: 'p', steps: ['a', 'b'] });
    expect(answer).toMatchObject({ ok: true, value: { verdict: 'incorrect' }, text: '<Answer>Incorrect</Answer>' });
    const bad = await ask(solver(), async () => ({ text: 'no idea', meta: { scripted: true } }), { question: 'q' });
    expect(bad).toMatchObject({ ok: false, text: 'no idea', meta: { scripted: true } });
    expect(!bad.ok && bad.error).toBeInstanceOf(ParseError);
  });

  it('a model fills it through the client, with the call recorded', async () => {
    const stub = await startLlmStub({ policy: 'first' });
    stubs.push(stub);
    const client = new LlmClient(resolveLlmOptions({ model: 'stub', baseURL: stub.url }, {}));
    clients.push(client);
    // The stub answers with the first action it finds listed, so a prompt that lists answers gets one back.
    const multipleChoice = solver({ user: '{question}\nValid actions: [42], [41]\nAnswer within \\boxed{}.' });
    const answer = await ask(multipleChoice, modelResponder(client), { question: 'What is 6 x 7?' });
    expect(answer).toMatchObject({ ok: true, value: { answer: '42' } });
    expect(answer.meta).toMatchObject({ model: 'stub', attempts: 1, messages: answer.messages });
    expect((answer.meta as { completionTokenIds: number[] }).completionTokenIds.length).toBeGreaterThan(3);
  });
});
