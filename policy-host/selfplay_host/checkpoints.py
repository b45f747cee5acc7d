"""Checkpoints: a policy's training weights, optimizer state and version in one
file inside the checkpoint directory. Files are written to a temporary name
and renamed, so a killed host never leaves half a checkpoint; loading reads
only files inside the directory, with torch.load(weights_only=True).
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import tempfile

import torch

from . import safetensors
from .model import ADAPTED, adapted_layers
from .policies import Policy
from .protocol import ProtocolError, bad

FORMAT = 'selfplay-policy-host/1'
NAME = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$')
SUFFIX = '.pt'


def _to_cpu(value):
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    if isinstance(value, dict):
        return {k: _to_cpu(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_cpu(v) for v in value]
    return value


def save(policy: Policy, directory: str, name: str | None) -> str:
    if name is None:
        name = f'{policy.name}-v{policy.version}'
    if name.endswith(SUFFIX):
        name = name[:-len(SUFFIX)]
    if not NAME.match(name):
        raise bad('name must be 1 to 128 letters, digits, ".", "_" or "-", not starting with "." or "-"', 'name')
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(os.path.realpath(directory), name + SUFFIX)
    optimizer = policy.optimizer.state_dict()
    # torch 1.13's weights_only unpickler reads no floats, so everything but tensors travels as JSON text.
    meta = {'policy': policy.name, 'config': policy.cfg.as_dict(), 'version': policy.version, 'param_groups': optimizer['param_groups']}
    data = {
        'format': FORMAT,
        'meta': json.dumps(meta),
        'model': _to_cpu(policy.model.state_dict()),
        'optimizer_state': _to_cpu(optimizer['state']),
        'reference': _to_cpu(policy.reference.state_dict()),
    }
    fd, tmp = tempfile.mkstemp(prefix='.' + name, suffix='.tmp', dir=os.path.dirname(path))
    try:
        with os.fdopen(fd, 'wb') as f:
            torch.save(data, f)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def resolve(directory: str, path: str) -> str:
    """The real path of `path` (absolute, or relative to the directory) if it lies inside the directory."""
    root = os.path.realpath(directory)
    try:
        candidate = os.path.realpath(path if os.path.isabs(path) else os.path.join(root, path))
    except (ValueError, OSError) as error:  # a NUL byte, a name the file system refuses
        raise bad(f'path {path!r} is not a usable path: {error}', 'path') from None
    if os.path.commonpath([root, candidate]) != root or candidate == root:
        raise bad(f'path {path!r} is outside the checkpoint directory {root}', 'path')
    if not os.path.isfile(candidate):
        raise ProtocolError(404, f'no checkpoint at {candidate}', code='checkpoint_not_found', param='path')
    return candidate


def load(policy: Policy, directory: str, path: str, optimizer: bool = True) -> tuple[str, int]:
    """Restores weights, optimizer state (or, without `optimizer`, a fresh one), version and KL reference (the
    loaded weights in checkpoints saved without one)."""
    real = resolve(directory, path)
    try:
        data = torch.load(real, map_location=policy.model.pos.device, weights_only=True)
    except Exception as error:  # noqa: BLE001 - any unreadable file is the client's bad path
        raise bad(f'{real} is not a readable checkpoint: {error}', 'path') from None
    try:
        assert isinstance(data, dict) and data.get('format') == FORMAT
        meta = json.loads(data['meta'])
        config = meta['config']
    except (AssertionError, KeyError, TypeError, ValueError):
        raise bad(f'{real} is not a {FORMAT} checkpoint', 'path') from None
    if config != policy.cfg.as_dict():
        raise bad(f'{real} holds a model with config {config}, this host runs {policy.cfg.as_dict()}', 'path')
    saved_model = {k: v.clone() for k, v in policy.model.state_dict().items()}
    saved_optimizer = copy.deepcopy(policy.optimizer.state_dict())
    try:
        policy.model.load_state_dict(data['model'])
        policy.optimizer.load_state_dict({'state': data['optimizer_state'] if optimizer else {}, 'param_groups': meta['param_groups']})
        version = int(meta['version'])
        reference = data.get('reference')
        if reference is not None:
            frozen = copy.deepcopy(policy.reference)
            frozen.load_state_dict(reference)
    except Exception as error:  # noqa: BLE001 - put everything back, then report
        policy.model.load_state_dict(saved_model)
        policy.optimizer.load_state_dict(saved_optimizer)
        raise bad(f'{real} does not fit this policy: {error}', 'path') from None
    policy.version = version
    policy.pending = None
    policy.pending_samples = 0
    if reference is None:
        policy.reset_reference()
    else:
        policy.reference = frozen
    return real, policy.version


def save_adapter(policy: Policy, directory: str, base_model: str) -> str:
    """A LoRA policy's adapters in PEFT's layout: `directory`/adapter_config.json and adapter_model.safetensors
    (tensor names base_model.model.<module>.lora_A.weight and .lora_B.weight), written to a temporary folder and
    renamed into place."""
    tensors = {}
    for path, layer in adapted_layers(policy.model):
        tensors[f'base_model.model.{path}.lora_A.weight'] = layer.lora_A
        tensors[f'base_model.model.{path}.lora_B.weight'] = layer.lora_B
    config = {
        'peft_type': 'LORA', 'task_type': 'CAUSAL_LM', 'base_model_name_or_path': base_model,
        'r': policy.lora_rank, 'lora_alpha': policy.lora_alpha, 'lora_dropout': 0.0, 'bias': 'none',
        'target_modules': list(ADAPTED), 'fan_in_fan_out': False, 'inference_mode': True,
    }
    parent = os.path.dirname(os.path.realpath(directory))
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix='.adapter-', dir=parent)
    try:
        with open(os.path.join(staging, 'adapter_config.json'), 'w', encoding='utf-8') as f:
            json.dump(config, f, indent=2)
        with open(os.path.join(staging, 'adapter_model.safetensors'), 'wb') as f:
            f.write(safetensors.dumps(tensors, {'format': 'pt'}))
        os.replace(staging, directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return os.path.realpath(directory)
