"""Validation of Tinker request bodies (the JSON encoding SkyRL's server accepts).

Shape errors answer 422 with FastAPI's detail list, `{"detail": [{type, loc, msg, input}]}`, with the same
error types and locations SkyRL's pydantic models give, so a client written for SkyRL reads them alike.
What this host checks beyond the shape (token ids inside the vocabulary, array lengths, the context) answers
400 with a string detail, as SkyRL's handlers do. Unknown fields are ignored, as SkyRL ignores them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from . import tokenizer
from .protocol import FLOAT32_MAX, MAX_ITEMS, Datum, LossConfig, OptimConfig

LOSS_FNS = ('cross_entropy', 'importance_sampling', 'ppo', 'gspo', 'cispo', 'ppo_critic', 'dppo')
SUPPORTED_LOSSES = ('cross_entropy', 'importance_sampling', 'ppo')
# SkyRL's keys per loss, and this host's own: kl_coef (a k3 KL penalty to the policy's reference weights) and
# ratio_cap (truncated importance weights) for the policy-gradient losses.
LOSS_CONFIG_KEYS = {
    'cross_entropy': (),
    'importance_sampling': ('kl_coef', 'ratio_cap'),
    'ppo': ('clip_low_threshold', 'clip_high_threshold', 'value_clip', 'kl_coef', 'ratio_cap'),
}
CHECKPOINT_NAME = re.compile(r'^[a-zA-Z0-9_-]+$')
MAX_SAMPLES = 128
MISSING = object()


class Invalid(Exception):
    """422 with FastAPI's validation detail list."""

    def __init__(self, errors: list[dict]):
        super().__init__(f'{len(errors)} validation error(s)')
        self.errors = errors


class TinkerRefusal(Exception):
    """A request refused with `{"detail": message}` and `status`."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


class Fields:
    """Reads a body, collecting errors as pydantic reports them; `done()` raises them all at once."""

    def __init__(self, prefix: tuple = ('body',), with_url: bool = False):
        self.prefix = prefix
        self.with_url = with_url
        self.errors: list[dict] = []

    def error(self, type_: str, loc: tuple, msg: str, value, ctx: dict | None = None) -> object:
        item = {'type': type_, 'loc': [*self.prefix, *loc], 'msg': msg, 'input': value}
        if ctx is not None:
            item['ctx'] = ctx
        if self.with_url:
            item['url'] = f'https://errors.pydantic.dev/2.13/v/{type_}'
        self.errors.append(item)
        return MISSING

    def done(self) -> None:
        if self.errors:
            raise Invalid(self.errors)

    def obj(self, value, loc: tuple):
        if value is MISSING or isinstance(value, dict):
            return value
        return self.error('model_attributes_type', loc, 'Input should be a valid dictionary or object to extract fields from', value)

    def field(self, body: dict, key: str, loc: tuple, required: bool = True, default=None):
        if key in body and body[key] is not None:
            return body[key]
        if key in body and body[key] is None and not required:
            return default
        if required:
            return self.error('missing', (*loc, key), 'Field required', body)
        return default

    # Each reader passes MISSING (already reported) and None (an optional field left out) through.

    def string(self, value, loc: tuple):
        if value is MISSING or value is None or isinstance(value, str):
            return value
        return self.error('string_type', loc, 'Input should be a valid string', value)

    def integer(self, value, loc: tuple):
        if value is MISSING or value is None:
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return self.error('int_parsing' if isinstance(value, str) else 'int_type', loc,
                              'Input should be a valid integer' + (', unable to parse string as an integer' if isinstance(value, str) else ''), value)
        if isinstance(value, float):
            if not value.is_integer():
                return self.error('int_from_float', loc, 'Input should be a valid integer, got a number with a fractional part', value)
            value = int(value)
        return value

    def number(self, value, loc: tuple, ge: float | None = None, gt: float | None = None, lt: float | None = None):
        if value is MISSING or value is None:
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return self.error('float_parsing' if isinstance(value, str) else 'float_type', loc,
                              'Input should be a valid number' + (', unable to parse string as a number' if isinstance(value, str) else ''), value)
        if not math.isfinite(value):
            return self.error('finite_number', loc, 'Input should be a finite number', value)
        if ge is not None and value < ge:
            return self.error('greater_than_equal', loc, f'Input should be greater than or equal to {ge}', value, {'ge': ge})
        if gt is not None and value <= gt:
            return self.error('greater_than', loc, f'Input should be greater than {gt}', value, {'gt': gt})
        if lt is not None and value >= lt:
            return self.error('less_than', loc, f'Input should be less than {lt}', value, {'lt': lt})
        return float(value)

    def boolean(self, value, loc: tuple):
        if value is MISSING or value is None or isinstance(value, bool):
            return value
        return self.error('bool_type', loc, 'Input should be a valid boolean', value)

    def array(self, value, loc: tuple):
        if value is MISSING or value is None or isinstance(value, list):
            return value
        return self.error('list_type', loc, 'Input should be a valid list', value)

    def literal(self, value, loc: tuple, allowed: tuple):
        if value is MISSING or value in allowed:
            return value
        expected = ', '.join(repr(a) for a in allowed[:-1]) + f' or {allowed[-1]!r}'
        return self.error('literal_error', loc, f'Input should be {expected}', value, {'expected': expected})

    def checkpoint_name(self, value, loc: tuple):
        value = self.string(value, loc)
        if value is MISSING or value is None:
            return value
        # fullmatch: `$` alone also matches before a final newline, and 'x\n' would name a file.
        if not CHECKPOINT_NAME.fullmatch(value) or len(value) > 255:
            pattern = CHECKPOINT_NAME.pattern
            if len(value) > 255:
                return self.error('string_too_long', loc, 'String should have at most 255 characters', value, {'max_length': 255})
            return self.error('string_pattern_mismatch', loc, f"String should match pattern '{pattern}'", value, {'pattern': pattern})
        return value


def _or(value, default):
    """An optional field's value, or its default when it was left out."""
    return default if value is None else value


