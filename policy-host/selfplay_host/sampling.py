"""Sampling completions, free or among given choices.

Every logprob reported is the model's own (softmax of the raw logits, before
temperature or top_p), as vLLM reports by default and as training recomputes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from . import tokenizer
from .model import TinyTransformer
from .scoring import SHARED_CONTEXTS, activation_cost, chunks, make_shared_batch, shared_length, shared_log_probs, shared_rows, target_logprobs


@dataclass
class Sample:
    token_ids: list[int]
    logprobs: list[float]
    # Per token, the `top_logprobs` most likely (token id, logprob), or None when not asked.
    top: list[list[tuple[int, float]]] | None
    text: str
    finish_reason: str  # 'stop' or 'length'


@dataclass(frozen=True)
class SamplingParams:
    n: int
    temperature: float
    top_p: float
    max_tokens: int
    stop: tuple[bytes, ...]
    top_logprobs: int
    top_k: int = -1
    # Token ids that end a completion (it keeps the id), beside END, which always does.
    stop_tokens: tuple[int, ...] = ()


def _pick(logits: torch.Tensor, logprobs: torch.Tensor, temperature: float, top_p: float, top_k: int, generator: torch.Generator) -> torch.Tensor:
    if temperature == 0:
        return logprobs.argmax(dim=-1)
    logits = logits.float()
    if 0 < top_k < logits.shape[-1]:
        kth = logits.topk(top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float('-inf'))
    probs = torch.softmax(logits / temperature, dim=-1)
    if top_p < 1:
        sorted_probs, order = probs.sort(dim=-1, descending=True)
        # Keep the smallest prefix whose mass reaches top_p (the first token always stays).
        drop = sorted_probs.cumsum(dim=-1) - sorted_probs >= top_p
        probs = torch.zeros_like(probs).scatter(-1, order, sorted_probs.masked_fill(drop, 0.0))
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


def generate(model: TinyTransformer, prompt: list[int], params: SamplingParams, generator: torch.Generator) -> list[Sample]:
    """`n` completions of `prompt`, decoded in lockstep from one shared prefill."""
    device = model.pos.device
    budget = min(params.max_tokens, model.cfg.context - len(prompt))
    n = params.n
    with torch.inference_mode():
        cache = model.new_cache(1, len(prompt) + budget)
        logits = model.step(torch.tensor([prompt], device=device), cache, 0)
        if n > 1:
            cache = [(k.expand(n, -1, -1, -1).clone(), v.expand(n, -1, -1, -1).clone()) for k, v in cache]
            logits = logits.expand(n, -1)
        tokens: list[list[int]] = [[] for _ in range(n)]
        lps: list[list[float]] = [[] for _ in range(n)]
        tops: list[list[list[tuple[int, float]]]] = [[] for _ in range(n)]
        texts: list[bytearray] = [bytearray() for _ in range(n)]
        finish: list[str | None] = [None] * n
        cut: list[int] = [0] * n  # bytes of a matched stop string, left out of the text
        for t in range(budget):
            logprobs = torch.log_softmax(logits.float(), dim=-1)
            chosen = _pick(logits, logprobs, params.temperature, params.top_p, params.top_k, generator)
            chosen_ids = chosen.tolist()
            chosen_lps = logprobs.gather(-1, chosen.unsqueeze(-1)).squeeze(-1).tolist()
            if params.top_logprobs:
                top_v, top_i = logprobs.topk(params.top_logprobs, dim=-1)
                top_v, top_i = top_v.tolist(), top_i.tolist()
            for r in range(n):
                if finish[r] is not None:
                    continue
                token = chosen_ids[r]
                tokens[r].append(token)
                lps[r].append(chosen_lps[r])
                if params.top_logprobs:
                    tops[r].append(list(zip(top_i[r], top_v[r])))
                if token == tokenizer.END or token in params.stop_tokens:
                    finish[r] = 'stop'
                    continue
                texts[r].append(token)
                for s in params.stop:
                    if texts[r].endswith(s):
                        finish[r], cut[r] = 'stop', len(s)
                        break
            if all(f is not None for f in finish) or t == budget - 1:
                break
            logits = model.step(chosen.unsqueeze(-1), cache, len(prompt) + t)
    return [
        Sample(
            token_ids=tokens[r],
            logprobs=lps[r],
            top=tops[r] if params.top_logprobs else None,
            text=bytes(texts[r][:len(texts[r]) - cut[r]]).decode('utf-8', errors='replace'),
            finish_reason=finish[r] or 'length',
        )
        for r in range(n)
    ]


def choice_weights(totals: torch.Tensor, temperature: float) -> torch.Tensor:
    """The probability that a guided pick takes each choice, from the choices' scores: softmax(score / T), or all
    of it on the first highest score at temperature 0."""
    if temperature == 0:
        weights = torch.zeros_like(totals)
        weights[int(totals.argmax())] = 1.0
        return weights
    return torch.softmax(totals / temperature, dim=0)


def score_choices(
    model: TinyTransformer, items: list[tuple[list[int], list[list[int]]]], top_logprobs: int = 0,
) -> list[list[tuple[list[float], list[list[tuple[int, float]]] | None]]]:
    """For each (prompt, completions), each completion's token logprobs after the prompt by teacher forcing, and
    with `top_logprobs`, per token the most likely (token id, logprob). Each prompt is run once, its
    completions after it in the same row (scoring.make_shared_batch)."""
    cfg = model.cfg
    device = model.pos.device
    rows = shared_rows(items, SHARED_CONTEXTS * cfg.context)
    row_items = [(items[i][0], [items[i][1][k] for k in ks]) for i, ks in rows]
    lengths = [shared_length(p, cs) for p, cs in row_items]
    scored: list[list] = [[None] * len(completions) for _, completions in items]
    with torch.inference_mode():
        for group in chunks(lengths, activation_cost(model)):
            batch = make_shared_batch([row_items[r] for r in group], device)
            all_lps = shared_log_probs(model, batch)
            chosen = target_logprobs(all_lps, batch).tolist()
            if top_logprobs:
                top_v, top_i = all_lps.topk(top_logprobs, dim=-1)
                top_v, top_i = top_v.tolist(), top_i.tolist()
            for b, r in enumerate(group):
                i, ks = rows[r]
                for k, (first, length) in zip(ks, batch.spans[b]):
                    top = [list(zip(top_i[b][s], top_v[b][s])) for s in range(first, first + length)] if top_logprobs else None
                    scored[i][k] = (chosen[b][first:first + length], top)
    return scored


def choice_scores(sequences: list[list[int]], logprobs: list[list[float]], scoring: str) -> list[float]:
    """Each choice's score from its token logprobs: `sum` (the sequence's logprob), `mean` (per token), or
    `constrained`, the logprob constrained decoding gives it: at each token, the model's distribution
    renormalised over the tokens that continue some choice sharing the tokens before it. Tokens that every
    choice still in play shares, and those after a choice has parted from the others, then count nothing."""
    if scoring == 'sum':
        return [sum(lps) for lps in logprobs]
    if scoring == 'mean':
        return [sum(lps) / len(lps) for lps in logprobs]
    scores = [0.0] * len(sequences)
    # Position by position, the groups of choices that share every token so far (they share the context too, so
    # any member's logprob of a token is the group's). A group whose members all take one token scores nothing.
    groups, k = [list(range(len(sequences)))], 0
    while groups:
        parted = []
        for group in groups:
            by_token: dict[int, list[int]] = {}
            for i in group:
                if len(sequences[i]) > k:
                    by_token.setdefault(sequences[i][k], []).append(i)
            if len(by_token) > 1:
                top = max(logprobs[members[0]][k] for members in by_token.values())
                norm = top + math.log(sum(math.exp(logprobs[members[0]][k] - top) for members in by_token.values()))
                for members in by_token.values():
                    for i in members:
                        scores[i] += logprobs[i][k] - norm
            parted.extend(by_token.values())
        groups, k = parted, k + 1
    return scores


def choice_probabilities(model: TinyTransformer, items: list[tuple[list[int], list[str]]], temperature: float, scoring: str = 'sum') -> list[list[float]]:
    """For each (prompt, choices), the probability of each choice under `choose` at `temperature`: the exact
    sampling distribution of a guided choice, every item's choices scored together in batches."""
    encoded = [(prompt, [tokenizer.encode_completion(c) for c in choices]) for prompt, choices in items]
    return [
        choice_weights(torch.tensor(choice_scores(sequences, [lps for lps, _ in per_choice], scoring), dtype=torch.float64), temperature).tolist()
        for (_, sequences), per_choice in zip(encoded, score_choices(model, encoded))
    ]


