"""Teacher forcing: the log-probability of given completion tokens after given
prompts. Training and guided choices both use it, so the logprobs a guided
choice returns are the very quantity a training step recomputes.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .model import TinyTransformer

# Sequences per forward pass are limited by padded tokens (rows x longest row),
# which bounds activation memory whatever the request holds.
TOKEN_BUDGET = 32768


@dataclass
class Batch:
    """Right-padded sequences: the prompt and all completion tokens but the last are the input."""
    tokens: torch.Tensor      # (B, T) long
    positions: torch.Tensor   # (B, S) long: the input position that predicts completion token s
    targets: torch.Tensor     # (B, S) long: the completion tokens (0 where padded)
    valid: torch.Tensor       # (B, S) bool: a real completion token
    lengths: list[int]        # completion length per row


def make_batch(pairs: list[tuple[list[int], list[int]]], device: torch.device) -> Batch:
    """pairs: (prompt ids, completion ids), each with at least one token."""
    width = max(len(p) + len(c) - 1 for p, c in pairs)
    span = max(len(c) for _, c in pairs)
    tokens = [(p + c[:-1]) for p, c in pairs]
    tokens = [row + [0] * (width - len(row)) for row in tokens]
    positions, targets, valid = [], [], []
    for p, c in pairs:
        pad = span - len(c)
        positions.append(list(range(len(p) - 1, len(p) - 1 + len(c))) + [0] * pad)
        targets.append(c + [0] * pad)
        valid.append([True] * len(c) + [False] * pad)
    return Batch(
        tokens=torch.tensor(tokens, dtype=torch.long, device=device),
        positions=torch.tensor(positions, dtype=torch.long, device=device),
        targets=torch.tensor(targets, dtype=torch.long, device=device),
        valid=torch.tensor(valid, dtype=torch.bool, device=device),
        lengths=[len(c) for _, c in pairs],
    )


def chunks(lengths: list[int], budget: int = TOKEN_BUDGET) -> list[list[int]]:
    """Indices grouped into forward passes: sorted by length, so little padding, each within `budget` padded tokens."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    groups: list[list[int]] = []
    current: list[int] = []
    for i in order:
        # Sorted ascending, so lengths[i] is the longest row if i joins.
        if current and (len(current) + 1) * lengths[i] > budget:
            groups.append(current)
            current = []
        current.append(i)
    if current:
        groups.append(current)
    return groups


def log_probs(model: TinyTransformer, batch: Batch) -> torch.Tensor:
    """Log-softmax over the output vocabulary at every scored position (B, S, V)."""
    return torch.log_softmax(model.score(batch.tokens, batch.positions).float(), dim=-1)


def target_logprobs(all_logprobs: torch.Tensor, batch: Batch) -> torch.Tensor:
    """The log-probability of each target token (B, S); padded entries are 0."""
    chosen = all_logprobs.gather(-1, batch.targets.unsqueeze(-1)).squeeze(-1)
    return chosen.masked_fill(~batch.valid, 0.0)