def parse_json_object(fields: Fields, body) -> dict:
    if isinstance(body, dict):
        return body
    fields.error('model_attributes_type', (), 'Input should be a valid dictionary or object to extract fields from', body)
    fields.done()
    return {}


# ---------------------------------------------------------------- model input and tensors

def _chunk_tokens(fields: Fields, chunk, loc: tuple) -> list[int]:
    chunk = fields.obj(chunk, loc)
    if chunk is MISSING:
        return []
    kind = chunk.get('type', 'encoded_text')
    if kind in ('image', 'image_asset_pointer'):
        raise TinkerRefusal(400, f'{".".join(map(str, loc))}: image chunks are not supported: this host serves a text model')
    fields.literal(kind, (*loc, 'type'), ('encoded_text', 'image', 'image_asset_pointer'))
    tokens = fields.array(fields.field(chunk, 'tokens', loc), (*loc, 'tokens'))
    if tokens is MISSING:
        return []
    return [fields.integer(t, (*loc, 'tokens', i)) for i, t in enumerate(tokens)]


def parse_model_input(fields: Fields, value, loc: tuple) -> list[int]:
    """A ModelInput's tokens, its chunks concatenated."""
    value = fields.obj(value, loc)
    if value is MISSING:
        return []
    chunks = fields.array(fields.field(value, 'chunks', loc), (*loc, 'chunks'))
    if chunks is MISSING:
        return []
    tokens: list[int] = []
    for i, chunk in enumerate(chunks):
        tokens.extend(_chunk_tokens(fields, chunk, (*loc, 'chunks', i)))
    return tokens


def parse_tensor(fields: Fields, value, loc: tuple) -> list | object:
    """TensorData's data, flat. Sparse tensors are refused (SkyRL would read their values as dense data)."""
    value = fields.obj(value, loc)
    if value is MISSING:
        return MISSING
    if value.get('sparse_crow_indices') is not None or value.get('sparse_col_indices') is not None:
        raise TinkerRefusal(400, f'{".".join(map(str, loc))}: sparse TensorData is not supported here; send it dense')
    data = fields.array(fields.field(value, 'data', loc), (*loc, 'data'))
    if data is MISSING:
        return MISSING
    bad = [i for i, x in enumerate(data) if isinstance(x, bool) or not isinstance(x, (int, float))]
    if bad:
        # pydantic tries list[int], then list[float], and reports both.
        for i in bad:
            fields.error('int_parsing' if isinstance(data[i], str) else 'int_type', (*loc, 'data', 'list[int]', i),
                         'Input should be a valid integer', data[i])
        for i in bad:
            fields.error('float_parsing' if isinstance(data[i], str) else 'float_type', (*loc, 'data', 'list[float]', i),
                         'Input should be a valid number', data[i])
        return MISSING
    shape = value.get('shape')
    if shape is not None and not (isinstance(shape, list) and all(isinstance(d, int) for d in shape) and math.prod(shape) == len(data)):
        raise TinkerRefusal(400, f'{".".join(map(str, loc))}: shape {shape!r} does not hold the {len(data)} values of data')
    return data


# ---------------------------------------------------------------- forward and forward_backward

