"""A policy host started in-process on 127.0.0.1 (a free port), HTTP helpers, and helpers for its Tinker API."""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
import urllib.error
import urllib.request

import torch

from selfplay_host.model import ModelConfig
from selfplay_host.server import MIB, HostOptions, make_server

torch.set_num_threads(1)

# Small enough that the whole suite runs in seconds on a slow CPU.
TEST_MODEL = ModelConfig(d_model=32, layers=2, heads=2, context=128)


class RunningHost:
    def __init__(self, policies: list[str], **options):
        self.checkpoint_dir = tempfile.mkdtemp(prefix='policy-host-test-')
        options = {'model': TEST_MODEL, 'max_train_bytes': 1 * MIB, **options}
        self.server = make_server(HostOptions(policies=policies, checkpoint_dir=self.checkpoint_dir, **options))
        self.host = self.server.host
        self.url = self.server.url
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        shutil.rmtree(self.checkpoint_dir, ignore_errors=True)

    def request(self, method: str, path: str, data: bytes | None = None, content_type: str | None = None):
        """(status, content type, raw body); HTTP errors are returned, not raised."""
        headers = {'Content-Type': content_type} if content_type else {}
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=60) as response:
                return response.status, response.headers.get('Content-Type'), response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.headers.get('Content-Type'), error.read()

    def get(self, path: str):
        status, _, raw = self.request('GET', path)
        return status, json.loads(raw)

    def post(self, path: str, body):
        """JSON in, JSON out."""
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        status, _, raw = self.request('POST', path, data, 'application/json')
        return status, json.loads(raw)

    def chat(self, **body):
        body.setdefault('messages', [{'role': 'user', 'content': 'Valid actions: [check], [bet]'}])
        return self.post('/v1/chat/completions', body)

    # ------------------------------------------------------------ the Tinker API

    def tinker(self, route: str, body):
        """POST /api/v1/{route}: (status, JSON answer)."""
        return self.post(f'/api/v1/{route}', body)

    def result(self, future: dict):
        """A Tinker request's outcome: (200, its result), or (400, {'detail': why it failed})."""
        return self.tinker('retrieve_future', {'request_id': future['request_id']})

    def run(self, route: str, body) -> dict:
        """A Tinker request that must be accepted and succeed: its result."""
        status, future = self.tinker(route, body)
        assert status == 200, (route, status, future)
        status, result = self.result(future)
        assert status == 200, (route, status, result)
        return result

    def create_model(self, base: str = 'tiny', rank: int = 0) -> str:
        """A new Tinker model trained from `base`, in a session of its own: its weights equal the base's until trained."""
        status, session = self.tinker('create_session', {'tags': ['test'], 'sdk_version': '0.24.0'})
        assert status == 200, session
        status, model = self.tinker('create_model', {'session_id': session['session_id'], 'base_model': base, 'lora_config': {'rank': rank}})
        assert status == 200, model
        return model['model_id']

    def logprobs(self, model_id: str, pairs: list[tuple[list[int], list[int]]]) -> list[list[float]]:
        """The logprob of each completion token after its prompt under the model's training weights (a Tinker forward)."""
        data = [datum(prompt, completion) for prompt, completion in pairs]
        out = self.run('forward', {'model_id': model_id, 'forward_input': {'data': data, 'loss_fn': 'cross_entropy'}})
        return [o['logprobs']['data'][len(prompt) - 1:] for o, (prompt, _) in zip(out['loss_fn_outputs'], pairs)]


def tensor(values: list[float], dtype: str = 'float32') -> dict:
    return {'data': values, 'dtype': dtype, 'shape': [len(values)]}


def datum(prompt: list[int], completion: list[int], logprobs: list[float] | None = None, advantages=None) -> dict:
    """A Tinker Datum of `completion` sampled after `prompt`: position i predicts target i after tokens[:i + 1], the
    completion's positions weigh 1 and the prompt's 0 (their sampler logprobs and advantages are 0). `advantages`
    is one number for every completion token, or one per token."""
    pad = [0.0] * (len(prompt) - 1)
    inputs = {'target_tokens': tensor(prompt[1:] + completion, 'int64'), 'weights': tensor(pad + [1.0] * len(completion))}
    if logprobs is not None:
        inputs['logprobs'] = tensor(pad + list(logprobs))
    if advantages is not None:
        per_token = list(advantages) if isinstance(advantages, list) else [float(advantages)] * len(completion)
        inputs['advantages'] = tensor(pad + per_token)
    return {'model_input': {'chunks': [{'type': 'encoded_text', 'tokens': prompt + completion[:-1]}]}, 'loss_fn_inputs': inputs}
