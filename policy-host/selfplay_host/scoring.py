"""Teacher forcing: the log-probability of given completion tokens after given
prompts. Training and guided choices both use it, so the logprobs a guided
choice returns are the very quantity a training step recomputes.

Training runs one row per Tinker datum, every position scored (`make_datum_batch`);
guided choices run each prompt once, with all its completions after it in the
same row (`make_shared_batch`), which gives the same logprobs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from . import tokenizer
from .model import TinyTransformer

# Rows are grouped so that the largest activation of a forward pass (the
# attention weights, rows x heads x width x width, or the MLP's hidden layer) has
# at most this many elements: 16 MiB of float32. glibc gives allocations over
# its mmap threshold mappings of their own, which the kernel maps and zeroes anew
# for every op, and the host can raise that threshold to 32 MiB at most
# (memory.py): with the default model, groups of 32768 padded tokens (attention
# weights of ~128 MiB) took 3x the CPU time of groups of 4096.
ACTIVATION_BUDGET = 1 << 22

# A shared row holds its prompt and as many of its completions as fit in this
# many contexts (more start another row with the prompt again), so a request
# with many long choices cannot make one row's attention weights huge.
SHARED_CONTEXTS = 2


@dataclass
class Batch:
    """Right-padded datums: each row's input tokens, and at each scored position the target it predicts."""
    tokens: torch.Tensor      # (B, T) long
    positions: torch.Tensor   # (B, S) long: the input position that predicts target s
    targets: torch.Tensor     # (B, S) long: the targets (0 where padded)
    valid: torch.Tensor       # (B, S) bool: a real position
    lengths: list[int]        # positions per row
    generable: torch.Tensor   # (B, S) bool: a real target the model can generate (id < OUTPUT_SIZE)


def make_datum_batch(rows: list[tuple[list[int], list[int]]], device: torch.device) -> Batch:
    """rows: (input tokens, target per position), Tinker's datum: every position is scored. Targets the model
    cannot generate (special tokens) are scored as token 0 and marked not `generable`."""
    width = max(len(tokens) for tokens, _ in rows)
    padded, positions, targets, valid, generable = [], [], [], [], []
    for tokens, target in rows:
        pad = width - len(tokens)
        padded.append(tokens + [0] * pad)
        positions.append(list(range(len(tokens))) + [0] * pad)
        targets.append([t if t < tokenizer.OUTPUT_SIZE else 0 for t in target] + [0] * pad)
        valid.append([True] * len(tokens) + [False] * pad)
        generable.append([t < tokenizer.OUTPUT_SIZE for t in target] + [False] * pad)
    return Batch(
        tokens=torch.tensor(padded, dtype=torch.long, device=device),
        positions=torch.tensor(positions, dtype=torch.long, device=device),
        targets=torch.tensor(targets, dtype=torch.long, device=device),
        valid=torch.tensor(valid, dtype=torch.bool, device=device),
        lengths=[len(tokens) for tokens, _ in rows],
        generable=torch.tensor(generable, dtype=torch.bool, device=device),
    )


def chunks(lengths: list[int], row_cost: Callable[[int], int], budget: int | None = None) -> list[list[int]]:
    """Indices grouped into forward passes: sorted by length, so little padding, rows x row_cost(longest) within
    `budget` (default ACTIVATION_BUDGET; see activation_cost)."""
    budget = ACTIVATION_BUDGET if budget is None else budget
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    groups: list[list[int]] = []
    current: list[int] = []
    for i in order:
        # Sorted ascending, so lengths[i] is the longest row if i joins.
        if current and (len(current) + 1) * row_cost(lengths[i]) > budget:
            groups.append(current)
            current = []
        current.append(i)
    if current:
        groups.append(current)
    return groups


def activation_cost(model: TinyTransformer) -> Callable[[int], int]:
    """The largest activation of one row of n tokens: its attention weights (heads x n x n) or its MLP's hidden layer."""
    cfg = model.cfg
    return lambda n: n * max(cfg.heads * n, cfg.mlp_ratio * cfg.d_model)


def log_probs(model: TinyTransformer, batch: Batch) -> torch.Tensor:
    """Log-softmax over the output vocabulary at every scored position (B, S, V)."""
    return torch.log_softmax(model.score(batch.tokens, batch.positions).float(), dim=-1)


def target_logprobs(all_logprobs: torch.Tensor, batch: Batch | SharedBatch) -> torch.Tensor:
    """The log-probability of each target token (B, S); padded entries are 0."""
    chosen = all_logprobs.gather(-1, batch.targets.unsqueeze(-1)).squeeze(-1)
    return chosen.masked_fill(~batch.valid, 0.0)


