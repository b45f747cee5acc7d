"""Policy-gradient steps on a policy's training weights.

`compute_gradients` is Tinker's forward_backward (it does not touch the
weights), `apply_gradients` its optim_step. A step whose loss, gradients or
resulting weights are not finite raises `StepRejected` and leaves the
weights, optimizer state, pending gradients and version as they were.
"""

from __future__ import annotations

import copy
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import torch

from .policies import Policy
from .protocol import FLOAT32_MAX, Datum, LossConfig, OptimConfig, ProtocolError
from .scoring import SHARED_CONTEXTS, activation_cost, chunks, fill_rows, make_datum_batch, shared_layout

FLOAT32_LOWEST = -FLOAT32_MAX


class StepRejected(ProtocolError):
    def __init__(self, message: str):
        super().__init__(422, message, type='step_rejected', code='non_finite')


def _padded(rows: list[list[float]], width: int, device: torch.device) -> torch.Tensor:
    return torch.tensor([r + [0.0] * (width - len(r)) for r in rows], dtype=torch.float32, device=device)


def loss_terms(new: torch.Tensor, old: torch.Tensor, adv: torch.Tensor, weight: torch.Tensor, cfg: LossConfig):
    """Per-token objective (to be maximised, already times `weight`), and which tokens PPO's clip and the ratio
    cap make inactive or truncate. Cross-entropy's objective is the logprob itself.

    With `ratio_cap`, a token whose ratio exceeds the cap counts with weight `ratio_cap` instead (IMPALA's
    truncated importance weight): its objective is scaled by the constant min(1, cap / ratio), so that the
    gradient is min(ratio, cap) * adv * grad log p.
    """
    ratio = torch.exp(new - old)
    if cfg.kind == 'cross_entropy':
        none = torch.zeros_like(ratio, dtype=torch.bool)
        return new * weight, ratio, none, none
    unclipped = ratio * adv
    clipped_ratio = ratio.clamp(cfg.clip_low, cfg.clip_high)
    # Where the clipped branch is the minimum and differs: the gradient there is zero under ppo.
    clipped = ((adv > 0) & (ratio > cfg.clip_high)) | ((adv < 0) & (ratio < cfg.clip_low))
    objective = unclipped if cfg.kind == 'importance_sampling' else torch.minimum(unclipped, clipped_ratio * adv)
    if cfg.ratio_cap is None:
        return objective * weight, ratio, clipped, torch.zeros_like(clipped)
    truncated = ratio.detach() > cfg.ratio_cap
    scale = torch.where(truncated, cfg.ratio_cap / ratio.detach(), torch.ones_like(ratio))
    return objective * scale * weight, ratio, clipped, truncated


def k3(log_ratio: torch.Tensor) -> torch.Tensor:
    """Schulman's unbiased, non-negative KL estimator, log_ratio = log q(x) - log p(x) for x ~ p."""
    return torch.exp(log_ratio) - log_ratio - 1.0


@dataclass
class Gradients:
    """What forward_backward computes: the gradients of `loss` (a sum over weighted tokens), per datum the
    logprob and loss of every position, and sums over weighted tokens for metrics."""
    grads: list[torch.Tensor]
    loss: float
    weight: float
    sums: dict[str, float]
    logprobs: list[list[float]]
    elementwise_loss: list[list[float]]


