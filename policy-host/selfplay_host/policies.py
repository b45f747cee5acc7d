"""Named policies: training weights, optimizer, reference weights and the
published versions the sampler serves.

A policy's `version` counts the optimizer steps applied to its training
weights. `publish` copies the training weights into a sampler version with
that number; the newest `keep` published versions stay available.
"""

from __future__ import annotations

import copy
import re
import threading
from collections import OrderedDict

import torch

from .model import ModelConfig, TinyTransformer, adapted_layers, add_adapters, build_model
from .protocol import ProtocolError

POLICY_NAME = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$')


def frozen_copy(model: TinyTransformer, merge: bool = False) -> TinyTransformer:
    """A copy that does not train; `merge` folds LoRA adapters into the weights (a sampler copy)."""
    clone = copy.deepcopy(model)
    clone.requires_grad_(False)
    if merge:
        for _, layer in adapted_layers(clone):
            layer.merge_adapter()
    return clone.eval()


def same_weights(a: TinyTransformer, b: TinyTransformer) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


# LoRA's alpha, fixed as SkyRL fixes it: an adapter of rank r is scaled by LORA_ALPHA / r.
LORA_ALPHA = 32.0


class Policy:
    def __init__(self, name: str, cfg: ModelConfig, seed: int, device: torch.device, keep: int, lora_rank: int = 0, lora_seed: int = 0):
        self.name = name
        self.cfg = cfg
        self.seed = seed
        self.keep = keep
        self.model = build_model(cfg, seed, device)
        # 0: full fine-tuning; r > 0: LoRA adapters of rank r train and the base weights stay frozen.
        self.lora_rank = lora_rank
        self.lora_alpha = LORA_ALPHA if lora_rank else 0.0
        if lora_rank:
            add_adapters(self.model, lora_rank, LORA_ALPHA, lora_seed)
        # What the optimizer moves; gradients (pending ones too) are lists in this order.
        self.trainable = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(self.trainable, lr=1e-3, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.0)
        # The KL anchor: the initial weights, or the weights of the last `load`.
        self.reference = frozen_copy(self.model)
        self.version = 0
        # Gradients summed by forward_backward, waiting for optim_step (None when there are none).
        self.pending: list[torch.Tensor] | None = None
        self.pending_samples = 0
        self.published: OrderedDict[int, TinyTransformer] = OrderedDict()
        # Held while `published` and `pinned` change or are read outside the host's weights lock: samplers
        # look versions up while a training step holds that lock.
        self.catalog = threading.Lock()
        # Versions kept beyond the newest `keep` until the host stops (a league of past versions).
        self.pinned: set[int] = set()
        self.publish()

    @property
    def latest(self) -> int:
        return next(reversed(self.published))

    def publish(self, pin: bool = False) -> int:
        """Makes the training weights the newest sampler version (pinned: kept past `keep`); returns its number."""
        if self.published and self.version <= self.latest:
            existing = self.published.get(self.version)
            if existing is not None and same_weights(existing, frozen_copy(self.model, merge=True)):
                if pin:
                    with self.catalog:
                        self.pinned.add(self.version)
                return self.version
            raise ProtocolError(
                409,
                f'cannot publish {self.name}@{self.version}: version {self.latest} is already published '
                f'{"with other weights under this number" if existing is not None else "and versions only grow"} '
                '(a checkpoint older than the newest published version was loaded); take optimizer steps past it first',
                type='conflict',
            )
        frozen = frozen_copy(self.model, merge=True)
        with self.catalog:
            self.published[self.version] = frozen
            if pin:
                self.pinned.add(self.version)
            self._trim()
        return self.version

    def _trim(self) -> None:
        """Under the catalog lock: only the newest `keep` unpinned versions stay."""
        unpinned = [number for number in self.published if number not in self.pinned]
        for number in unpinned[:max(0, len(unpinned) - self.keep)]:
            del self.published[number]

    def unpin(self, version: int) -> None:
        """A pinned version becomes an ordinary one: it goes once `keep` newer unpinned versions are published."""
        with self.catalog:
            self.pinned.discard(version)
            self._trim()

    def reset_reference(self) -> None:
        self.reference = frozen_copy(self.model)

    @torch.no_grad()
    def move_reference(self, mix: float) -> None:
        """reference <- (1 - mix) * reference + mix * training weights: a KL anchor that follows slowly (a magnet)."""
        for ref, current in zip(self.reference.parameters(), self.model.parameters()):
            ref.mul_(1 - mix).add_(current, alpha=mix)

    def status(self) -> dict:
        with self.catalog:
            return {'id': self.name, 'version': self.version, 'published': list(self.published), 'pinned': sorted(self.pinned)}


class Registry:
    def __init__(self, names: list[str], cfg: ModelConfig, seed: int, device: torch.device, keep: int):
        self.cfg = cfg
        self.device = device
        self.policies: dict[str, Policy] = {}
        for index, name in enumerate(names):
            if not POLICY_NAME.match(name):
                raise ValueError(f'policy name {name!r}: use letters, digits, ".", "_" and "-" (at most 64)')
            if name in self.policies:
                raise ValueError(f'policy {name!r} is given twice')
            self.policies[name] = Policy(name, cfg, seed + index, device, keep)

    def get(self, name: str) -> Policy:
        policy = self.policies.get(name) if isinstance(name, str) else None
        if policy is None:
            raise ProtocolError(404, f'no policy named {name!r}; this host serves: {", ".join(self.policies)}', code='policy_not_found', param='policy')
        return policy

    def resolve(self, model: str) -> tuple[str, TinyTransformer]:
        """`name@version` or `name` (the newest published version) -> (exact model name, sampler weights)."""
        name, at, version = model.rpartition('@') if '@' in model else (model, '', '')
        policy = self.policies.get(name)
        weights = None
        if policy is not None:
            with policy.catalog:
                if not at:
                    number = policy.latest
                elif version.isdigit() and version.isascii():
                    number = int(version)
                else:
                    number = -1
                weights = policy.published.get(number)
        if weights is None:
            served = ', '.join(m['id'] for m in self.models())
            raise ProtocolError(404, f'The model `{model}` does not exist. Served: {served}', code='model_not_found', param='model')
        return f'{name}@{number}', weights

    def models(self) -> list[dict]:
        out = []
        for policy in self.policies.values():
            with policy.catalog:
                numbers = list(reversed(policy.published))
                latest = policy.latest
            for number in numbers:
                out.append({'id': f'{policy.name}@{number}', 'object': 'model', 'created': 0, 'owned_by': 'selfplay',
                            'root': policy.name, 'version': number, 'max_model_len': self.cfg.context})
            out.append({'id': policy.name, 'object': 'model', 'created': 0, 'owned_by': 'selfplay',
                        'root': policy.name, 'version': latest, 'max_model_len': self.cfg.context})
        return out
