/**
 * ReST-MCTS*'s search over reasoning steps (Zhang et al., 2024), as a state
 * machine that is fed the policy's steps one at a time: each iteration selects
 * a partial solution by UCT, asks the policy for one more step there
 * (widening by sampling: a node is fully expanded after `branch` samples,
 * equal steps merging into one child), then rolls out with the policy from the
 * new step to a final answer, whose verified correctness is the value backed
 * up. What the search leaves behind are its traces, the best correct one, and
 * a value target for every partial solution they pass through, inferred from
 * how they ended.
 */

export interface SearchOptions {
  /** Iterations: each one expansion and one rollout. */
  readonly iterations: number;
  /** Samples of a next step at a node before it counts as fully expanded. */
  readonly branch: number;
  /** UCT's exploration constant. */
  readonly exploration: number;
  /** The longest trace: one that reaches it without an answer is wrong. */
  readonly maxDepth: number;
}

/** A step as the search sees it: its text, or no readable step (a malformed reply, which ends its trace as wrong). */
export type SearchStep = { readonly text: string } | { readonly malformed: string };

export interface StepNode {
  /** The step's text (empty at the root). */
  readonly text: string;
  readonly parent: StepNode | null;
  /** Steps from the root: 0 for the root, k for the partial solution of k steps. */
  readonly depth: number;
  /** The turn (0-based index of the reply) that first proposed this step. */
  readonly turn: number;
  readonly children: StepNode[];
  /** Whether the step ends its trace: a final answer, or the depth limit. */
  readonly terminal: boolean;
  samples: number;
  visits: number;
  /** Sum of the rewards of the traces through it. */
  total: number;
}

/** A finished trace: its tree steps, its rollout steps, the turns that wrote each, and whether its final answer was right. */
export interface Trace {
  readonly steps: readonly string[];
  readonly turns: readonly number[];
  readonly correct: boolean;
  readonly iteration: number;
}

export interface ValueTarget {
  /** The partial solution. */
  readonly steps: readonly string[];
  /** ReST-MCTS*'s inferred quality value v_k. */
  readonly value: number;
  readonly visits: number;
  /** The mean reward of the traces through it (the Monte Carlo estimate). */
  readonly meanReward: number;
  /** The reasoning distance m_k: steps from here (this one included) to the nearest correct answer found, or null. */
  readonly toCorrect: number | null;
}

interface Pending {
  /** Selected tree nodes from the root; the last is where the next step goes. */
  readonly path: StepNode[];
  /** Rollout steps after the path's last node, with the turns that wrote them; absent while expanding. */
  readonly rollout?: { steps: string[]; turns: number[] };
}

export class StepSearch {
  readonly root: StepNode;
  readonly traces: Trace[] = [];
  iteration = 0;
  turns = 0;
  malformed = 0;
  private pending: Pending | null = null;

  constructor(
    readonly options: SearchOptions,
    /** Whether a step is a final answer. */
    private readonly isFinal: (step: string) => boolean,
    /** Whether a finished trace's final answer is right. */
    private readonly isCorrect: (steps: readonly string[]) => boolean,
  ) {
    this.root = node('', null, -1, false);
    this.advance();
  }

  /** The partial solution the policy is asked to extend next, or null when the search is over. */
  query(): readonly string[] | null {
    if (!this.pending) return null;
    return [...stepsTo(this.pending.path.at(-1)!), ...(this.pending.rollout?.steps ?? [])];
  }

  get done(): boolean {
    return this.pending === null;
  }

  /** The policy's next step for `query()`. */
  receive(step: SearchStep): void {
    const pending = this.pending;
    if (!pending) throw new RangeError('the search is over: it takes no more steps');
    const turn = this.turns++;
    const at = pending.path.at(-1)!;
    if ('malformed' in step) {
      this.malformed++;
      if (!pending.rollout) at.samples++;
      return this.finish(pending.path, pending.rollout ?? { steps: [], turns: [] }, false);
    }
    if (!pending.rollout) {
      at.samples++;
      let child = at.children.find((c) => c.text === step.text);
      if (!child) {
        child = node(step.text, at, turn, this.isFinal(step.text) || at.depth + 1 >= this.options.maxDepth);
        at.children.push(child);
      }
      const path = [...pending.path, child];
      if (child.terminal) return this.finish(path, { steps: [], turns: [] });
      this.pending = { path, rollout: { steps: [], turns: [] } };
      return;
    }
    pending.rollout.steps.push(step.text);
    pending.rollout.turns.push(turn);
    if (this.isFinal(step.text) || at.depth + pending.rollout.steps.length >= this.options.maxDepth) this.finish(pending.path, pending.rollout);
  }