def compute_gradients(policy: Policy, data: list[Datum], cfg: LossConfig, scale: float = 1.0, backward: bool = True) -> Gradients:
    """Gradients of scale * (the summed weighted per-token loss) over `data` (none without `backward`: Tinker's
    forward). Does not touch the weights.

    A target the model cannot generate (a special token, id >= OUTPUT_SIZE) must have weight 0; its logprob is
    reported as float32's lowest value.
    """
    model = policy.model
    device = model.pos.device
    params = policy.trainable
    grads = [torch.zeros_like(p) for p in params]
    sums = {'kl': 0.0, 'kl_sampler': 0.0, 'ratio': 0.0, 'clipped': 0.0, 'truncated': 0.0, 'entropy': 0.0}
    total_loss, total_weight = 0.0, 0.0
    logprobs: list[list[float]] = [[] for _ in data]
    elementwise: list[list[float]] = [[] for _ in data]
    shared = _SharedPositions(device)
    rows = pack_rows(data, SHARED_CONTEXTS * model.cfg.context)
    for row_group in chunks([row.length for row in rows], activation_cost(model)):
        packed = [rows[r] for r in row_group]
        group = [i for row in packed for i in row.members]
        chosen = [data[i] for i in group]
        batch = make_datum_batch([(d.tokens, d.targets) for d in chosen], device)
        width = batch.targets.shape[1]
        weight_all = _padded([d.weights for d in chosen], width, device)
        # Only positions with a weight carry gradients; the others are scored without (their logprobs are outputs only).
        live = (weight_all != 0) & batch.valid
        at, valid = _gather_index(live)
        pick = lambda t: t.gather(1, at.clamp(max=width - 1)).masked_fill(~valid, 0)  # noqa: E731
        old, adv, weight = pick(_padded([d.logprobs for d in chosen], width, device)), pick(_padded([d.advantages for d in chosen], width, device)), pick(weight_all)
        positions, targets = pick(batch.positions), pick(batch.targets)

        with torch.set_grad_enabled(backward):
            trunk = _packed_trunk(model, packed, batch)
            all_lps = torch.log_softmax(model.head_at(trunk, positions).float(), dim=-1)
        # The weightless positions need only a forward pass, which runs on another thread while this one goes back,
        # once for each prefix and target that several datums share.
        idle_keys, fresh = shared.assign(chosen, width)
        idle = _idle_thread().submit(_score_fresh, model, trunk.detach(), batch, fresh) if backward else None
        new = all_lps.gather(-1, targets.unsqueeze(-1)).squeeze(-1).masked_fill(~valid, 0.0)
        objective, ratio, clipped, truncated = loss_terms(new, old, adv, weight, cfg)
        per_token = -objective
        if cfg.kl_coef > 0:
            with torch.no_grad():
                ref_lps = torch.log_softmax(policy.reference.score(batch.tokens, positions).float(), dim=-1)
                ref = ref_lps.gather(-1, targets.unsqueeze(-1)).squeeze(-1).masked_fill(~valid, 0.0)
            kl = k3(ref - new) * weight
            per_token = per_token + cfg.kl_coef * kl
            sums['kl'] += float(kl.sum())
        loss = per_token.sum() * scale
        if backward:
            if not math.isfinite(float(loss)):
                raise StepRejected(f'the loss is not finite ({float(loss)}); nothing was changed')
            for acc, g in zip(grads, torch.autograd.grad(loss, params, allow_unused=True)):
                if g is not None:
                    acc += g
        with torch.no_grad():
            total_loss += float(per_token.sum())
            total_weight += float(weight.sum())
            sums['kl_sampler'] += float((k3(old - new) * weight).sum())
            sums['ratio'] += float((ratio * weight).sum())
            sums['clipped'] += float((clipped.float() * weight).sum())
            sums['truncated'] += float((truncated.float() * weight).sum())
            entropy = -(all_lps.exp() * all_lps).sum(dim=-1)
            sums['entropy'] += float((entropy * weight).sum())
            # Every position's logprob (the weightless ones scored now, without gradients) and loss, in place.
            reported = torch.zeros(len(group), width + 1, device=device)
            reported.scatter_(1, at, new)
            losses = torch.zeros(len(group), width + 1, device=device)
            losses.scatter_(1, at, per_token)
            shared.add(idle.result() if idle is not None else _score_fresh(model, trunk, batch, fresh))
            reported = shared.fill(reported[:, :width], idle_keys).masked_fill(~batch.generable, FLOAT32_LOWEST).tolist()
            losses = losses[:, :width].tolist()
            for row, i in enumerate(group):
                n = len(data[i].tokens)
                logprobs[i] = reported[row][:n]
                elementwise[i] = losses[row][:n]
    if not all(bool(torch.isfinite(g).all()) for g in grads):
        raise StepRejected('the gradients are not finite; nothing was changed')
    return Gradients(grads, total_loss, total_weight, sums, logprobs, elementwise)


