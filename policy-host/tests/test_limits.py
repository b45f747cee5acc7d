"""What a hostile or broken client cannot make the host spend: memory when a forward or forward_backward body
is decoded, a thread held by a client that never finishes sending, and such requests piling up."""

import json
import select
import socket
import threading
import time
import tracemalloc
import unittest
from urllib.parse import urlsplit

from selfplay_host import protocol
from selfplay_host.model import ModelConfig
from selfplay_host.server import MIB, json_object_bound, tinker_object_budget

from .helpers import RunningHost, datum

# A short context keeps the derived budget small, so going past it is quick.
SMALL = ModelConfig(d_model=16, layers=1, heads=2, context=16)
BUDGET = tinker_object_budget(SMALL.context)


def traced(fn):
    """(fn(), seconds, peak bytes allocated by Python meanwhile, in every thread)."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        result = fn()
        return result, time.perf_counter() - started, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def maximal_data(context: int, count: int = protocol.MAX_ITEMS) -> list[dict]:
    """The largest datums a client can legitimately send: `context` tokens each, every per-token input, dtype and shape."""
    n = context
    per_token = lambda value: {'data': [value] * n, 'dtype': 'float32', 'shape': [n]}  # noqa: E731
    return [{'model_input': {'chunks': [{'type': 'encoded_text', 'tokens': [257] + [97] * (n - 1)}]},
             'loss_fn_inputs': {'target_tokens': {'data': [97] * (n - 1) + [256], 'dtype': 'int64', 'shape': [n]},
                                'weights': per_token(1.0), 'logprobs': per_token(-1.25), 'advantages': per_token(0.5)}}
            for _ in range(count)]


class DecodingBudget(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.host = RunningHost(['tiny'], model=SMALL, max_train_bytes=16 * MIB)
        cls.model_id = cls.host.create_model('tiny')

    @classmethod
    def tearDownClass(cls):
        cls.host.close()

    def assert_refused_cheaply(self, send):
        (status, response), seconds, peak = traced(send)
        # Generous: the body is 12 MiB; decoded, its 4 million empty lists would take ~250 MB.
        self.assertLess(peak, 64 * MIB)
        self.assertLess(seconds, 15)
        self.assertEqual(status, 413, response)
        self.assertIn('too large to decode', response['detail'])
        self.assertIn(f'more than {BUDGET} JSON values', response['detail'])

    def test_budget_figure(self):
        self.assertEqual(tinker_object_budget(256), 5_506_048)
        self.assertEqual(BUDGET, 4096 * (5 * 16 + 64) + 1024)

    def test_json_empty_arrays_beyond_the_budget(self):
        n = 12 * MIB // 3
        body = b'[' + b'[],' * (n - 1) + b'[]]'
        for route in ('forward_backward', 'forward'):
            with self.subTest(route=route):
                self.assert_refused_cheaply(lambda: self.host.post(f'/api/v1/{route}', body))
        self.assertEqual(self.host.host.registry.policies[self.model_id].pending, None)

    def test_json_bound_counts_every_value(self):
        value = {'a': [1, 2, {'b': None}], 'c': 'x'}  # 1 + 4 (keys and values) + 3 + 2 = 10 values
        self.assertEqual(json_object_bound(json.dumps(value).encode()), 10)
        # Empty containers and punctuation inside strings only overcount.
        self.assertEqual(json_object_bound(b'[[], {}, "a,b:c"]'), 8)

    def test_a_maximal_request_fits_the_budget(self):
        config = {'clip_low_threshold': 0.8, 'clip_high_threshold': 1.2, 'kl_coef': 0.1, 'ratio_cap': 2.0}
        data = {'data': maximal_data(SMALL.context), 'loss_fn': 'ppo', 'loss_fn_config': config}
        for route, key in (('forward', 'forward_input'), ('forward_backward', 'forward_backward_input')):
            with self.subTest(route=route):
                raw = json.dumps({'model_id': 'model_00000000', 'seq_id': 1, key: data}).encode()
                self.assertLessEqual(json_object_bound(raw), BUDGET)
                self.assertLess(len(raw), 16 * MIB)
                # Decoded and validated to the end, it is refused for the model only (running it would take seconds).
                status, _, answer = self.host.request('POST', f'/api/v1/{route}', raw, 'application/json')
                self.assertEqual((status, json.loads(answer)), (404, {'detail': 'Model not found'}))
        # At the default context too, a maximal datum takes no more than its share of the budget.
        share = (tinker_object_budget(256) - 1024) // protocol.MAX_ITEMS
        self.assertLessEqual(json_object_bound(json.dumps(maximal_data(256, 1)[0]).encode()), share)

    def test_datums_over_the_limit_are_refused(self):
        data = [None] * (protocol.MAX_ITEMS + 1)
        status, response = self.host.tinker('forward', {'model_id': self.model_id, 'forward_input': {'data': data, 'loss_fn': 'cross_entropy'}})
        self.assertEqual(status, 400, response)
        self.assertIn(f'holds {protocol.MAX_ITEMS + 1} datums; send 1 to {protocol.MAX_ITEMS}', response['detail'])

    def test_bodies_over_max_train_bytes_get_413(self):
        raw = b'{"model_id": "' + self.model_id.encode() + b'", "pad": "' + b'x' * (16 * MIB) + b'"}'
        for route in ('forward_backward', 'forward'):
            with self.subTest(route=route):
                status, _, answer = self.host.request('POST', f'/api/v1/{route}', raw, 'application/json')
                self.assertEqual(status, 413, answer)
                self.assertIn(f'the limit here is {16 * MIB}', json.loads(answer)['detail'])
        # Other Tinker routes take --max-request-mb (1 MiB) at most.
        status, _, answer = self.host.request('POST', '/api/v1/optim_step', raw[:2 * MIB] + b'"}', 'application/json')
        self.assertEqual(status, 413, answer)
        self.assertIn(f'the limit here is {MIB}', json.loads(answer)['detail'])


class TrainGate(unittest.TestCase):
    def test_one_large_request_at_a_time(self):
        host = RunningHost(['tiny'], model=SMALL, max_train_waiting=1)
        try:
            model_id = host.create_model('tiny')
            body = {'model_id': model_id, 'forward_input': {'data': [datum([257, 260], [97, 256])], 'loss_fn': 'cross_entropy'}}
            results = []
            gate = host.host.train_gate
            with gate():  # the test's turn: the next request waits for it
                waiter = threading.Thread(target=lambda: results.append(host.tinker('forward', body)))
                waiter.start()
                deadline = time.monotonic() + 10
                while gate.queued < 2 and time.monotonic() < deadline:
                    time.sleep(0.01)
                self.assertEqual(gate.queued, 2)
                for route in ('forward', 'forward_backward'):
                    with self.subTest(route=route):
                        status, response = host.tinker(route, body)
                        self.assertEqual(status, 503, response)
                        self.assertIn('the host is busy', response['detail'])
                        self.assertIn('1 more wait', response['detail'])
                time.sleep(0.2)
                self.assertEqual(results, [])
                # Sampling, and the Tinker calls with small bodies, do not queue behind the gate.
                status, _ = host.chat(model='tiny', max_tokens=2)
                self.assertEqual(status, 200)
                self.assertEqual(host.tinker('get_info', {'model_id': model_id})[0], 200)
                self.assertEqual(host.run('selfplay/move_reference', {'model_id': model_id, 'mix': 1}), {'mix': 1.0, 'type': 'move_reference'})
            waiter.join(30)
            self.assertEqual(results[0][0], 200, results)
            status, out = host.result(results[0][1])
            self.assertEqual((status, len(out['loss_fn_outputs'])), (200, 1), out)
            self.assertEqual(gate.queued, 0)
        finally:
            host.close()


class Timeouts(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.host = RunningHost(['tiny'], model=SMALL, request_timeout=0.5)
        url = urlsplit(cls.host.url)
        cls.address = (url.hostname, url.port)

    @classmethod
    def tearDownClass(cls):
        cls.host.close()

    def connect(self) -> socket.socket:
        sock = socket.create_connection(self.address, timeout=5)
        self.addCleanup(sock.close)
        return sock

    @staticmethod
    def read_until_closed(sock: socket.socket, wait: float) -> bytes:
        """Everything the server sends until it closes the connection; fails if it is still open after `wait` s."""
        sock.settimeout(wait)
        data = b''
        try:
            while chunk := sock.recv(65536):
                data += chunk
        except ConnectionResetError:
            pass
        except TimeoutError:
            raise AssertionError(f'the connection is still open after {wait} s; received {data!r}') from None
        return data

    def test_a_body_that_trickles_in_gets_408(self):
        sock = self.connect()
        sock.sendall(b'POST /api/v1/forward_backward HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n' + b'\x00' * 10)
        started = time.monotonic()
        # A byte every 0.1 s never leaves the socket idle for the 0.5 s timeout: only the body's deadline ends it.
        while time.monotonic() - started < 3:
            if select.select([sock], [], [], 0.1)[0]:
                break
            try:
                sock.send(b'\x00')
            except OSError:
                break
        response = self.read_until_closed(sock, 3)
        self.assertTrue(response.startswith(b'HTTP/1.1 408'), response)
        self.assertLess(time.monotonic() - started, 2.5)
        self.assertIn(b'Connection: close', response)
        self.assertIn(b'did not arrive within 0.5 s', response)

    def test_an_idle_connection_is_closed(self):
        sock = self.connect()
        started = time.monotonic()
        self.assertEqual(self.read_until_closed(sock, 5), b'')  # closed without a word
        self.assertLess(time.monotonic() - started, 2.5)

    def test_an_unread_body_closes_the_connection(self):
        # Answered before the body is read (a route that is no more: 404), so the body must not be taken for the next request.
        sock = self.connect()
        body = b'GET /health HTTP/1.1\r\n\r\n'
        sock.sendall(b'POST /train/step HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s' % (len(body), body))
        response = self.read_until_closed(sock, 3)
        self.assertTrue(response.startswith(b'HTTP/1.1 404'), response)
        self.assertIn(b'Connection: close', response)
        self.assertNotIn(b'"status": "ok"', response)


if __name__ == '__main__':
    unittest.main()