@dataclass
class PassRequest:
    model_id: str
    data: list[Datum]
    loss: LossConfig
    seq_id: int | None


def _loss_config(fields: Fields, loss_fn: str, config, loc: tuple) -> LossConfig | object:
    if config is None:
        config = {}
    config = fields.obj(config, (*loc, 'loss_fn_config'))
    if config is MISSING:
        return MISSING
    values = {key: fields.number(value, (*loc, 'loss_fn_config', key)) for key, value in config.items()}
    allowed = LOSS_CONFIG_KEYS.get(loss_fn, ())
    unknown = [key for key in config if key not in allowed]
    if unknown:
        message = (f"Value error, loss_fn='{loss_fn}' does not accept loss_fn_config keys. Received: {unknown}." if not allowed else
                   f"Value error, Invalid loss_fn_config keys for loss_fn='{loss_fn}': {unknown}. Allowed keys: {list(allowed)}.")
        return fields.error('value_error', loc, message, '<forward_backward_input object>', {'error': {}})
    if any(v is MISSING for v in values.values()):
        return MISSING
    low, high = values.get('clip_low_threshold', 0.8), values.get('clip_high_threshold', 1.2)
    if not 0 <= low <= 1 <= high:
        raise TinkerRefusal(400, f'loss_fn_config: need 0 <= clip_low_threshold <= 1 <= clip_high_threshold, got {low} and {high}')
    if 'value_clip' in values:
        raise TinkerRefusal(400, 'loss_fn_config.value_clip: this host has no value head')
    cap = values.get('ratio_cap')
    if cap is not None and cap <= 0:
        raise TinkerRefusal(400, f'loss_fn_config.ratio_cap must be above 0, got {cap}')
    kl = values.get('kl_coef', 0.0)
    if kl < 0:
        raise TinkerRefusal(400, f'loss_fn_config.kl_coef must be at least 0, got {kl}')
    return LossConfig(kind=loss_fn, clip_low=low, clip_high=high, kl_coef=kl, ratio_cap=cap)


def _datum(fields: Fields, value, loc: tuple, loss_fn: str, context: int) -> Datum | None:
    value = fields.obj(value, loc)
    if value is MISSING:
        return None
    tokens = parse_model_input(fields, fields.field(value, 'model_input', loc), (*loc, 'model_input'))
    inputs = fields.obj(fields.field(value, 'loss_fn_inputs', loc), (*loc, 'loss_fn_inputs'))
    if inputs is MISSING:
        return None
    arrays = {key: parse_tensor(fields, tensor, (*loc, 'loss_fn_inputs', key)) for key, tensor in inputs.items() if tensor is not None}
    needed = ('target_tokens',) if loss_fn == 'cross_entropy' else ('target_tokens', 'logprobs', 'advantages')
    for key in needed:
        if key not in arrays:
            fields.error('missing', (*loc, 'loss_fn_inputs', key), f'Field required: loss_fn {loss_fn!r} reads {", ".join(needed)}', inputs)
    if fields.errors:
        return None
    where = '.'.join(map(str, loc))
    n = len(tokens)
    if not 1 <= n <= context:
        raise TinkerRefusal(400, f'{where}.model_input has {n} tokens; this host takes 1 to {context} (its context)')
    if any(t is MISSING or not 0 <= t < tokenizer.VOCAB_SIZE for t in tokens):
        raise TinkerRefusal(400, f'{where}.model_input: token ids must be integers from 0 to {tokenizer.VOCAB_SIZE - 1}')
    for key, data in arrays.items():
        if data is not MISSING and len(data) != n:
            raise TinkerRefusal(400, f'{where}.loss_fn_inputs.{key} has {len(data)} values; model_input has {n} tokens and needs one per token')
    targets = arrays['target_tokens']
    if any(not float(t).is_integer() or not 0 <= t < tokenizer.VOCAB_SIZE for t in targets):
        raise TinkerRefusal(400, f'{where}.loss_fn_inputs.target_tokens: token ids must be integers from 0 to {tokenizer.VOCAB_SIZE - 1}')
    for key in ('weights', 'logprobs', 'advantages'):
        if key in arrays and not all(math.isfinite(x) and abs(x) <= FLOAT32_MAX for x in arrays[key]):
            raise TinkerRefusal(400, f'{where}.loss_fn_inputs.{key} must hold finite float32 numbers')
    weights = [float(w) for w in arrays.get('weights', [1.0] * n)]
    if any(w != 0 and t >= tokenizer.OUTPUT_SIZE for w, t in zip(weights, targets)):
        raise TinkerRefusal(400, f'{where}: a target token this model cannot generate (a special token, id {tokenizer.OUTPUT_SIZE} or above) '
                                 'has a non-zero weight; give such positions weight 0')
    zeros = [0.0] * n
    return Datum(tokens=tokens, targets=[int(t) for t in targets], weights=weights,
                 logprobs=[float(x) for x in arrays.get('logprobs', zeros)], advantages=[float(x) for x in arrays.get('advantages', zeros)])


