import { checkProof } from '../environments/stp/index.ts';
import { median, rate, table } from './measure.ts';

/** A 20-step proof: a chain of nine implications walked by modus ponens, then an A1 instance. */
function chainProof(): { goal: string; proof: string } {
  const v = (i: number) => `(p${i} -> ~q${i})`;
  const premises = [v(0), ...Array.from({ length: 9 }, (_, i) => `${v(i)} -> ${v(i + 1)}`)];
  const steps = [`1. ${v(0)} [premise]`];
  let previous = 1;
  for (let i = 1; i <= 9; i++) {
    const link = steps.length + 1;
    steps.push(`${link}. ${v(i - 1)} -> ${v(i)} [premise]`, `${link + 1}. ${v(i)} [MP ${previous}, ${link}]`);
    previous = link + 1;
  }
  const last = `${v(9)} -> (${v(0)} -> ${v(9)})`;
  steps.push(`${steps.length + 1}. ${last} [A1]`);
  return { goal: `${premises.join(', ')} |- ${last}`, proof: steps.join('\n') };
}

/** Hostile proofs of about 1 MB, each within the size limit but the last: what each costs the checker to reject. */
function hostile(): Record<string, string> {
  const big = `(${'p -> '.repeat(47)}p)`;
  return {
    'one line of 1 MB': `1. ${'('.repeat(999_000)}p [A1]`,
    '2,000 valid 500-character A1 steps, the last not the conclusion': Array.from({ length: 2_000 }, (_, i) => `${i + 1}. ${big} -> (q -> ${big}) [A1]`).join('\n'),
    '1 MB of prose, no steps': 'The proof is obvious.\n'.repeat(45_000),
    'one character over the size limit': 'x'.repeat(1_000_001),
  };
}

export async function benchStp(): Promise<string> {
  const { goal, proof } = chainProof();
  const checked = checkProof(goal, proof);
  if (!checked.ok || checked.steps !== 20) throw new Error(`the benchmark's proof does not check: ${JSON.stringify(checked)}`);
  const rows: Record<string, string | number>[] = [];
  const perSecond = rate((n) => {
    for (let i = 0; i < n; i++) checkProof(goal, proof);
  }, 200);
  rows.push({ measure: `check a 20-step proof (${proof.length} characters)`, value: Math.round(perSecond), unit: 'checks/s', target: '>= 10,000' });
  for (const [name, text] of Object.entries(hostile())) {
    const times: number[] = [];
    let reason = '';
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      const result = checkProof('p |- p', text, { timeBudgetMs: 1_000 });
      times.push(performance.now() - started);
      reason = result.ok ? 'accepted' : result.reason;
    }
    rows.push({ measure: `reject: ${name} (${(text.length / 1e6).toFixed(2)} MB)`, value: median(times).toFixed(1), unit: `ms: ${reason.slice(0, 50)}`, target: '< 100 ms' });
  }
  return table(rows);
}