  /**
   * Ends an iteration: the trace is scored (unless already known wrong) and backed up, and recorded when the policy
   * wrote part of it in this iteration (a finished trace selected again is scored again, not recorded twice); then
   * the next iteration starts.
   */
  private finish(path: readonly StepNode[], rollout: { steps: string[]; turns: number[] }, scored?: boolean, sampled = true): void {
    const last = path.at(-1)!;
    const steps = [...stepsTo(last), ...rollout.steps];
    const correct = scored ?? this.isCorrect(steps);
    if (sampled) this.traces.push({ steps, turns: [...path.slice(1).map((n) => n.turn), ...rollout.turns], correct, iteration: this.iteration });
    for (const n of path) {
      n.visits++;
      n.total += correct ? 1 : 0;
    }
    this.iteration++;
    this.advance();
  }

  /** Selects the next node to extend; iterations that reach a finished trace score it again without asking the policy. */
  private advance(): void {
    this.pending = null;
    while (this.iteration < this.options.iterations) {
      const path = [this.root];
      let at = this.root;
      while (!at.terminal && at.samples >= this.options.branch) {
        at = this.select(at);
        path.push(at);
      }
      if (at.terminal) {
        this.finish(path, { steps: [], turns: [] }, undefined, false);
        return;
      }
      this.pending = { path };
      return;
    }
  }

  /** UCT: the child with the highest mean reward plus exploration bonus; the first among equals. */
  private select(parent: StepNode): StepNode {
    let best = parent.children[0];
    let bestScore = -Infinity;
    for (const child of parent.children) {
      const score = child.total / child.visits + this.options.exploration * Math.sqrt(Math.log(parent.visits) / child.visits);
      if (score > bestScore) {
        best = child;
        bestScore = score;
      }
    }
    return best;
  }

  /**
   * A value target for every partial solution on a sampled trace (tree and
   * rollout steps alike), ReST-MCTS*'s quality value: v_0 = 0 at the root, and
   * v_k = max(0, v_{k-1} + (1 - v_{k-1}) * (1 - 2 r_k) / m_k), where r_k is 0
   * when some trace through the step reached the correct answer and 1 when none
   * did, and m_k the reasoning distance: the fewest steps from it (itself
   * included) to a correct answer, or, for a step that never led to one, its
   * nearest ancestor's (as the paper's released code infers it). On a correct
   * trace of K steps that is the shortest through each of its steps,
   * v_k = k / K. When no trace was correct every value is 0.
   */
  valueTargets(): ValueTarget[] {
    interface Prefix { readonly steps: string[]; readonly parent: Prefix | null; readonly children: Map<string, Prefix>; visits: number; correct: number; toCorrect: number }
    const root: Prefix = { steps: [], parent: null, children: new Map(), visits: 0, correct: 0, toCorrect: Infinity };
    const order: Prefix[] = [];
    for (const trace of this.traces) {
      let at = root;
      const mark = (p: Prefix) => {
        p.visits++;
        if (!trace.correct) return;
        p.correct++;
        p.toCorrect = Math.min(p.toCorrect, trace.steps.length - p.steps.length + 1);
      };
      mark(root);
      for (const step of trace.steps) {
        let next = at.children.get(step);
        if (!next) {
          next = { steps: [...at.steps, step], parent: at, children: new Map(), visits: 0, correct: 0, toCorrect: Infinity };
          at.children.set(step, next);
          order.push(next);
        }
        mark((at = next));
      }
    }
    const distance = (p: Prefix): number => {
      for (let a: Prefix | null = p; a; a = a.parent) if (a.toCorrect < Infinity) return a.toCorrect;
      return Infinity;
    };
    const values = new Map<Prefix, number>([[root, 0]]);
    return order.map((p) => {
      const before = values.get(p.parent!)!;
      const m = distance(p);
      const value = m === Infinity ? 0 : Math.max(0, before + ((1 - before) * (p.toCorrect < Infinity ? 1 : -1)) / m);
      values.set(p, value);
      return { steps: p.steps, value, visits: p.visits, meanReward: p.correct / p.visits, toCorrect: p.toCorrect < Infinity ? p.toCorrect : null };
    });
  }

  /** The best trace: the shortest that reached the correct answer, the first found among equals; null when none did. */
  bestTrace(): Trace | null {
    let best: Trace | null = null;
    for (const trace of this.traces) if (trace.correct && (!best || trace.steps.length < best.steps.length)) best = trace;
    return best;
  }
}

function node(text: string, parent: StepNode | null, turn: number, terminal: boolean): StepNode {
  return { text, parent, depth: parent ? parent.depth + 1 : 0, turn, children: [], terminal, samples: 0, visits: 0, total: 0 };
}

/** The steps from the root to `n`. */
export function stepsTo(n: StepNode): string[] {
  const steps: string[] = [];
  for (let at: StepNode | null = n; at && at.parent; at = at.parent) steps.push(at.text);
  return steps.reverse();
}