@dataclass
class PackedRow:
    """Datums that share a prompt, in one row: the prompt once, then each datum's remaining tokens side by side
    (scoring.shared_layout). `places` gives, per member, the column of each of its positions."""
    prompt: list[int]
    members: list[int]
    tails: list[list[int]]

    @property
    def length(self) -> int:
        return len(self.prompt) + sum(map(len, self.tails))

    @property
    def places(self) -> list[list[int]]:
        start, out = len(self.prompt), []
        for tail in self.tails:
            out.append([*range(len(self.prompt)), *range(start, start + len(tail))])
            start += len(tail)
        return out


def pack_rows(data: list[Datum], width: int) -> list[PackedRow]:
    """Datums grouped by prompt, their tokens up to and including the first weighted position (all of them when
    none is): the datums of one state's moves, or of one group's samples, share it. A row holds as many of a
    prompt's datums as fit in `width` tokens (at least one)."""
    by_prompt: dict[tuple[int, ...], list[int]] = {}
    for i, d in enumerate(data):
        first = next((t for t, w in enumerate(d.weights) if w != 0), len(d.tokens) - 1)
        by_prompt.setdefault(tuple(d.tokens[:first + 1]), []).append(i)
    rows = []
    for prompt, members in by_prompt.items():
        tails = [data[i].tokens[len(prompt):] for i in members]
        for part in fill_rows(len(prompt), [len(t) for t in tails], width):
            rows.append(PackedRow(list(prompt), [members[k] for k in part], [tails[k] for k in part]))
    return rows


def _packed_trunk(model, rows: list[PackedRow], batch) -> torch.Tensor:
    """The trunk's output for every member of `rows` in order, laid out as `batch` holds them (B, T, d): each shared
    prompt runs once, and its members' rows read its columns. The last block then runs per datum, seeing exactly
    the columns a datum alone would have."""
    if all(len(row.members) == 1 for row in rows):
        return model.trunk(batch.tokens)
    device = batch.tokens.device
    layout = shared_layout([(row.prompt, row.tails) for row in rows], device)
    h = model.trunk_shared(layout.tokens, layout.position_ids, layout.allowed)
    width = batch.tokens.shape[1]
    row_of = [r for r, row in enumerate(rows) for _ in row.members]
    places = [place + [0] * (width - len(place)) for row in rows for place in row.places]
    return h[torch.tensor(row_of, device=device)[:, None], torch.tensor(places, device=device)]


# One thread beside the training thread: forward passes that need no gradients overlap the backward pass.
_IDLE: ThreadPoolExecutor | None = None


def _idle_thread() -> ThreadPoolExecutor:
    """The thread, made on first use with the training thread's torch thread count (a new thread has torch's default)."""
    global _IDLE
    if _IDLE is None:
        _IDLE = ThreadPoolExecutor(max_workers=1, thread_name_prefix='score', initializer=torch.set_num_threads, initargs=(torch.get_num_threads(),))
    return _IDLE


