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
