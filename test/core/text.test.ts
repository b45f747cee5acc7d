import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { candidateText, extractAnswer, normalizeActionText } from '../../src/core/index.ts';

describe('extractAnswer', () => {
  it.each([
    ['I bet. \\boxed{bet}', 'bet'],
    ['[check] no wait [bet]', '[bet]'],
    ['\\boxed{[4]}', '[4]'],
    ['first \\boxed{1} then \\boxed{2}', '2'],
    ['\\boxed{x} and later [y]', '[y]'],
    ['[y] and later \\boxed{x}', 'x'],
    ['\\boxed{\\frac{1}{2}}', '\\frac{1}{2}'],
    ['nested [a [b] c', '[b]'],
    ['  \\boxed{  spaced  } ', 'spaced'],
  ])('%s -> %s', (text, expected) => {
    expect(extractAnswer(text)).toBe(expected);
  });

  it('returns null without a marker, and candidateText falls back to the whole text', () => {
    expect(extractAnswer('just bet')).toBeNull();
    expect(extractAnswer('\\boxed{unclosed')).toBeNull();
    expect(candidateText('just bet')).toBe('just bet');
  });

  it('never throws and returns text found in the input', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (text) => {
        const answer = extractAnswer(text);
        if (answer !== null) expect(text.includes(answer)).toBe(true);
      }),
    );
  });

  it('handles long adversarial inputs in linear time (a million unclosed markers)', () => {
    const hostile = '\\boxed{'.repeat(200_000) + '['.repeat(500_000) + ']';
    expect(extractAnswer(hostile)).toBe('[]');
  });
});

describe('normalizeActionText', () => {
  it('ignores case, brackets and repeated whitespace', () => {
    expect(normalizeActionText('[Offer:  3 Wood ->   2 Gold]')).toBe('offer: 3 wood -> 2 gold');
    expect(normalizeActionText('  BET ')).toBe('bet');
  });
});
