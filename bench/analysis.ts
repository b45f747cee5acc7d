import type { Game } from '../src/core/index.ts';
import { bestAction, cfr, CfrSolver, compile, evaluatePolicy, expectedReturns, MccfrSolver, minimax, uniformPolicy } from '../src/analysis/index.ts';
import { connectFour, kuhnPoker, leducPoker, ticTacToe } from '../games/index.ts';
import { median, rate, table } from './measure.ts';

/** Median milliseconds of `run` over `rounds` rounds of `repeat` calls each, after one warm-up round. */
function milliseconds(run: () => void, repeat: number, rounds = 7): number {
  const times: number[] = [];
  for (let round = -1; round < rounds; round++) {
    const start = performance.now();
    for (let i = 0; i < repeat; i++) run();
    if (round >= 0) times.push((performance.now() - start) / repeat);
  }
  return median(times);
}

/** Timings of the game-theory toolkit on Kuhn, Leduc, tic-tac-toe and connect-four. */
export function benchAnalysis(): string {
  const rows: { task: string; ms: number; target: string; result: string }[] = [];

  const compileMs = milliseconds(() => compile(leducPoker()), 1, 3);
  const leduc = leducPoker();
  const tree = compile(leduc);
  rows.push({ task: 'compile Leduc', ms: compileMs, target: '', result: `${tree.nodeCount} nodes, ${tree.infosetCount} infosets` });

  const uniform = uniformPolicy(leduc);
  rows.push({ task: 'expected returns, Leduc uniform', ms: milliseconds(() => expectedReturns(leduc, uniform), 100), target: '', result: '' });
  const evaluation = evaluatePolicy(leduc, uniform);
  rows.push({
    task: 'best responses + NashConv, Leduc uniform',
    ms: milliseconds(() => evaluatePolicy(leduc, uniform), 100),
    target: '< 2',
    result: `NashConv ${evaluation.nashConv}`,
  });

  const solver = new CfrSolver(leduc, { plus: true });
  rows.push({ task: 'one CFR+ iteration, Leduc', ms: milliseconds(() => solver.iterate(), 50), target: '< 1', result: '' });

  let solved = { iterations: 0, nashConv: 0 };
  const solveMs = milliseconds(() => {
    const result = cfr(leducPoker(), { iterations: 2000, plus: true, evaluateEvery: 10, targetExploitability: 0.005 });
    solved = { iterations: result.iterations, nashConv: result.evaluation.nashConv };
  }, 1, 3);
  rows.push({
    task: 'CFR+ Leduc to NashConv < 0.01, with compile',
    ms: solveMs,
    target: '< 1000',
    result: `${solved.iterations} iterations, NashConv ${solved.nashConv.toPrecision(3)}`,
  });

  let kuhnExploitability = 0;
  const kuhnMs = milliseconds(() => {
    kuhnExploitability = cfr(kuhnPoker(), { iterations: 200, plus: true }).evaluation.exploitability;
  }, 1, 5);
  rows.push({ task: 'CFR+ Kuhn, 200 iterations, with compile', ms: kuhnMs, target: '', result: `exploitability ${kuhnExploitability.toPrecision(3)}` });

  for (const [name, game] of [['Kuhn', kuhnPoker()], ['Leduc', leducPoker()]] as [string, Game][]) {
    const mccfr = new MccfrSolver(game, { seed: 1 });
    const perSecond = rate((n) => mccfr.iterate(n), 100, 0.5);
    rows.push({ task: `external-sampling MCCFR iteration, ${name}`, ms: 1000 / perSecond, target: '', result: `${Math.round(perSecond)} iterations/s` });
  }

  let solvedTicTacToe = { value: 0, states: 0 };
  const ticTacToeMs = milliseconds(() => {
    const result = minimax(ticTacToe());
    solvedTicTacToe = { value: result.values[0], states: result.states };
  }, 1, 3);
  rows.push({ task: 'alpha-beta solve, tic-tac-toe', ms: ticTacToeMs, target: '', result: `value ${solvedTicTacToe.value}, ${solvedTicTacToe.states} states` });

  const c4 = connectFour();
  const centre = (state: ReturnType<typeof c4.initial>) => {
    let score = 0;
    c4.history(state).forEach((column, ply) => (score += (ply % 2 === 0 ? 1 : -1) * (3 - Math.abs(column - 3))));
    return [score, -score];
  };
  let searched = { action: 0, states: 0 };
  const c4Ms = milliseconds(() => {
    const result = bestAction(c4, c4.initial(), { depth: 6, evaluate: centre });
    searched = { action: result.action, states: result.states };
  }, 1, 3);
  rows.push({ task: 'depth-6 alpha-beta, connect-four opening', ms: c4Ms, target: '', result: `column ${searched.action}, ${searched.states} states` });

  return table(rows);
}
