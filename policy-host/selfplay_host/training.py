"""Policy-gradient steps on a policy's training weights.

`compute_gradients` is Tinker's forward_backward (it does not touch the
weights), `apply_gradients` its optim_step. A step whose loss, gradients or
resulting weights are not finite raises `StepRejected` and leaves the
weights, optimizer state, pending gradients and version as they were.
"""

from __future__ import annotations

import copy
import math

import torch

from .policies import Policy
from .protocol import LossConfig, OptimConfig, ProtocolError, TrainItem
from .scoring import activation_cost, chunks, log_probs, make_batch, target_logprobs


class StepRejected(ProtocolError):
    def __init__(self, message: str):
        super().__init__(422, message, type='step_rejected', code='non_finite')


def _padded(rows: list[list[float]], width: int, device: torch.device) -> torch.Tensor:
    return torch.tensor([r + [0.0] * (width - len(r)) for r in rows], dtype=torch.float32, device=device)


def loss_terms(new: torch.Tensor, old: torch.Tensor, adv: torch.Tensor, mask: torch.Tensor, cfg: LossConfig):
    """Per-token policy objective (to be maximised), and which tokens PPO's clip and the ratio cap make inactive or truncate.

    With `ratio_cap`, a token whose ratio exceeds the cap counts with weight `ratio_cap` instead (IMPALA's
    truncated importance weight): its objective is scaled by the constant min(1, cap / ratio), so that the
    gradient is min(ratio, cap) * adv * grad log p.
    """
    ratio = torch.exp(new - old)
    eps = cfg.clip_epsilon
    unclipped = ratio * adv
    clipped_ratio = ratio.clamp(1.0 - eps, 1.0 + eps)
    # Where the clipped branch is the minimum and differs: the gradient there is zero under ppo-clip.
    clipped = ((adv > 0) & (ratio > 1.0 + eps)) | ((adv < 0) & (ratio < 1.0 - eps))
    objective = unclipped if cfg.kind == 'importance-sampling' else torch.minimum(unclipped, clipped_ratio * adv)
    if cfg.ratio_cap is None:
        return objective * mask, ratio, clipped, torch.zeros_like(clipped)
    truncated = ratio.detach() > cfg.ratio_cap
    scale = torch.where(truncated, cfg.ratio_cap / ratio.detach(), torch.ones_like(ratio))
    return objective * scale * mask, ratio, clipped, truncated


def k3(log_ratio: torch.Tensor) -> torch.Tensor:
    """Schulman's unbiased, non-negative KL estimator, log_ratio = log q(x) - log p(x) for x ~ p."""
    return torch.exp(log_ratio) - log_ratio - 1.0


def compute_gradients(policy: Policy, items: list[TrainItem], cfg: LossConfig) -> tuple[list[torch.Tensor], dict]:
    """Gradients of the mean per-token loss over `items`, and metrics. Does not touch the weights."""
    model = policy.model
    device = model.pos.device
    params = list(model.parameters())
    grads = [torch.zeros_like(p) for p in params]
    tokens = sum(sum(it.mask) for it in items)
    sums = {'loss': 0.0, 'kl': 0.0, 'kl_sampler': 0.0, 'ratio': 0.0, 'clipped': 0.0, 'truncated': 0.0, 'entropy': 0.0}
    for group in chunks([len(items[i].prompt) + len(items[i].completion) for i in range(len(items))], activation_cost(policy.model)):
        chosen = [items[i] for i in group]
        batch = make_batch([(it.prompt, it.completion) for it in chosen], device)
        width = batch.targets.shape[1]
        old = _padded([it.logprobs for it in chosen], width, device)
        adv = _padded([it.advantages for it in chosen], width, device)
        mask = _padded([it.mask for it in chosen], width, device)

        all_lps = log_probs(model, batch)
        new = target_logprobs(all_lps, batch)
        objective, ratio, clipped, truncated = loss_terms(new, old, adv, mask, cfg)
        loss = -objective.sum() / tokens
        if cfg.kl_coef > 0:
            with torch.no_grad():
                ref = target_logprobs(log_probs(policy.reference, batch), batch)
            kl = k3(ref - new) * mask
            loss = loss + cfg.kl_coef * kl.sum() / tokens
            sums['kl'] += float(kl.sum())
        if not math.isfinite(float(loss)):
            raise StepRejected(f'the loss is not finite ({float(loss)}); nothing was changed')
        for acc, g in zip(grads, torch.autograd.grad(loss, params, allow_unused=True)):
            if g is not None:
                acc += g
        with torch.no_grad():
            sums['loss'] += float(loss)
            sums['kl_sampler'] += float((k3(old - new) * mask).sum())
            sums['ratio'] += float((ratio * mask).sum())
            sums['clipped'] += float((clipped.float() * mask).sum())
            sums['truncated'] += float((truncated.float() * mask).sum())
            entropy = -(all_lps.exp() * all_lps).sum(dim=-1)
            sums['entropy'] += float((entropy * mask).sum())
    if not all(bool(torch.isfinite(g).all()) for g in grads):
        raise StepRejected('the gradients are not finite; nothing was changed')
    metrics = {
        'loss': sums['loss'],
        'tokens': int(tokens),
        'samples': len(items),
        'kl': sums['kl'] / tokens if cfg.kl_coef > 0 else None,
        'kl_sampler': sums['kl_sampler'] / tokens,
        'ratio_mean': sums['ratio'] / tokens,
        'clip_fraction': sums['clipped'] / tokens,
        'truncated_fraction': sums['truncated'] / tokens,
        'entropy': sums['entropy'] / tokens,
    }
    return grads, metrics


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
    params = list(policy.model.parameters())
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


def score(policy: Policy, items: list[tuple[list[int], list[int]]]) -> tuple[list[list[float]], float, int]:
    """Teacher-forced logprobs of each completion under the training weights, mean entropy, tokens."""
    model = policy.model
    out: list[list[float]] = [[] for _ in items]
    entropy_sum, tokens = 0.0, 0
    with torch.inference_mode():
        for group in chunks([len(p) + len(c) for p, c in items], activation_cost(model)):
            batch = make_batch([items[i] for i in group], model.pos.device)
            all_lps = log_probs(model, batch)
            chosen = target_logprobs(all_lps, batch).tolist()
            entropy = -(all_lps.exp() * all_lps).sum(dim=-1)
            entropy_sum += float((entropy * batch.valid).sum())
            tokens += int(batch.valid.sum())
            for row, i in enumerate(group):
                out[i] = chosen[row][:batch.lengths[row]]
    return out, entropy_sum / max(tokens, 1), tokens
