"""Request validation: every body is checked here, before any tensor is touched,
and turned into plain dataclasses. A bad request raises `ProtocolError`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from . import tokenizer
from .sampling import SamplingParams

MAX_N = 16
MAX_TOP_LOGPROBS = 20
MAX_STOP = 4
MAX_CHOICES = 256
MAX_ITEMS = 4096
FLOAT32_MAX = 3.4028234663852886e38
SCORINGS = ('sum', 'mean', 'constrained')


class ProtocolError(Exception):
    """An error answered as `{error: {message, type, code, param}}` with `status`."""

    def __init__(self, status: int, message: str, type: str = 'invalid_request_error', code: str | None = None, param: str | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param

    def body(self) -> dict:
        return {'error': {'message': self.message, 'type': self.type, 'code': self.code, 'param': self.param}}


def bad(message: str, param: str | None = None) -> ProtocolError:
    return ProtocolError(400, message, param=param)


# ---------------------------------------------------------------- field readers

def _get(body: dict, key: str):
    """A field, with null meaning absent (OpenAI clients send nulls for unset options)."""
    return body.get(key)


def _is_int(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _is_number(x) -> bool:
    return (isinstance(x, (int, float)) and not isinstance(x, bool)) and math.isfinite(x)


def read_int(body: dict, key: str, default: int | None, lo: int, hi: int) -> int | None:
    value = _get(body, key)
    if value is None:
        return default
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not _is_int(value) or not lo <= value <= hi:
        raise bad(f'{key} must be an integer from {lo} to {hi}, got {value!r}', key)
    return value


def read_number(body: dict, key: str, default: float | None, lo: float, hi: float, lo_open: bool = False) -> float | None:
    value = _get(body, key)
    if value is None:
        return default
    if not _is_number(value) or value < lo or value > hi or (lo_open and value == lo):
        bound = f'{"above" if lo_open else "at least"} {lo} and at most {hi}'
        raise bad(f'{key} must be a finite number {bound}, got {value!r}', key)
    return float(value)


def read_bool(body: dict, key: str, default: bool) -> bool:
    value = _get(body, key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise bad(f'{key} must be true or false, got {value!r}', key)
    return value


def read_str(body: dict, key: str, required: bool = True) -> str | None:
    value = _get(body, key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise bad(f'{key} must be a non-empty string', key)
    return value


def require_object(body, what: str = 'the request body') -> dict:
    if not isinstance(body, dict):
        raise bad(f'{what} must be an object')
    return body


# ---------------------------------------------------------------- chat completions

@dataclass(frozen=True)
class ChatRequest:
    model: str
    messages: list[tuple[str, str]]
    params: SamplingParams
    max_tokens: int
    seed: int | None
    logprobs: bool
    return_token_ids: bool
    guided_choice: list[str] | None
    guided_choice_scoring: str


def _message_text(content, index: int) -> str:
    if content is None:
        return ''
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if not isinstance(part, dict) or part.get('type') != 'text' or not isinstance(part.get('text'), str):
                raise bad(f'messages[{index}].content: only text parts ({{"type": "text", "text": ...}}) are supported', 'messages')
            parts.append(part['text'])
        return ''.join(parts)
    raise bad(f'messages[{index}].content must be a string, a list of text parts or null', 'messages')


def _parse_messages(messages, where: str = 'messages') -> list[tuple[str, str]]:
    if not isinstance(messages, list) or not messages:
        raise bad(f'{where} must be a non-empty array', 'messages')
    parsed = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict):
            raise bad(f'{where}[{i}] must be an object', 'messages')
        role = m.get('role')
        if role not in tokenizer.ROLE_TOKENS:
            raise bad(f'{where}[{i}].role must be one of {", ".join(tokenizer.ROLE_TOKENS)}, got {role!r}', 'messages')
        parsed.append((role, _message_text(m.get('content'), i)))
    return parsed


def _parse_scoring(body: dict, default_scoring: str) -> str:
    scoring = _get(body, 'guided_choice_scoring') or default_scoring
    if scoring not in SCORINGS:
        raise bad(f'guided_choice_scoring must be one of {", ".join(SCORINGS)}, got {scoring!r}', 'guided_choice_scoring')
    return scoring


def parse_chat_request(body, default_max_tokens: int, default_scoring: str = 'sum') -> ChatRequest:
    body = require_object(body)
    model = read_str(body, 'model')
    parsed_messages = _parse_messages(_get(body, 'messages'))

    if _get(body, 'stream'):
        raise bad('streaming is not supported; send stream: false', 'stream')
    for key in ('frequency_penalty', 'presence_penalty'):
        if read_number(body, key, 0.0, -2.0, 2.0) != 0.0:
            raise bad(f'{key} is not supported; leave it out or send 0', key)
    if _get(body, 'logit_bias'):
        raise bad('logit_bias is not supported', 'logit_bias')
    if _get(body, 'tools'):
        raise bad('tools are not supported', 'tools')

    n = read_int(body, 'n', 1, 1, MAX_N)
    temperature = read_number(body, 'temperature', 1.0, 0.0, 2.0)
    top_p = read_number(body, 'top_p', 1.0, 0.0, 1.0, lo_open=True)
    max_tokens = read_int(body, 'max_tokens', None, 1, 1 << 30)
    if max_tokens is None:
        max_tokens = read_int(body, 'max_completion_tokens', default_max_tokens, 1, 1 << 30)
    seed = read_int(body, 'seed', None, -(1 << 63), (1 << 64) - 1)
    logprobs = read_bool(body, 'logprobs', False)
    top_logprobs = read_int(body, 'top_logprobs', 0, 0, MAX_TOP_LOGPROBS)
    return_token_ids = read_bool(body, 'return_token_ids', False)

    stop = _get(body, 'stop')
    if stop is None:
        stop = []
    elif isinstance(stop, str):
        stop = [stop]
    if not isinstance(stop, list) or len(stop) > MAX_STOP or not all(isinstance(s, str) and s for s in stop):
        raise bad(f'stop must be a non-empty string or an array of at most {MAX_STOP} non-empty strings', 'stop')

    guided = _get(body, 'guided_choice')
    if guided is not None:
        if not isinstance(guided, list) or not 1 <= len(guided) <= MAX_CHOICES or not all(isinstance(c, str) for c in guided):
            raise bad(f'guided_choice must be an array of 1 to {MAX_CHOICES} strings', 'guided_choice')
        guided = list(dict.fromkeys(guided))  # duplicates would only double a choice's weight
    scoring = _parse_scoring(body, default_scoring)

    return ChatRequest(
        model=model,
        messages=parsed_messages,
        params=SamplingParams(
            n=n,
            temperature=temperature,
            top_p=top_p,
            max_tokens=max_tokens,
            stop=tuple(s.encode('utf-8') for s in stop),
            top_logprobs=top_logprobs if logprobs else 0,
        ),
        max_tokens=max_tokens,
        seed=seed,
        logprobs=logprobs,
        return_token_ids=return_token_ids,
        guided_choice=guided,
        guided_choice_scoring=scoring,
    )


@dataclass(frozen=True)
class ChoiceItem:
    messages: list[tuple[str, str]]
    choices: list[str]


@dataclass(frozen=True)
class ChoiceRequest:
    model: str
    items: list[ChoiceItem]
    temperature: float
    guided_choice_scoring: str


def parse_choice_request(body, default_scoring: str = 'sum') -> ChoiceRequest:
    """POST /v1/choice_probabilities: prompts with their choices, for the exact probabilities of a guided pick."""
    body = require_object(body)
    model = read_str(body, 'model')
    items = _get(body, 'items')
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_ITEMS:
        raise bad(f'items must be an array of 1 to {MAX_ITEMS} objects {{messages, choices}}', 'items')
    parsed = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise bad(f'items[{i}] must be an object {{messages, choices}}', 'items')
        choices = item.get('choices')
        if not isinstance(choices, list) or not 1 <= len(choices) <= MAX_CHOICES or not all(isinstance(c, str) for c in choices):
            raise bad(f'items[{i}].choices must be an array of 1 to {MAX_CHOICES} strings', 'items')
        if len(set(choices)) != len(choices):
            raise bad(f'items[{i}].choices lists a string twice; each choice once, so that each has its own probability', 'items')
        parsed.append(ChoiceItem(messages=_parse_messages(item.get('messages'), f'items[{i}].messages'), choices=choices))
    return ChoiceRequest(
        model=model,
        items=parsed,
        temperature=read_number(body, 'temperature', 1.0, 0.0, 2.0),
        guided_choice_scoring=_parse_scoring(body, default_scoring),
    )


# ---------------------------------------------------------------- training

@dataclass(frozen=True)
class LossConfig:
    """A training loss, Tinker's names: cross_entropy, importance_sampling or ppo (clipped to [clip_low, clip_high])."""
    kind: str
    clip_low: float = 0.8
    clip_high: float = 1.2
    kl_coef: float = 0.0
    # Truncated importance weights (IMPALA's rho-bar): a token's weight is min(ratio, ratio_cap); None: no cap.
    ratio_cap: float | None = None


@dataclass
class Datum:
    """One training sequence as Tinker sends it: position i predicts targets[i] after tokens[:i + 1], and counts
    with weights[i]; logprobs are the sampler's and advantages the learner's, per position (0 where unused)."""
    tokens: list[int]
    targets: list[int]
    weights: list[float]
    logprobs: list[float]
    advantages: list[float]


@dataclass(frozen=True)
class OptimConfig:
    learning_rate: float
    weight_decay: float
    max_grad_norm: float
    beta1: float
    beta2: float
    eps: float
