"""The HTTP server: routes, body limits and encodings. The work behind each
route is in `Host`, which owns the policies and two locks: one serialises
every use of the training weights (training steps, publish, checkpoints),
the other sampling, which reads only published versions (frozen copies), so
that an actor samples the newest version while the learner trains the next.
"""

from __future__ import annotations

import json
import random
import socket
import sys
import threading
import time
import traceback
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

import torch

from . import protocol, sampling, tokenizer
from .model import ModelConfig
from .policies import Registry
from .protocol import MAX_ITEMS, ProtocolError, bad
from .tinker_api import LARGE_BODY_ROUTES, TinkerService
from .tinker_schema import Invalid, TinkerRefusal

MIB = 1024 * 1024
DRAIN_LIMIT = 1024 * MIB


@dataclass
class HostOptions:
    model: ModelConfig = field(default_factory=ModelConfig)
    policies: list[str] = field(default_factory=lambda: ['tiny'])
    seed: int = 0
    keep: int = 3
    device: str = 'cpu'
    checkpoint_dir: str = 'checkpoints'
    default_max_tokens: int = 64
    guided_choice_scoring: str = 'sum'
    # The most guided_choice requests scored together (ChoiceBatcher).
    max_choice_batch: int = 64
    max_json_bytes: int = 1 * MIB
    max_train_bytes: int = 64 * MIB
    # Seconds a connection may sit idle, and the most a request body may take to arrive.
    request_timeout: float = 60.0
    # forward/forward_backward requests that may wait while another is read and decoded; more get 503.
    max_train_waiting: int = 8
    # Tinker API: the longest a retrieve_future call waits for its result before answering 408 (the client asks
    # again), and how long a session that has heartbeated may fall silent before its models are unloaded.
    future_wait_seconds: float = 30.0
    session_timeout_seconds: float = 300.0
    verbose: bool = False