@dataclass
class SharedBatch:
    """Right-padded rows, each a prompt followed by several completions but their last tokens. A completion's
    tokens take the positions after the prompt and see the prompt and their own completion's earlier tokens
    only, so each completion scores as it would alone after the prompt."""
    tokens: torch.Tensor        # (B, T) long
    position_ids: torch.Tensor  # (B, T) long
    allowed: torch.Tensor       # (B, T, T) bool: (query, key)
    positions: torch.Tensor     # (B, S) long: the input position that predicts scored token s
    targets: torch.Tensor       # (B, S) long: the completion tokens, one completion after another (0 where padded)
    valid: torch.Tensor         # (B, S) bool
    spans: list[list[tuple[int, int]]]  # per row, per completion: (first scored index, length)


def shared_rows(items: list[tuple[list[int], list[list[int]]]], width: int) -> list[tuple[int, list[int]]]:
    """(item, completion indices) per row: each item's completions in order, as many per row as fit in `width`
    tokens with the prompt (at least one)."""
    return [(i, part) for i, (prompt, completions) in enumerate(items) for part in fill_rows(len(prompt), [len(c) - 1 for c in completions], width)]


def fill_rows(prefix: int, sizes: list[int], width: int) -> list[list[int]]:
    """Segments of these sizes, in order, into rows that each start with a prefix of `prefix` tokens: as many per
    row as fit in `width` tokens (at least one). Their indices, per row."""
    rows, current, used = [], [], prefix
    for k, size in enumerate(sizes):
        if current and used + size > width:
            rows.append(current)
            current, used = [], prefix
        current.append(k)
        used += size
    rows.append(current)
    return rows


def shared_length(prompt: list[int], completions: list[list[int]]) -> int:
    """Tokens in a shared row: the prompt, and each completion but its last token."""
    return len(prompt) + sum(len(c) - 1 for c in completions)


@dataclass
class SharedLayout:
    """Right-padded rows, each a prefix followed by segments that continue it side by side: a segment's tokens
    take the positions after the prefix and see the prefix and their own segment's earlier tokens only."""
    tokens: torch.Tensor        # (B, T) long
    position_ids: torch.Tensor  # (B, T) long
    allowed: torch.Tensor       # (B, T, T) bool: (query, key)


def shared_layout(rows: list[tuple[list[int], list[list[int]]]], device: torch.device) -> SharedLayout:
    """rows: (prefix, segments); segment k of a row starts at column len(prefix) + the lengths of those before it."""
    width = max(len(p) + sum(map(len, segments)) for p, segments in rows)
    tokens, position_ids, segment_ids = [], [], []
    for p, segments in rows:
        n = len(p)
        row, ids, seg = list(p), list(range(n)), [-1] * n  # segment -1: the prefix, k: segment k, -2: padding
        for k, tail in enumerate(segments):
            row += tail
            ids += range(n, n + len(tail))
            seg += [k] * len(tail)
        pad = width - len(row)
        tokens.append(row + [0] * pad)
        position_ids.append(ids + [0] * pad)
        segment_ids.append(seg + [-2] * pad)
    segment = torch.tensor(segment_ids, dtype=torch.long, device=device)
    arange = torch.arange(width, device=device)
    causal = arange[None, :] <= arange[:, None]
    # A key in the prefix, or in the query's own segment, and not after the query. Padding queries see the prefix.
    allowed = causal & ((segment[:, None, :] == -1) | (segment[:, None, :] == segment[:, :, None]))
    return SharedLayout(
        tokens=torch.tensor(tokens, dtype=torch.long, device=device),
        position_ids=torch.tensor(position_ids, dtype=torch.long, device=device),
        allowed=allowed,
    )


def make_shared_batch(rows: list[tuple[list[int], list[list[int]]]], device: torch.device) -> SharedBatch:
    """rows: (prompt ids, completions' ids), the prompt and every completion with at least one token."""
    layout = shared_layout([(p, [c[:-1] for c in cs]) for p, cs in rows], device)
    span = max(sum(len(c) for c in cs) for _, cs in rows)
    positions, targets, valid, spans = [], [], [], []
    for p, cs in rows:
        n, start = len(p), len(p)
        at, spanned = [], []
        for c in cs:
            spanned.append((len(at), len(c)))
            at += [n - 1, *range(start, start + len(c) - 1)]
            start += len(c) - 1
        flat = [t for c in cs for t in c]
        pad = span - len(flat)
        positions.append(at + [0] * pad)
        targets.append(flat + [0] * pad)
        valid.append([True] * len(flat) + [False] * pad)
        spans.append(spanned)
    return SharedBatch(
        tokens=layout.tokens,
        position_ids=layout.position_ids,
        allowed=layout.allowed,
        positions=torch.tensor(positions, dtype=torch.long, device=device),
        targets=torch.tensor(targets, dtype=torch.long, device=device),
        valid=torch.tensor(valid, dtype=torch.bool, device=device),
        spans=spans,
    )


def shared_log_probs(model: TinyTransformer, batch: SharedBatch) -> torch.Tensor:
    """Log-softmax over the output vocabulary at every scored position (B, S, V)."""
    return torch.log_softmax(model.score_shared(batch.tokens, batch.position_ids, batch.allowed, batch.positions).float(), dim=-1)