def choose(
    model: TinyTransformer,
    prompt: list[int],
    choices: list[str],
    n: int,
    temperature: float,
    top_logprobs: int,
    generator: torch.Generator,
    scoring: str = 'sum',
) -> list[Sample]:
    """`n` picks among `choices` (vLLM's guided_choice).

    Each choice is scored as the completion `choice bytes + END` by teacher
    forcing; a pick draws choice i with probability proportional to
    exp(score_i / temperature) (the highest score at temperature 0), the score
    as `scoring` says (choice_scores), and returns that choice's per-token
    logprobs.
    """
    sequences = [tokenizer.encode_completion(c) for c in choices]
    return pick(score_choices(model, [(prompt, sequences)], top_logprobs)[0], choices, sequences, n, temperature, generator, scoring)


def pick(
    scored: list[tuple[list[float], list[list[tuple[int, float]]] | None]],
    choices: list[str],
    sequences: list[list[int]],
    n: int,
    temperature: float,
    generator: torch.Generator,
    scoring: str = 'sum',
) -> list[Sample]:
    """`choose`'s `n` picks from the choices' scores (score_choices' answer for their prompt and `sequences`,
    the choices' completions)."""
    totals = torch.tensor(choice_scores(sequences, [lps for lps, _ in scored], scoring), dtype=torch.float64)
    if temperature == 0:
        picks = [int(totals.argmax())] * n
    else:
        weights = choice_weights(totals, temperature)
        picks = torch.multinomial(weights.float().to(generator.device), n, replacement=True, generator=generator).tolist()
    return [
        Sample(
            token_ids=list(sequences[i]),
            logprobs=scored[i][0],
            top=scored[i][1],
            text=choices[i],
            finish_reason='stop',
        )
        for i in picks
    ]
