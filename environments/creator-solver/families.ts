import { between, fraction, mutateParams, offByOne, readInteger, withDigits, wrongDigit, type ParamSpec, type TaskFamily, type TaskParams } from './family.ts';

const exact = (answer: string, truth: string): number => {
  const n = readInteger(answer);
  return n !== null && n === Number(truth) ? 1 : 0;
};

const digitsOf = (n: number): number => String(Math.abs(n)).length;

const spec = (name: string, min: number, max: number, meaning: string): ParamSpec => ({ name, min, max, meaning });

/** Adds `terms` numbers of `digits` digits each. */
const sumSpecs = [spec('terms', 2, 10, 'how many numbers to add'), spec('digits', 1, 9, 'digits in each number')];
export const sum: TaskFamily = {
  name: 'sum',
  description: 'Add a list of whole numbers. Parameters: terms (how many numbers to add), digits (digits in each number).',
  params: sumSpecs,
  start: { terms: 4, digits: 3 },
  render: (params, rng) => {
    const numbers = Array.from({ length: params.terms }, () => withDigits(rng, params.digits));
    return { prompt: `What is ${numbers.join(' + ')}?`, truth: String(numbers.reduce((a, b) => a + b, 0)) };
  },
  score: exact,
  mutate: (params, rng) => mutateParams(sumSpecs, params, rng),
  difficulty: (params) => 0.5 * fraction(params, sumSpecs[0]) + 0.5 * fraction(params, sumSpecs[1]),
  solveFromText: (prompt) => {
    const m = /What is ([\d +]+)\?/.exec(prompt);
    if (!m) return null;
    const numbers = m[1].split('+').map((t) => t.trim());
    if (numbers.length < 2 || numbers.some((t) => !/^\d+$/.test(t))) return null;
    return {
      answer: String(numbers.reduce((a, t) => a + Number(t), 0)),
      params: { terms: numbers.length, digits: Math.max(...numbers.map((t) => t.length)) },
    };
  },
  corrupt: (answer, rng) => (rng.next() < 0.5 ? wrongDigit(answer, rng) : offByOne(answer, rng)),
};

/** The numbers of a list answer (`3, 5, 9`, `[3,5,9]`, `3 5 9`), or null when any item is not a whole number. */
export function readList(answer: string): number[] | null {
  const text = answer.trim().replace(/^\[/, '').replace(/\]$/, '').replace(/\.$/, '').trim();
  if (!text) return null;
  const items = text.split(/[,;\s]+/).filter((t) => t !== '');
  if (items.length === 0 || items.some((t) => !/^-?\d{1,16}$/.test(t))) return null;
  return items.map(Number);
}

/** Sorts `length` numbers of `digits` digits each. */
const sortSpecs = [spec('length', 2, 30, 'how many numbers to sort'), spec('digits', 1, 3, 'digits in each number')];
export const sort: TaskFamily = {
  name: 'sort',
  description: 'Sort a list of whole numbers in ascending order. Parameters: length (how many numbers), digits (digits in each number).',
  params: sortSpecs,
  start: { length: 8, digits: 2 },
  render: (params, rng) => {
    const numbers = Array.from({ length: params.length }, () => withDigits(rng, params.digits));
    const sorted = [...numbers].sort((a, b) => a - b);
    return {
      prompt: `Sort these numbers in ascending order: ${numbers.join(', ')}. Answer with the sorted numbers as a comma-separated list.`,
      truth: sorted.join(', '),
    };
  },
  /** The share of positions right, out of the longer of the answer and the truth. */
  score: (answer, truth) => {
    const got = readList(answer);
    const want = readList(truth);
    if (got === null || want === null) return 0;
    let right = 0;
    for (let i = 0; i < Math.min(got.length, want.length); i++) if (got[i] === want[i]) right++;
    return right / Math.max(got.length, want.length);
  },
  mutate: (params, rng) => mutateParams(sortSpecs, params, rng),
  difficulty: (params) => 0.75 * fraction(params, sortSpecs[0]) + 0.25 * fraction(params, sortSpecs[1]),
  solveFromText: (prompt) => {
    const m = /Sort these numbers in ascending order: ([\d, ]+)\./.exec(prompt);
    const numbers = m ? readList(m[1]) : null;
    if (numbers === null) return null;
    return {
      answer: [...numbers].sort((a, b) => a - b).join(', '),
      params: { length: numbers.length, digits: Math.max(...numbers.map(digitsOf)) },
    };
  },
  /** Swaps two neighbouring numbers. */
  corrupt: (answer, rng) => {
    const numbers = readList(answer);
    if (numbers === null || numbers.length < 2) return `${answer}, 0`;
    const i = rng.int(numbers.length - 1);
    [numbers[i], numbers[i + 1]] = [numbers[i + 1], numbers[i]];
    return numbers.join(', ');
  },
};