class _SharedPositions:
    """The weightless positions of one forward_backward, keyed by what their logprob depends on: the tokens up to
    them (a node of a prefix tree) and their target. Self-play datums share long prompts, so each key is scored
    once. Keys are numbered in the order they first appear; `values` holds the logprobs of those scored so far.
    """

    def __init__(self, device: torch.device):
        self.device = device
        self.prefixes: dict[tuple[int, int], int] = {}
        self.keys: dict[tuple[int, int], int] = {}
        self.values = torch.zeros(0, device=device)

    def assign(self, rows: list[Datum], width: int) -> tuple[torch.Tensor, list[list[int]]]:
        """The key of each weightless position of each row (B, width; -1 elsewhere), and per row the positions
        whose key is new here: what `_score_fresh` must score, in key order."""
        keys = [[-1] * width for _ in rows]
        fresh: list[list[int]] = []
        prefixes, known = self.prefixes, self.keys
        for datum, row_keys in zip(rows, keys):
            node, new = -1, []
            for t, (token, target, weight) in enumerate(zip(datum.tokens, datum.targets, datum.weights)):
                node = prefixes.setdefault((node, token), len(prefixes))
                if weight == 0:
                    size = len(known)
                    key = row_keys[t] = known.setdefault((node, target), size)
                    if key == size:
                        new.append(t)
            fresh.append(new)
        return torch.tensor(keys, dtype=torch.long, device=self.device), fresh

    def add(self, values: torch.Tensor) -> None:
        self.values = torch.cat([self.values, values])

    def fill(self, reported: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        """`reported` (B, width) with each keyed position's logprob in place."""
        if not len(self.values):
            return reported
        return torch.where(keys >= 0, self.values[keys.clamp(min=0)], reported)


@torch.no_grad()
def _score_fresh(model, trunk: torch.Tensor, batch, fresh: list[list[int]]) -> torch.Tensor:
    """The logprob of the target at each of `fresh`'s positions, row after row (N,). Rows with similar counts
    of positions are scored together, so that a few long rows do not pad every other."""
    rows = sorted((r for r, at in enumerate(fresh) if at), key=lambda r: -len(fresh[r]))
    scored: dict[int, torch.Tensor] = {}
    while rows:
        k = len(fresh[rows[0]])
        bucket = [r for r in rows if 2 * len(fresh[r]) > k]
        rows = rows[len(bucket):]
        index = torch.tensor(bucket, device=trunk.device)
        positions = torch.tensor([fresh[r] + [fresh[r][-1]] * (k - len(fresh[r])) for r in bucket], device=trunk.device)
        end = int(positions.max()) + 1
        targets = batch.targets[index].gather(1, positions)
        lps = torch.log_softmax(model.head_at(trunk[index, :end], positions).float(), dim=-1)
        chosen = lps.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
        for j, r in enumerate(bucket):
            scored[r] = chosen[j, :len(fresh[r])]
    return torch.cat([scored[r] for r in sorted(scored)]) if scored else torch.zeros(0, device=trunk.device)


def _gather_index(mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per row, the columns where `mask` holds, first to last, padded to the longest row with the column past the
    end (B, K); and which entries are real."""
    counts = mask.sum(dim=1)
    k = max(int(counts.max()), 1)
    order = torch.sort((~mask).to(torch.uint8), dim=1, stable=True).indices[:, :k]
    valid = torch.arange(k, device=mask.device)[None, :] < counts[:, None]
    return torch.where(valid, order, mask.shape[1]), valid


def accumulate(policy: Policy, grads: list[torch.Tensor], samples: int) -> None:
    if policy.pending is None:
        policy.pending = grads
    else:
        policy.pending = [a + b for a, b in zip(policy.pending, grads)]
    policy.pending_samples += samples


def apply_gradients(policy: Policy, grads: list[torch.Tensor], cfg: OptimConfig) -> float:
    """One AdamW step with `grads` (clipped to max_grad_norm when it is > 0); returns the norm before clipping."""
    norm = float(torch.sqrt(sum((g.double() ** 2).sum() for g in grads)))
    if not math.isfinite(norm):
        raise StepRejected(f'the gradient norm is not finite ({norm}); nothing was changed')
    scale = cfg.max_grad_norm / (norm + 1e-6) if 0 < cfg.max_grad_norm < norm else 1.0
    params = policy.trainable
    saved_params = [p.detach().clone() for p in params]
    saved_state = copy.deepcopy(policy.optimizer.state_dict())
    for group in policy.optimizer.param_groups:
        group.update(lr=cfg.learning_rate, weight_decay=cfg.weight_decay, betas=(cfg.beta1, cfg.beta2), eps=cfg.eps)
    for p, g in zip(params, grads):
        p.grad = g * scale
    try:
        policy.optimizer.step()
        if not all(bool(torch.isfinite(p).all()) for p in params):
            with torch.no_grad():
                for p, saved in zip(params, saved_params):
                    p.copy_(saved)
            policy.optimizer.load_state_dict(saved_state)
            raise StepRejected('the step would make the weights non-finite; nothing was changed')
    finally:
        for p in params:
            p.grad = None
    policy.version += 1
    return norm
