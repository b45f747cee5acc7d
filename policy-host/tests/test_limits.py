"""What a hostile or broken client cannot make the host spend: memory when a
/train/* body is decoded, a thread held by a client that never finishes
sending, and /train/* requests piling up."""

import json
import select
import socket
import threading
import time
import tracemalloc
import unittest
from urllib.parse import urlsplit

from selfplay_host import msgpack, protocol
from selfplay_host.model import ModelConfig
from selfplay_host.server import MIB, json_object_bound

from .helpers import RunningHost, item

# A short context keeps the derived budget small, so going past it is quick.
SMALL = ModelConfig(d_model=16, layers=1, heads=2, context=16)
BUDGET = protocol.train_object_budget(SMALL.context)


def traced(fn):
    """(fn(), seconds, peak bytes allocated by Python meanwhile, in every thread)."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        result = fn()
        return result, time.perf_counter() - started, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def maximal_items(context: int) -> list[dict]:
    """The largest items a client can legitimately send: one prompt token, the rest completion, every optional array."""
    n = context - 1
    return [item([257], [97] * n, [-1.25] * n, [0.5] * n, loss_mask=[1] * n, note='ignored') for _ in range(protocol.MAX_ITEMS)]


class DecodingBudget(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.host = RunningHost(['tiny'], model=SMALL, max_train_bytes=16 * MIB)

    @classmethod
    def tearDownClass(cls):
        cls.host.close()

    def assert_refused_cheaply(self, send, reason=f'more than {BUDGET} objects'):
        (status, response), seconds, peak = traced(send)
        # Generous: the budget's worth of empty lists is ~25 MB and the body 8-12 MiB; with no budget this is 0.5-1 GB.
        self.assertLess(peak, 128 * MIB)
        self.assertLess(seconds, 15)
        self.assertEqual(status, 400, response)
        self.assertIn('too large to decode', response['error']['message'])
        self.assertIn(reason, response['error']['message'])

    def test_budget_figure(self):
        self.assertEqual(protocol.train_object_budget(256), 4_326_400)
        self.assertEqual(BUDGET, 4096 * (4 * 16 + 32) + 1024)

    def test_msgpack_empty_arrays_beyond_the_budget(self):
        # 8 MiB: 4096 arrays of 128 arrays of 15 empty arrays, 8.4 million objects, no container over the item limit.
        group = b'\xdc' + (128).to_bytes(2, 'big') + (b'\x9f' + b'\x90' * 15) * 128
        body = b'\xdd' + (4096).to_bytes(4, 'big') + group * 4096
        self.assert_refused_cheaply(lambda: self.host.post_msgpack('/train/step', body))
        # One flat array is refused at its header, for its length.
        flat = b'\xdd' + (8 * MIB).to_bytes(4, 'big') + b'\x90' * (8 * MIB)
        self.assert_refused_cheaply(lambda: self.host.post_msgpack('/train/step', flat), f'has {8 * MIB} elements; at most 4096')

    def test_json_empty_arrays_beyond_the_budget(self):
        n = 12 * MIB // 3
        body = b'[' + b'[],' * (n - 1) + b'[]]'
        self.assert_refused_cheaply(lambda: self.host.post('/train/forward_backward', body))

    def test_json_bound_counts_as_msgpack_does(self):
        value = {'a': [1, 2, {'b': None}], 'c': 'x'}  # 1 + 4 (keys and values) + 3 + 2 = 10 objects
        self.assertEqual(json_object_bound(json.dumps(value).encode()), 10)
        with self.assertRaisesRegex(msgpack.MsgpackLimitError, 'more than 9 objects'):
            msgpack.unpackb(msgpack.packb(value), max_objects=9)
        # Empty containers and punctuation inside strings only overcount.
        self.assertEqual(json_object_bound(b'[[], {}, "a,b:c"]'), 8)

    def test_a_maximal_request_fits_the_budget(self):
        body = {'policy': 'tiny', 'loss': 'ppo-clip', 'learning_rate': 1e-3, 'clip_epsilon': 0.2, 'items': maximal_items(SMALL.context)}
        encoded = msgpack.packb(body)
        self.assertEqual(msgpack.unpackb(encoded, max_objects=BUDGET, max_length=protocol.train_max_length(SMALL.context)), body)
        self.assertLessEqual(json_object_bound(json.dumps(body).encode()), BUDGET)
        status, response = self.host.post_msgpack('/train/forward', body)
        self.assertEqual((status, len(response.get('logprobs', []))), (200, protocol.MAX_ITEMS), response)
        status, response = self.host.post('/train/forward', body)
        self.assertEqual((status, len(response.get('logprobs', []))), (200, protocol.MAX_ITEMS), response)

    def test_items_over_the_limit_are_refused_while_decoding(self):
        status, response = self.host.post_msgpack('/train/forward', {'policy': 'tiny', 'items': [None] * (protocol.MAX_ITEMS + 1)})
        self.assertEqual(status, 400, response)
        self.assertIn(f'has {protocol.MAX_ITEMS + 1} elements; at most {protocol.MAX_ITEMS}', response['error']['message'])


class TrainGate(unittest.TestCase):
    def test_one_train_request_at_a_time(self):
        host = RunningHost(['tiny'], model=SMALL, max_train_waiting=1)
        try:
            body = {'policy': 'tiny', 'items': [item([257, 260], [97, 256], [0.0, 0.0], 0.0)]}
            results = []
            gate = host.host.train_gate
            with gate():  # the test's turn: the next request waits for it
                waiter = threading.Thread(target=lambda: results.append(host.post_msgpack('/train/forward', body)))
                waiter.start()
                deadline = time.monotonic() + 10
                while gate.queued < 2 and time.monotonic() < deadline:
                    time.sleep(0.01)
                self.assertEqual(gate.queued, 2)
                status, response = host.post_msgpack('/train/forward', body)
                self.assertEqual(status, 503, response)
                self.assertEqual(response['error']['code'], 'busy')
                self.assertIn('1 more wait', response['error']['message'])
                time.sleep(0.2)
                self.assertEqual(results, [])
            waiter.join(30)
            self.assertEqual(results[0][0], 200, results)
            # Sampling does not queue behind the gate.
            with gate():
                status, _ = host.chat(model='tiny', max_tokens=2)
                self.assertEqual(status, 200)
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
        sock.sendall(b'POST /train/forward HTTP/1.1\r\nHost: x\r\nContent-Type: application/msgpack\r\nContent-Length: 100\r\n\r\n' + b'\x00' * 10)
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
        # Answered before the body is read (415), so the body must not be taken for the next request.
        sock = self.connect()
        body = b'GET /health HTTP/1.1\r\n\r\n'
        sock.sendall(b'POST /train/step HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s' % (len(body), body))
        response = self.read_until_closed(sock, 3)
        self.assertTrue(response.startswith(b'HTTP/1.1 415'), response)
        self.assertIn(b'Connection: close', response)
        self.assertNotIn(b'"status": "ok"', response)


if __name__ == '__main__':
    unittest.main()
