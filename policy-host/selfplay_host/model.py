"""A small decoder-only transformer over byte tokens (pre-LayerNorm, learned
positions, input and output embeddings tied).

Three ways in: `score` runs whole sequences and returns logits only where they
are asked for (teacher forcing, for training), `score_shared` does the same for
rows in which several completions follow one prompt (guided choices), and
`step` runs new tokens against a key/value cache (sampling).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from . import tokenizer


@dataclass(frozen=True)
class ModelConfig:
    d_model: int = 64
    layers: int = 2
    heads: int = 4
    context: int = 256
    mlp_ratio: int = 4

    def __post_init__(self) -> None:
        if min(self.d_model, self.layers, self.heads, self.mlp_ratio) < 1 or self.context < 8:
            raise ValueError('d_model, layers, heads and mlp_ratio must be positive and context at least 8')
        if self.d_model % self.heads:
            raise ValueError(f'd_model ({self.d_model}) must be a multiple of heads ({self.heads})')

    def as_dict(self) -> dict:
        return asdict(self)


# Debian's CPU torch multiplies float32 matrices with a generic BLAS, while its
# convolutions go through oneDNN: a 1x1 convolution computes the same product
# about 7 times faster (forward and backward). Small inputs use F.linear, which
# has less overhead.
_CONV_MIN_ROWS = 32


def dense(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """x @ weight.T + bias."""
    n_in = x.shape[-1]
    rows = x.numel() // n_in
    if x.device.type != 'cpu' or x.dtype != torch.float32 or rows < _CONV_MIN_ROWS:
        return F.linear(x, weight, bias)
    out = F.conv2d(x.reshape(rows, n_in, 1, 1), weight[:, :, None, None], bias)
    return out.view(*x.shape[:-1], weight.shape[0])


class Dense(nn.Linear):
    """A linear layer, optionally with a low-rank adapter (LoRA): its weight is W + (alpha / r) * B @ A, with W
    frozen and A (r x in), B (out x r) trained; B starts at zero, so a new adapter changes nothing."""

    def __init__(self, n_in: int, n_out: int):
        super().__init__(n_in, n_out)
        self.lora_A: nn.Parameter | None = None
        self.lora_B: nn.Parameter | None = None
        self.lora_scale = 0.0

    def add_adapter(self, rank: int, alpha: float, generator: torch.Generator) -> None:
        n_out, n_in = self.weight.shape
        # PEFT's initialisation: A as nn.Linear's default (kaiming uniform, a = sqrt 5), B zero.
        bound = 1.0 / math.sqrt(n_in)
        self.lora_A = nn.Parameter((torch.rand(rank, n_in, generator=generator) * 2 - 1).mul_(bound).to(self.weight.device))
        self.lora_B = nn.Parameter(torch.zeros(n_out, rank, device=self.weight.device))
        self.lora_scale = alpha / rank

    def effective_weight(self) -> torch.Tensor:
        if self.lora_A is None:
            return self.weight
        return self.weight + self.lora_scale * (self.lora_B @ self.lora_A)

    @torch.no_grad()
    def merge_adapter(self) -> None:
        """Folds the adapter into W (for sampling copies, which then run as fast as a plain layer)."""
        if self.lora_A is not None:
            self.weight.copy_(self.effective_weight())
            self.lora_A = self.lora_B = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return dense(x, self.effective_weight(), self.bias)


class Block(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        d = cfg.d_model
        self.d = d
        self.heads = cfg.heads
        self.ln1 = nn.LayerNorm(d)
        self.qkv = Dense(d, 3 * d)
        self.proj = Dense(d, d)
        self.ln2 = nn.LayerNorm(d)
        self.fc = Dense(d, cfg.mlp_ratio * d)
        self.out = Dense(cfg.mlp_ratio * d, d)

    def _split(self, t: torch.Tensor) -> torch.Tensor:
        b, n, _ = t.shape
        return t.view(b, n, self.heads, self.d // self.heads).transpose(1, 2)

    def _merge(self, t: torch.Tensor) -> torch.Tensor:
        b, _, n, _ = t.shape
        return t.transpose(1, 2).reshape(b, n, self.d)

    def _attend(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
        # One fused product, scale and mask (baddbmm) instead of three passes over (B, H, n, m), forward and back.
        # `allowed` is (n, m), shared by every row and head, or (B, 1, n, m).
        b, h, n, dh = q.shape
        m = k.shape[2]
        mask = torch.zeros(allowed.shape, dtype=q.dtype, device=q.device).masked_fill_(~allowed, float('-inf'))
        if mask.dim() > 2:
            mask = mask.expand(b, h, n, m).reshape(b * h, n, m)
        scores = torch.baddbmm(mask, q.reshape(b * h, n, dh), k.reshape(b * h, m, dh).transpose(1, 2), alpha=1.0 / math.sqrt(dh))
        return self._merge(torch.bmm(torch.softmax(scores, dim=-1), v.reshape(b * h, m, dh)).view(b, h, n, dh))

    def _mlp(self, h: torch.Tensor) -> torch.Tensor:
        return h + self.out(F.gelu(self.fc(self.ln2(h))))

    def forward(self, h: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
        q, k, v = self.qkv(self.ln1(h)).split(self.d, dim=-1)
        h = h + self.proj(self._attend(self._split(q), self._split(k), self._split(v), allowed))
        return self._mlp(h)

    def forward_at(self, h: torch.Tensor, positions: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
        """Outputs at `positions` (B, S) only; keys and values come from every position of h (B, T, d).

        In the last layer nothing else is needed, and this skips the query,
        output projection and MLP of every prompt position.
        """
        d = self.d
        x = self.ln1(h)
        w, b = self.qkv.effective_weight(), self.qkv.bias
        k, v = dense(x, w[d:], b[d:]).split(d, dim=-1)
        index = positions.unsqueeze(-1).expand(-1, -1, d)
        hs = h.gather(1, index)
        q = dense(x.gather(1, index), w[:d], b[:d])
        hs = hs + self.proj(self._attend(self._split(q), self._split(k), self._split(v), allowed))
        return self._mlp(hs)

    def forward_cached(self, h: torch.Tensor, cache: tuple[torch.Tensor, torch.Tensor], start: int) -> torch.Tensor:
        """h (B, t, d) holds positions start..start+t-1; their keys and values are written into the cache."""
        t = h.shape[1]
        q, k, v = self.qkv(self.ln1(h)).split(self.d, dim=-1)
        cache_k, cache_v = cache
        cache_k[:, :, start:start + t] = self._split(k)
        cache_v[:, :, start:start + t] = self._split(v)
        end = start + t
        allowed = torch.arange(end, device=h.device)[None, :] <= torch.arange(start, end, device=h.device)[:, None]
        h = h + self.proj(self._attend(self._split(q), cache_k[:, :, :end], cache_v[:, :, :end], allowed))
        return self._mlp(h)


class TinyTransformer(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Embedding(tokenizer.VOCAB_SIZE, cfg.d_model)
        self.pos = nn.Parameter(torch.zeros(cfg.context, cfg.d_model))
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.layers))
        self.ln_f = nn.LayerNorm(cfg.d_model)

    def init_weights(self, seed: int) -> None:
        """GPT-2 style initialisation, from its own generator so it depends on `seed` only."""
        g = torch.Generator().manual_seed(seed)
        residual_std = 0.02 / math.sqrt(2 * self.cfg.layers)
        with torch.no_grad():
            for name, p in self.named_parameters():
                if name.endswith('bias'):
                    p.zero_()
                elif '.ln' in name or name.startswith('ln_f'):
                    p.fill_(1.0)
                else:
                    std = residual_std if name.endswith(('proj.weight', 'out.weight')) else 0.02
                    p.copy_(torch.randn(p.shape, generator=g) * std)

    def _head(self, h: torch.Tensor) -> torch.Tensor:
        return dense(self.ln_f(h), self.embed.weight[:tokenizer.OUTPUT_SIZE])

    def score(self, tokens: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        """Logits (B, S, OUTPUT_SIZE) of the next token after each of `positions` (B, S) of `tokens` (B, T).

        Right padding is harmless: a position only sees positions before it.
        """
        return self.head_at(self.trunk(tokens), positions)

    def trunk(self, tokens: torch.Tensor) -> torch.Tensor:
        """Every block but the last, at every position of `tokens` (B, T): what `head_at` scores from."""
        t = tokens.shape[1]
        h = self.embed(tokens) + self.pos[:t]
        arange = torch.arange(t, device=tokens.device)
        causal = arange[None, :] <= arange[:, None]
        for block in self.blocks[:-1]:
            h = block(h, causal)
        return h

    def head_at(self, h: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        """The last block and the output layer at `positions` (B, S) only, from the trunk's output h (B, T, d)."""
        arange = torch.arange(h.shape[1], device=h.device)
        allowed = (arange[None, None, :] <= positions[:, :, None]).unsqueeze(1)
        return self._head(self.blocks[-1].forward_at(h, positions, allowed))

    def score_shared(self, tokens: torch.Tensor, position_ids: torch.Tensor, allowed: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        """Like `score`, with the position id of each token (B, T) and which tokens each may attend to, allowed
        (B, T, T) as (query, key), given: a row can hold a prompt once and several completions after it, each
        at the positions that follow the prompt and seeing only the prompt and its own earlier tokens.

        Every query must be allowed some key, padding included (a row of -inf would make NaNs).
        """
        h = self.trunk_shared(tokens, position_ids, allowed)
        at = allowed.gather(1, positions.unsqueeze(-1).expand(-1, -1, allowed.shape[-1])).unsqueeze(1)
        return self._head(self.blocks[-1].forward_at(h, positions, at))

    def trunk_shared(self, tokens: torch.Tensor, position_ids: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
        """`trunk` of rows laid out as `score_shared` takes them: each token at its position id, seeing the keys
        `allowed` (B, T, T) lets it."""
        h = self.embed(tokens) + self.pos[position_ids]
        mask = allowed.unsqueeze(1)
        for block in self.blocks[:-1]:
            h = block(h, mask)
        return h

    def new_cache(self, batch: int, length: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
        cfg = self.cfg
        shape = (batch, cfg.heads, length, cfg.d_model // cfg.heads)
        device = self.pos.device
        return [(torch.zeros(shape, device=device), torch.zeros(shape, device=device)) for _ in self.blocks]

    def step(self, tokens: torch.Tensor, cache: list, start: int) -> torch.Tensor:
        """Runs tokens (B, t) at positions start..start+t-1; returns the logits after the last one (B, OUTPUT_SIZE)."""
        t = tokens.shape[1]
        h = self.embed(tokens) + self.pos[start:start + t]
        for block, layer_cache in zip(self.blocks, cache):
            h = block.forward_cached(h, layer_cache, start)
        return self._head(h[:, -1])


ADAPTED = ('qkv', 'proj', 'fc', 'out')


def adapted_layers(model: TinyTransformer) -> list[tuple[str, Dense]]:
    """(module path, layer) of every layer LoRA adapts: attention (qkv, proj) and MLP (fc, out) of each block."""
    return [(f'blocks.{i}.{name}', getattr(block, name)) for i, block in enumerate(model.blocks) for name in ADAPTED]


def add_adapters(model: TinyTransformer, rank: int, alpha: float, seed: int) -> None:
    """LoRA: adapters of `rank` on every attention and MLP weight; everything else frozen."""
    generator = torch.Generator().manual_seed(seed)
    model.requires_grad_(False)
    for _, layer in adapted_layers(model):
        layer.add_adapter(rank, alpha, generator)


def build_model(cfg: ModelConfig, seed: int, device: torch.device) -> TinyTransformer:
    model = TinyTransformer(cfg)
    model.init_weights(seed)
    return model.to(device)