class Host:
    def __init__(self, options: HostOptions):
        self.options = options
        self.device = torch.device(options.device)
        self.registry = Registry(options.policies, options.model, options.seed, self.device, options.keep)
        # The training weights (steps, publish, checkpoints, reference); sampling runs beside it under its own.
        self.lock = threading.Lock()
        self.sampling_lock = threading.Lock()
        self.busy = BusyClock()
        self.choices = ChoiceBatcher(self.sampling_lock, self.busy, options.max_choice_batch)
        self.train_gate = TrainGate(options.max_train_waiting)
        # Seeds for requests that give none: reproducible per host seed and request order.
        self.rng = random.Random(options.seed)
        self.tinker = TinkerService(self)

    @property
    def context(self) -> int:
        return self.options.model.context

    # ------------------------------------------------------------ GET

    def health(self) -> dict:
        policies = [p.status() for p in self.registry.policies.values()]
        busy, uptime = self.busy.snapshot()
        return {'status': 'ok', 'device': str(self.device), 'policies': policies,
                'guided_choice_scoring': self.options.guided_choice_scoring,
                'guided_choice_requests': self.choices.requests, 'guided_choice_batches': self.choices.batches,
                'busy_seconds': busy, 'uptime_seconds': uptime}

    def models(self) -> dict:
        return {'object': 'list', 'data': self.registry.models()}

    def model(self, model_id: str) -> dict:
        for entry in self.models()['data']:
            if entry['id'] == model_id:
                return entry
        raise ProtocolError(404, f'The model `{model_id}` does not exist.', code='model_not_found', param='model')

    # ------------------------------------------------------------ sampling

    def chat(self, body) -> dict:
        request = protocol.parse_chat_request(body, self.options.default_max_tokens, self.options.guided_choice_scoring)
        if request.guided_choice is not None:
            longest = max(len(c.encode('utf-8')) + 1 for c in request.guided_choice)
            if longest > self.context - 1:
                raise bad(f'a guided_choice string is {longest - 1} bytes; at most {self.context - 2} fit the context', 'guided_choice')
            reserve = longest
        else:
            reserve = min(request.max_tokens, self.context // 2)
        prompt = tokenizer.encode_chat(request.messages, self.context - reserve)
        seed = request.seed if request.seed is not None else self.rng.getrandbits(63)
        name, weights = self.registry.resolve(request.model)
        generator = torch.Generator(device=self.device).manual_seed(seed)
        if request.guided_choice is not None:
            sequences = [tokenizer.encode_completion(c) for c in request.guided_choice]
            scored = self.choices.score(weights, prompt, sequences, request.params.top_logprobs)
            samples = sampling.pick(scored, request.guided_choice, sequences, request.params.n, request.params.temperature, generator,
                                    request.guided_choice_scoring)
        else:
            with self.sampling_lock, self.busy():
                samples = sampling.generate(weights, prompt, request.params, generator)
        return self._completion(name, request, prompt, samples)

    def choice_probabilities(self, body) -> dict:
        request = protocol.parse_choice_request(body, self.options.guided_choice_scoring)
        items = []
        for i, item in enumerate(request.items):
            longest = max(len(c.encode('utf-8')) + 1 for c in item.choices)
            if longest > self.context - 1:
                raise bad(f'items[{i}]: a choice is {longest - 1} bytes; at most {self.context - 2} fit the context', 'items')
            items.append((tokenizer.encode_chat(item.messages, self.context - longest), item.choices))
        name, weights = self.registry.resolve(request.model)
        with self.sampling_lock, self.busy():
            probabilities = sampling.choice_probabilities(weights, items, request.temperature, request.guided_choice_scoring)
        return {'model': name, 'temperature': request.temperature, 'guided_choice_scoring': request.guided_choice_scoring, 'probabilities': probabilities}

    @staticmethod
    def _completion(name: str, request: protocol.ChatRequest, prompt: list[int], samples: list[sampling.Sample]) -> dict:
        def entry(token: int, logprob: float) -> dict:
            return {'token': tokenizer.token_text(token), 'logprob': logprob, 'bytes': tokenizer.token_bytes(token)}

        choices = []
        for index, s in enumerate(samples):
            choice = {
                'index': index,
                'message': {'role': 'assistant', 'content': s.text},
                'logprobs': None,
                'finish_reason': s.finish_reason,
            }
            if request.logprobs:
                content = []
                for k, (token, logprob) in enumerate(zip(s.token_ids, s.logprobs)):
                    item = entry(token, logprob)
                    item['top_logprobs'] = [entry(t, lp) for t, lp in s.top[k]] if s.top else []
                    content.append(item)
                choice['logprobs'] = {'content': content, 'refusal': None}
            if request.return_token_ids:
                choice['token_ids'] = s.token_ids
            choices.append(choice)
        completion_tokens = sum(len(s.token_ids) for s in samples)
        body = {
            'id': f'chatcmpl-{uuid.uuid4().hex}',
            'object': 'chat.completion',
            'created': int(time.time()),
            'model': name,
            'choices': choices,
            'usage': {'prompt_tokens': len(prompt), 'completion_tokens': completion_tokens, 'total_tokens': len(prompt) + completion_tokens},
        }
        if request.return_token_ids:
            body['prompt_token_ids'] = prompt
        return body

class _ChoiceJob:
    def __init__(self, weights, prompt: list[int], sequences: list[list[int]], top_logprobs: int):
        self.weights = weights
        self.prompt = prompt
        self.sequences = sequences
        self.top_logprobs = top_logprobs
        self.done = False
        self.result = None
        self.error: BaseException | None = None


class ChoiceBatcher:
    """Scores guided choices for concurrent requests together. Requests that arrive while the model scores
    others wait for the sampling lock; whichever takes it next scores the requests waiting by then (up to
    `limit`, oldest first; it goes on until its own is done) in one score_choices call per (weights,
    top_logprobs), which packs them into as few forward passes as fit. So
    the games of an arena share forward passes, as a serving engine's continuous batching does, instead of
    running one small pass each (on this host's CPU, a batch of 8 picks costs about 5x one, not 8x), and
    a lone request waits for nothing."""

    def __init__(self, lock: threading.Lock, busy: 'BusyClock', limit: int = 64):
        self.lock = lock
        self.busy = busy
        self.limit = limit
        self._waiting_lock = threading.Lock()
        self._waiting: list[_ChoiceJob] = []
        self.requests = 0
        self.batches = 0

    def score(self, weights, prompt: list[int], sequences: list[list[int]], top_logprobs: int):
        """score_choices' answer for one prompt and its choices, scored with those of other waiting requests."""
        job = _ChoiceJob(weights, prompt, sequences, top_logprobs)
        with self._waiting_lock:
            self._waiting.append(job)
        with self.lock:
            while not job.done:
                with self._waiting_lock:
                    jobs, self._waiting = self._waiting[:self.limit], self._waiting[self.limit:]
                with self.busy():
                    self._run(jobs)
        if job.error is not None:
            raise job.error
        return job.result

    def _run(self, jobs: list[_ChoiceJob]) -> None:
        groups: dict[tuple[int, int], list[_ChoiceJob]] = {}
        for job in jobs:
            groups.setdefault((id(job.weights), job.top_logprobs), []).append(job)
        for group in groups.values():
            try:
                scored = sampling.score_choices(group[0].weights, [(j.prompt, j.sequences) for j in group], group[0].top_logprobs)
                for job, result in zip(group, scored):
                    job.result = result
            except Exception as error:
                for job in group:
                    job.error = error
            finally:
                for job in group:
                    job.done = True
                self.requests += len(group)
                self.batches += 1


class BusyClock:
    """Seconds during which the host computed (sampled or trained), time when both ran counted once: what
    an asynchronous trainer reads to see how much of the run kept the host at work."""

    def __init__(self):
        self._lock = threading.Lock()
        self._started = time.perf_counter()
        self._active = 0
        self._since = 0.0
        self._total = 0.0

    @contextmanager
    def __call__(self):
        with self._lock:
            if self._active == 0:
                self._since = time.perf_counter()
            self._active += 1
        try:
            yield
        finally:
            with self._lock:
                self._active -= 1
                if self._active == 0:
                    self._total += time.perf_counter() - self._since

    def snapshot(self) -> tuple[float, float]:
        """Busy and up seconds read at one instant: read apart, a delay between the two reads (a thread
        switch) could let busy time grow more than up time between two snapshots, a share above 1."""
        with self._lock:
            now = time.perf_counter()
            return self._total + (now - self._since if self._active else 0.0), now - self._started


class TrainGate:
    """One forward or forward_backward request at a time is read, decoded and queued, so at most one
    large body and its decoded objects are in memory; up to `waiting` more wait their turn,
    and beyond that a request is answered 503 at once."""

    def __init__(self, waiting: int):
        self.waiting = waiting
        self.semaphore = threading.BoundedSemaphore(1)
        self.count_lock = threading.Lock()
        self.queued = 0  # the request holding the gate and those waiting for it

    @contextmanager
    def __call__(self):
        with self.count_lock:
            if self.queued > self.waiting:
                raise ProtocolError(503, f'the host is busy: one forward or forward_backward request is being read and {self.waiting} more wait, '
                                    'the most allowed; retry later',
                                    type='server_error', code='busy')
            self.queued += 1
        try:
            with self.semaphore:
                yield
        finally:
            with self.count_lock:
                self.queued -= 1


# ---------------------------------------------------------------- HTTP



def _reject_constant(name: str):
    raise ValueError(f'{name} is not valid JSON')


def json_object_bound(raw: bytes | bytearray) -> int:
    """At least the number of values json.loads would build from `raw` (every array, object, key and scalar),
    without building any: every value but the first follows '[', '{',
    ',' or ':' (a key follows '{' or ',', its value ':'). Brackets and commas inside strings only add to it."""
    return 1 + raw.count(b'[') + raw.count(b'{') + raw.count(b',') + raw.count(b':')


def _parse_json(raw: bytes | bytearray, tinker: bool = False):
    """The body's JSON ({} when empty); not JSON: 400 on the OpenAI side, a 422 detail list as SkyRL gives on Tinker's."""
    if not raw or raw.isspace():
        return {}
    try:
        return json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as error:
        if tinker:
            raise Invalid([{'type': 'json_invalid', 'loc': ['body', getattr(error, 'pos', 0)], 'msg': 'JSON decode error',
                            'input': {}, 'ctx': {'error': str(error)}}]) from None
        raise bad(f'the request body is not valid JSON: {error}') from None


TINKER_PREFIX = '/api/v1/'


def tinker_object_budget(context: int) -> int:
    """The most JSON values a forward/forward_backward body may hold: per datum its tokens and four per-token
    arrays (targets, weights, logprobs, advantages) of at most `context` values, and their objects and keys."""
    return MAX_ITEMS * (5 * context + 64) + 1024


class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    server_version = 'selfplay-policy-host/1'
    # Seconds of silence before a connection is dropped (setup() takes HostOptions.request_timeout), and the most a
    # request body may take to arrive: a client that stops sending, or trickles, cannot hold a thread forever.
    timeout = 60.0
    # Headers and body are separate writes: without TCP_NODELAY a keep-alive client's delayed ACK stalls the body.
    disable_nagle_algorithm = True
    server: 'PolicyServer'

    def setup(self) -> None:
        self.timeout = self.server.host.options.request_timeout
        super().setup()

    def log_message(self, format: str, *args) -> None:
        if self.server.host.options.verbose:
            sys.stderr.write('%s - %s\n' % (self.address_string(), format % args))

    def do_GET(self) -> None:
        self._dispatch('GET')

    def do_POST(self) -> None:
        self._dispatch('POST')

    def do_DELETE(self) -> None:
        self._dispatch('DELETE')

    def _dispatch(self, method: str) -> None:
        host = self.server.host
        path = urlsplit(self.path).path
        # Until _body takes care of it, the request's body is unread: answering without reading it closes the
        # connection (see _send), or the body would be read as the next request.
        self._body_pending = bool(self.headers.get('Content-Length', '').strip() not in ('', '0') or self.headers.get('Transfer-Encoding'))
        if path.startswith(TINKER_PREFIX):
            return self._tinker(method, path[len(TINKER_PREFIX):])
        try:
            if method == 'GET':
                if path == '/health':
                    return self._send_json(200, host.health())
                if path == '/v1/models':
                    return self._send_json(200, host.models())
                if path.startswith('/v1/models/'):
                    return self._send_json(200, host.model(unquote(path[len('/v1/models/'):])))
            elif path == '/v1/chat/completions':
                return self._send_json(200, host.chat(_parse_json(self._body(host.options.max_json_bytes))))
            elif path == '/v1/choice_probabilities':
                return self._send_json(200, host.choice_probabilities(_parse_json(self._body(host.options.max_json_bytes))))
            raise ProtocolError(404, f'no route for {method} {path}', code='not_found')
        except ProtocolError as error:
            self._send_json(error.status, error.body())
        except Exception as error:  # noqa: BLE001 - a bug must answer 500, not drop the connection
            traceback.print_exc(file=sys.stderr)
            self._send_json(500, {'error': {'message': f'internal error: {type(error).__name__}: {error}', 'type': 'server_error', 'code': None, 'param': None}})

    def _tinker(self, method: str, route: str) -> None:
        """A Tinker route: errors answer {"detail": ...} as SkyRL's server does (a list for a body of the wrong shape)."""
        host = self.server.host
        try:
            if method == 'GET':
                return self._send_json(200, host.tinker.get(route))
            if method == 'DELETE':
                host.tinker.delete(route)
                return self._send(204, b'', 'application/json')
            if route in LARGE_BODY_ROUTES:
                with host.train_gate():
                    raw = self._body(host.options.max_train_bytes)
                    budget = tinker_object_budget(host.context)
                    if json_object_bound(raw) > budget:
                        raise TinkerRefusal(413, f'the request body is too large to decode: more than {budget} JSON values; '
                                                 f'a {route} request holds at most {MAX_ITEMS} datums of at most {host.context} tokens')
                    result = host.tinker.post(route, _parse_json(raw, tinker=True), bytes(raw))
            else:
                raw = self._body(host.options.max_json_bytes)
                result = host.tinker.post(route, _parse_json(raw, tinker=True), bytes(raw))
            self._send_json(200, result)
        except Invalid as error:
            self._send_json(422, {'detail': error.errors})
        except (TinkerRefusal, ProtocolError) as error:
            self._send_json(error.status, {'detail': error.message})
        except Exception as error:  # noqa: BLE001 - a bug must answer 500, not drop the connection
            traceback.print_exc(file=sys.stderr)
            self._send_json(500, {'detail': f'internal error: {type(error).__name__}: {error}'})

    def _body(self, limit: int) -> bytearray:
        self._body_pending = False  # from here on the body is read, drained, or the connection closed
        if 'chunked' in (self.headers.get('Transfer-Encoding') or '').lower():
            self.close_connection = True
            raise ProtocolError(411, 'chunked bodies are not supported: send Content-Length')
        try:
            length = int(self.headers.get('Content-Length') or 0)
        except ValueError:
            self.close_connection = True
            raise bad('Content-Length is not a number') from None
        if length < 0 or length > limit:
            # Reading the body keeps the connection usable and lets a client that is still sending read the 413;
            # a body too large even to skim is left unread and the connection closed.
            if 0 < length <= DRAIN_LIMIT:
                try:
                    self._receive(length, keep=False)
                except ProtocolError:
                    pass  # it stalled or ended early: the connection closes, the answer is still 413
            else:
                self.close_connection = True
            raise ProtocolError(413, f'the request body is {self.headers.get("Content-Length")} bytes; the limit here is {limit}')
        return self._receive(length, keep=True)

    def _receive(self, length: int, keep: bool) -> bytearray:
        """Reads `length` body bytes (kept, or skimmed into a scratch buffer) within `timeout` seconds in all."""
        body = bytearray(length if keep else min(length, MIB))
        view = memoryview(body)
        got = 0
        deadline = time.monotonic() + self.timeout
        try:
            while got < length:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError
                # One recv at a time, each allowed only what is left of the deadline: trickling does not extend it.
                self.connection.settimeout(left)
                n = self.rfile.readinto1(view[got:] if keep else view[:length - got])
                if not n:
                    self.close_connection = True
                    raise bad(f'the request body ended after {got} of its {length} bytes')
                got += n
        except TimeoutError:
            self.close_connection = True
            raise ProtocolError(408, f'the request body did not arrive within {self.timeout:g} s ({got} of {length} bytes came)', code='timeout') from None
        finally:
            view.release()
            self.connection.settimeout(self.timeout)
        return body

    def _send(self, status: int, payload: bytes, content_type: str) -> None:
        if self._body_pending:
            self.close_connection = True
        self.send_response(status)
        self.send_header('Content-Type', content_type)
        self.send_header('Content-Length', str(len(payload)))
        if self.close_connection:
            self.send_header('Connection', 'close')
        self.end_headers()
        self.wfile.write(payload)

    def _send_json(self, status: int, body) -> None:
        self._send(status, json.dumps(body, allow_nan=False).encode('utf-8'), 'application/json')



class PolicyServer(ThreadingHTTPServer):
    daemon_threads = True
    # Clients open many keep-alive connections at once (the TypeScript client up to its concurrency).
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], host: Host):
        self.host = host
        if ':' in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, Handler)

    @property
    def url(self) -> str:
        address, port = self.server_address[:2]
        return f'http://[{address}]:{port}' if ':' in address else f'http://{address}:{port}'


def make_server(options: HostOptions, address: str = '127.0.0.1', port: int = 0) -> PolicyServer:
    return PolicyServer((address, port), Host(options))
