"""A policy host started in-process on 127.0.0.1 (a free port), and HTTP helpers."""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
import urllib.error
import urllib.request

import torch

from selfplay_host import msgpack
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

    def post_msgpack(self, path: str, body):
        """msgpack in; msgpack out on success, JSON errors."""
        data = body if isinstance(body, bytes) else msgpack.packb(body)
        status, ctype, raw = self.request('POST', path, data, 'application/msgpack')
        if ctype == 'application/msgpack':
            return status, msgpack.unpackb(raw)
        return status, json.loads(raw)

    def chat(self, **body):
        body.setdefault('messages', [{'role': 'user', 'content': 'Valid actions: [check], [bet]'}])
        return self.post('/v1/chat/completions', body)

    def logprobs(self, policy: str, items: list[dict]) -> list[list[float]]:
        status, body = self.post_msgpack('/train/forward', {'policy': policy, 'items': items})
        assert status == 200, body
        return body['logprobs']


def item(prompt: list[int], completion: list[int], logprobs: list[float], advantages, **extra) -> dict:
    return {'prompt_token_ids': prompt, 'completion_token_ids': completion, 'logprobs': logprobs, 'advantages': advantages, **extra}