def parse_pass(body, key: str, context: int, skyrl_forward_backward: bool) -> PassRequest:
    """forward (key 'forward_input') and forward_backward ('forward_backward_input'). SkyRL reports
    forward_backward's errors without the 'body' prefix and with pydantic's url; so does this."""
    fields = Fields(prefix=() if skyrl_forward_backward else ('body',), with_url=skyrl_forward_backward)
    body = parse_json_object(fields, body)
    model_id = fields.string(fields.field(body, 'model_id', ()), ('model_id',))
    seq_id = fields.integer(fields.field(body, 'seq_id', (), required=False), ('seq_id',))
    pass_input = fields.obj(fields.field(body, key, ()), (key,))
    data, loss = [], MISSING
    if pass_input is not MISSING:
        loss_fn = fields.literal(fields.field(pass_input, 'loss_fn', (key,)), (key, 'loss_fn'), LOSS_FNS)
        items = fields.array(fields.field(pass_input, 'data', (key,)), (key, 'data'))
        if loss_fn is not MISSING:
            loss = _loss_config(fields, loss_fn, pass_input.get('loss_fn_config'), (key,))
        fields.done()
        if loss_fn not in SUPPORTED_LOSSES:
            raise TinkerRefusal(400, f'loss_fn {loss_fn!r} is not supported by this host; it trains with {", ".join(SUPPORTED_LOSSES)}')
        if not 1 <= len(items) <= MAX_ITEMS:
            raise TinkerRefusal(400, f'{key}.data holds {len(items)} datums; send 1 to {MAX_ITEMS}')
        data = [_datum(fields, item, (key, 'data', i), loss_fn, context) for i, item in enumerate(items)]
    fields.done()
    if key == 'forward_backward_input' and not any(any(d.weights) for d in data):
        raise TinkerRefusal(400, 'every weight is 0: nothing to learn from')
    return PassRequest(model_id, data, loss, seq_id)


# ---------------------------------------------------------------- optim_step

def parse_optim_step(body) -> tuple[str, OptimConfig, int | None]:
    fields = Fields()
    body = parse_json_object(fields, body)
    model_id = fields.string(fields.field(body, 'model_id', ()), ('model_id',))
    seq_id = fields.integer(fields.field(body, 'seq_id', (), required=False), ('seq_id',))
    adam = fields.obj(fields.field(body, 'adam_params', ()), ('adam_params',))
    if adam is MISSING:
        fields.done()
    loc = ('adam_params',)

    def number(key: str, default: float, **bounds) -> float:
        return _or(fields.number(adam.get(key), (*loc, key), **bounds), default)

    config = OptimConfig(
        learning_rate=number('learning_rate', 1e-4, ge=0.0),
        beta1=number('beta1', 0.9, ge=0.0, lt=1.0),
        beta2=number('beta2', 0.95, ge=0.0, lt=1.0),
        eps=number('eps', 1e-12, gt=0.0),
        weight_decay=number('weight_decay', 0.0, ge=0.0),
        # The SDK's grad_clip_norm (0: no clipping); SkyRL ignores it, this host applies it.
        max_grad_norm=number('grad_clip_norm', 0.0, ge=0.0),
    )
    fields.done()
    return model_id, config, seq_id


# ---------------------------------------------------------------- sampling

@dataclass
class SampleRequest:
    prompt: list[int]
    num_samples: int
    max_tokens: int
    temperature: float
    top_p: float
    top_k: int
    seed: int | None
    stop_tokens: tuple[int, ...]
    stop_strings: tuple[bytes, ...]
    base_model: str | None
    model_path: str | None
    sampling_session_id: str | None
    prompt_logprobs: bool


def _stop(fields: Fields, value, loc: tuple) -> tuple[tuple[int, ...], tuple[bytes, ...]]:
    if value is None:
        return (), ()
    if not isinstance(value, list):
        fields.error('list_type', (*loc, 'list[int]'), 'Input should be a valid list', value)
        fields.error('list_type', (*loc, 'list[str]'), 'Input should be a valid list', value)
        return (), ()
    if all(isinstance(x, int) and not isinstance(x, bool) for x in value):
        return tuple(value), ()
    if all(isinstance(x, str) for x in value):
        return (), tuple(x.encode('utf-8') for x in value if x)
    for i, x in enumerate(value):
        if not (isinstance(x, int) and not isinstance(x, bool)):
            fields.error('int_parsing' if isinstance(x, str) else 'int_type', (*loc, 'list[int]', i), 'Input should be a valid integer, unable to parse string as an integer', x)
    for i, x in enumerate(value):
        if not isinstance(x, str):
            fields.error('string_type', (*loc, 'list[str]', i), 'Input should be a valid string', x)
    return (), ()


