import type { Rng } from '../../src/core/index.ts';
import { Formulas, parseSequent } from './logic.ts';

export interface SearchOptions {
  /** Chance that each axiom instance is considered: below 1, an attempt sees only part of the space (default 1). */
  readonly keep?: number;
  /** Rounds of modus ponens (default 4). */
  readonly rounds?: number;
  /** The most formulas the search may hold (default 20,000). */
  readonly maxFormulas?: number;
  /** The most subformulas axiom instances are built from (default 10, the smallest first). */
  readonly maxTerms?: number;
}

type Origin = { readonly rule: 'A1' | 'A2' | 'A3' | 'premise' } | { readonly rule: 'MP'; readonly minor: number; readonly major: number };

/**
 * A bounded forward search for a Hilbert proof of a sequent (the scripted
 * prover): axiom instances built from the sequent's subformulas, each kept
 * with probability `keep`, then rounds of modus ponens until the conclusion
 * appears. Returns the proof in the checker's format, or null. Short proofs
 * from few axiom instances are found often; longer ones rarely, so its
 * success rate falls with a conjecture's difficulty.
 */
export function searchProof(goal: string, rng: Rng, options: SearchOptions = {}): string | null {
  const keep = options.keep ?? 1;
  const rounds = options.rounds ?? 4;
  const maxFormulas = options.maxFormulas ?? 20_000;
  const t = new Formulas();
  const sequent = parseSequent(t, goal);
  const origin = new Map<number, Origin>();
  const add = (f: number, how: Origin) => {
    if (!origin.has(f) && origin.size < maxFormulas) origin.set(f, how);
  };
  for (const p of sequent.premises) add(p, { rule: 'premise' });
  const terms = [...new Set([...sequent.premises, sequent.conclusion].flatMap((f) => t.subformulas(f)))]
    .sort((a, b) => t.depth(a) - t.depth(b) || a - b)
    .slice(0, options.maxTerms ?? 10);
  const kept = () => keep >= 1 || rng.next() < keep;
  for (const a of terms) {
    for (const b of terms) {
      if (kept()) add(t.imp(a, t.imp(b, a)), { rule: 'A1' });
      if (kept()) add(t.imp(t.imp(t.not(a), t.not(b)), t.imp(b, a)), { rule: 'A3' });
      for (const c of terms) {
        if (kept()) add(t.imp(t.imp(a, t.imp(b, c)), t.imp(t.imp(a, b), t.imp(a, c))), { rule: 'A2' });
      }
    }
  }
  for (let round = 0; round < rounds && !origin.has(sequent.conclusion); round++) {
    const known = [...origin.keys()];
    for (const f of known) {
      if (t.isImp(f) && origin.has(t.left(f))) add(t.right(f), { rule: 'MP', minor: t.left(f), major: f });
    }
  }
  return origin.has(sequent.conclusion) ? writeProof(t, origin, sequent.conclusion) : null;
}

/** The steps that derive `goal`, each after what it cites, numbered and justified. */
function writeProof(t: Formulas, origin: ReadonlyMap<number, Origin>, goal: number): string {
  const number = new Map<number, number>();
  const lines: string[] = [];
  const stack: [number, boolean][] = [[goal, false]];
  while (stack.length) {
    const [f, ready] = stack.pop()!;
    if (number.has(f)) continue;
    const how = origin.get(f)!;
    if (how.rule === 'MP' && !ready) {
      stack.push([f, true], [how.major, false], [how.minor, false]);
      continue;
    }
    number.set(f, lines.length + 1);
    const rule = how.rule === 'MP' ? `MP ${number.get(how.minor)}, ${number.get(how.major)}` : how.rule;
    lines.push(`${lines.length + 1}. ${t.show(f)} [${rule}]`);
  }
  return lines.join('\n');
}