const LETTERS = 'abcdefghijklmnopqrstuvwxyz';

/** Counts a letter in a random string of `length` letters. */
const countSpecs = [spec('length', 5, 80, 'letters in the string')];
export const countLetter: TaskFamily = {
  name: 'count-letter',
  description: 'Count how many times a letter occurs in a string of random lowercase letters. Parameters: length (letters in the string).',
  params: countSpecs,
  start: { length: 20 },
  render: (params, rng) => {
    const letter = rng.pick([...LETTERS]);
    // A quarter of the letters are the one to count, so counts are not all 0 or 1.
    const text = Array.from({ length: params.length }, () => (rng.next() < 0.25 ? letter : rng.pick([...LETTERS]))).join('');
    const count = [...text].filter((c) => c === letter).length;
    return { prompt: `How many times does the letter "${letter}" appear in "${text}"?`, truth: String(count) };
  },
  score: exact,
  mutate: (params, rng) => mutateParams(countSpecs, params, rng),
  difficulty: (params) => fraction(params, countSpecs[0]),
  solveFromText: (prompt) => {
    const m = /the letter "([a-z])" appear in "([a-z]+)"/.exec(prompt);
    if (!m) return null;
    return { answer: String([...m[2]].filter((c) => c === m[1]).length), params: { length: m[2].length } };
  },
  corrupt: offByOne,
};

const gcdOf = (a: number, b: number): number => (b === 0 ? a : gcdOf(b, a % b));

/** The greatest common divisor of two numbers below 10^digits (the first has exactly `digits` digits), sharing a random factor. */
const gcdSpecs = [spec('digits', 1, 9, 'digits in the larger number')];
export const gcd: TaskFamily = {
  name: 'gcd',
  description: 'Find the greatest common divisor of two whole numbers. Parameters: digits (digits in the larger number).',
  params: gcdSpecs,
  start: { digits: 3 },
  render: (params, rng) => {
    const d = params.digits;
    const lo = d <= 1 ? 1 : 10 ** (d - 1);
    const hi = 10 ** d - 1;
    // A shared factor up to sqrt(hi), so the answer is seldom 1.
    const g = between(rng, 1, Math.max(1, Math.floor(Math.sqrt(hi))));
    const a = g * between(rng, Math.ceil(lo / g), Math.floor(hi / g));
    const b = g * between(rng, 1, Math.floor(hi / g));
    const [x, y] = rng.next() < 0.5 ? [a, b] : [b, a];
    return { prompt: `What is the greatest common divisor of ${x} and ${y}?`, truth: String(gcdOf(x, y)) };
  },
  score: exact,
  mutate: (params, rng) => mutateParams(gcdSpecs, params, rng),
  difficulty: (params) => fraction(params, gcdSpecs[0]),
  solveFromText: (prompt) => {
    const m = /greatest common divisor of (\d+) and (\d+)\?/.exec(prompt);
    if (!m) return null;
    const [x, y] = [Number(m[1]), Number(m[2])];
    return { answer: String(gcdOf(x, y)), params: { digits: Math.max(digitsOf(x), digitsOf(y)) } };
  },
  corrupt: (answer, rng) => (rng.next() < 0.5 ? offByOne(answer, rng) : wrongDigit(answer, rng)),
};

/** The task families by name. */
export const FAMILIES: Readonly<Record<string, TaskFamily>> = { sum, sort, 'count-letter': countLetter, gcd };

/** The family that rendered a prompt, its true answer and its parameters, or null. */
export function solveFromText(prompt: string): { family: TaskFamily; answer: string; params: TaskParams } | null {
  for (const family of Object.values(FAMILIES)) {
    const solved = family.solveFromText(prompt);
    if (solved) return { family, ...solved };
  }
  return null;
}