def parse_sample(body, context: int) -> SampleRequest:
    fields = Fields()
    body = parse_json_object(fields, body)
    prompt = parse_model_input(fields, fields.field(body, 'prompt', ()), ('prompt',))
    params = fields.obj(fields.field(body, 'sampling_params', ()), ('sampling_params',))
    num_samples = _or(fields.integer(body.get('num_samples'), ('num_samples',)), 1)
    base_model = fields.string(body.get('base_model'), ('base_model',))
    model_path = fields.string(body.get('model_path'), ('model_path',))
    session = fields.string(body.get('sampling_session_id'), ('sampling_session_id',))
    seq_id = fields.integer(body.get('seq_id'), ('seq_id',))
    prompt_logprobs = bool(fields.boolean(body.get('prompt_logprobs'), ('prompt_logprobs',)))
    topk = _or(fields.integer(body.get('topk_prompt_logprobs'), ('topk_prompt_logprobs',)), 0)
    if session is not None and seq_id is None:
        fields.error('value_error', (), "Value error, 'seq_id' must be provided when 'sampling_session_id' is used", body, {'error': {}})
    elif session is None and (base_model is None) == (model_path is None):
        fields.error('value_error', (), "Value error, When 'sampling_session_id' is not provided, exactly one of 'base_model' or 'model_path' must be provided",
                     body, {'error': {}})
    stop_tokens, stop_strings, max_tokens, temperature, top_p, top_k, seed = (), (), None, 1.0, 1.0, -1, None
    if params is not MISSING:
        loc = ('sampling_params',)
        stop_tokens, stop_strings = _stop(fields, params.get('stop'), (*loc, 'stop'))
        max_tokens = fields.integer(params.get('max_tokens'), (*loc, 'max_tokens'))
        temperature = _or(fields.number(params.get('temperature'), (*loc, 'temperature')), 1.0)
        top_p = _or(fields.number(params.get('top_p'), (*loc, 'top_p')), 1.0)
        top_k = _or(fields.integer(params.get('top_k'), (*loc, 'top_k')), -1)
        seed = fields.integer(params.get('seed'), (*loc, 'seed'))
    fields.done()
    if max_tokens is None:
        raise TinkerRefusal(400, 'max_tokens is currently required')
    if max_tokens <= 0:
        raise TinkerRefusal(400, 'max_tokens must be a positive number')
    if not 1 <= num_samples <= MAX_SAMPLES:
        raise TinkerRefusal(400, f'num_samples must be from 1 to {MAX_SAMPLES}, got {num_samples}')
    if not 0 <= temperature <= 2:
        raise TinkerRefusal(400, f'sampling_params.temperature must be from 0 to 2, got {temperature}')
    if not 0 < top_p <= 1:
        raise TinkerRefusal(400, f'sampling_params.top_p must be above 0 and at most 1, got {top_p}')
    if top_k == 0 or top_k < -1:
        raise TinkerRefusal(400, f'sampling_params.top_k must be -1 (off) or at least 1, got {top_k}')
    if topk:
        raise TinkerRefusal(400, 'topk_prompt_logprobs is not supported by this host')
    if not 1 <= len(prompt) <= context - 1:
        raise TinkerRefusal(400, f'the prompt has {len(prompt)} tokens; this host takes 1 to {context - 1} (its context less one)')
    if any(not 0 <= t < tokenizer.VOCAB_SIZE for t in prompt):
        raise TinkerRefusal(400, f'prompt: token ids must be integers from 0 to {tokenizer.VOCAB_SIZE - 1}')
    if any(not 0 <= t < tokenizer.OUTPUT_SIZE for t in stop_tokens):
        raise TinkerRefusal(400, f'sampling_params.stop: stop token ids must be tokens this model generates, 0 to {tokenizer.OUTPUT_SIZE - 1}')
    if session is not None and ':' in session:
        raise TinkerRefusal(400, 'sampling_session_id must not contain ":"')
    return SampleRequest(prompt, num_samples, max_tokens, temperature, top_p, top_k, seed, stop_tokens, stop_strings,
                         base_model, model_path, session, prompt_logprobs)
