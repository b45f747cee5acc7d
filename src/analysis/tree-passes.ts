import { CHANCE, TERMINAL, type CompiledGame } from './compile.ts';

/**
 * Top-down pass: for every node, the probability that `seat`'s own actions lead
 * to it (`own`) and the probability that chance and the other seats do
 * (`others`, the counterfactual reach), when everyone plays `strategy`.
 */
export function computeReach(tree: CompiledGame, strategy: Float64Array, seat: number, own: Float64Array, others: Float64Array): void {
  const { player, childStart, infoset, actionStart, chanceProbability, nodeCount } = tree;
  own[0] = 1;
  others[0] = 1;
  for (let n = 0; n < nodeCount; n++) {
    const first = childStart[n];
    const end = childStart[n + 1];
    const mover = player[n];
    const ownReach = own[n];
    const othersReach = others[n];
    if (mover === CHANCE) {
      for (let c = first; c < end; c++) {
        own[c] = ownReach;
        others[c] = othersReach * chanceProbability[c];
      }
    } else if (mover === seat) {
      const slot = actionStart[infoset[n]] - first;
      for (let c = first; c < end; c++) {
        own[c] = ownReach * strategy[slot + c];
        others[c] = othersReach;
      }
    } else if (mover !== TERMINAL) {
      const slot = actionStart[infoset[n]] - first;
      for (let c = first; c < end; c++) {
        own[c] = ownReach;
        others[c] = othersReach * strategy[slot + c];
      }
    }
  }
}

/** Bottom-up pass: every node's expected return to `seat` when everyone plays `strategy`. */
export function computeValues(tree: CompiledGame, strategy: Float64Array, seat: number, values: Float64Array): void {
  const { player, childStart, infoset, actionStart, chanceProbability, utility, seats } = tree;
  for (let n = tree.nodeCount - 1; n >= 0; n--) {
    const mover = player[n];
    const first = childStart[n];
    const end = childStart[n + 1];
    let value = 0;
    if (mover === TERMINAL) {
      value = utility[n * seats + seat];
    } else if (mover === CHANCE) {
      for (let c = first; c < end; c++) value += chanceProbability[c] * values[c];
    } else {
      const slot = actionStart[infoset[n]] - first;
      for (let c = first; c < end; c++) value += strategy[slot + c] * values[c];
    }
    values[n] = value;
  }
}

/**
 * Each action's value at each information state when every seat plays
 * `strategy`: the expected return to the state's owner of taking the action
 * there and playing `strategy` after, over the state's histories weighted by
 * the probability that chance and the other seats reach them (its
 * counterfactual reach). A state they never reach weighs its histories
 * equally. One entry per action slot.
 */
export function actionValues(tree: CompiledGame, strategy: Float64Array): Float64Array {
  const { childStart, actionStart, infosetNodeStart, infosetNodes } = tree;
  const out = new Float64Array(actionStart[tree.infosetCount]);
  const own = new Float64Array(tree.nodeCount);
  const others = new Float64Array(tree.nodeCount);
  const values = new Float64Array(tree.nodeCount);
  for (let seat = 0; seat < tree.seats; seat++) {
    computeReach(tree, strategy, seat, own, others);
    computeValues(tree, strategy, seat, values);
    for (const i of tree.seatInfosets[seat]) {
      const nodes = infosetNodes.subarray(infosetNodeStart[i], infosetNodeStart[i + 1]);
      let total = 0;
      for (const n of nodes) total += others[n];
      const first = actionStart[i];
      for (const n of nodes) {
        const weight = total > 0 ? others[n] / total : 1 / nodes.length;
        for (let c = childStart[n], s = first; c < childStart[n + 1]; c++, s++) out[s] += weight * values[c];
      }
    }
  }
  return out;
}

/** The probability that play reaches each information state when every seat plays `strategy`. */
export function infosetReach(tree: CompiledGame, strategy: Float64Array): Float64Array {
  const out = new Float64Array(tree.infosetCount);
  const own = new Float64Array(tree.nodeCount);
  const others = new Float64Array(tree.nodeCount);
  for (let seat = 0; seat < tree.seats; seat++) {
    computeReach(tree, strategy, seat, own, others);
    for (const n of tree.seatNodes[seat]) out[tree.infoset[n]] += own[n] * others[n];
  }
  return out;
}
