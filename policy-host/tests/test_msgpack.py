"""The msgpack codec against byte strings written from the msgpack specification."""

import math
import unittest

from selfplay_host.msgpack import MsgpackError, MsgpackLimitError, packb, unpackb

# (value, its encoding per the spec)
CASES = [
    (None, b'\xc0'),
    (False, b'\xc2'),
    (True, b'\xc3'),
    (0, b'\x00'),
    (127, b'\x7f'),
    (-1, b'\xff'),
    (-32, b'\xe0'),
    (128, b'\xcc\x80'),
    (255, b'\xcc\xff'),
    (256, b'\xcd\x01\x00'),
    (65536, b'\xce\x00\x01\x00\x00'),
    (2 ** 32, b'\xcf\x00\x00\x00\x01\x00\x00\x00\x00'),
    (2 ** 64 - 1, b'\xcf' + b'\xff' * 8),
    (-33, b'\xd0\xdf'),
    (-128, b'\xd0\x80'),
    (-129, b'\xd1\xff\x7f'),
    (-32769, b'\xd2\xff\xff\x7f\xff'),
    (-(2 ** 31) - 1, b'\xd3\xff\xff\xff\xff\x7f\xff\xff\xff'),
    (-(2 ** 63), b'\xd3\x80' + b'\x00' * 7),
    (1.5, b'\xcb\x3f\xf8\x00\x00\x00\x00\x00\x00'),
    (-0.0, b'\xcb\x80' + b'\x00' * 7),
    ('', b'\xa0'),
    ('a', b'\xa1a'),
    ('é', b'\xa2\xc3\xa9'),
    ('x' * 31, b'\xbf' + b'x' * 31),
    ('x' * 32, b'\xd9\x20' + b'x' * 32),
    ('x' * 256, b'\xda\x01\x00' + b'x' * 256),
    (b'', b'\xc4\x00'),
    (b'\x01\x02', b'\xc4\x02\x01\x02'),
    (b'z' * 256, b'\xc5\x01\x00' + b'z' * 256),
    ([], b'\x90'),
    ([1, 2, 3], b'\x93\x01\x02\x03'),
    (list(range(16)), b'\xdc\x00\x10' + bytes(range(16))),
    ({}, b'\x80'),
    ({'a': 1}, b'\x81\xa1a\x01'),
    ({1: [None, True]}, b'\x81\x01\x92\xc0\xc3'),
    ({str(i): i for i in range(16)}, b'\xde\x00\x10' + b''.join(b'\xa1' + str(i).encode() + bytes([i]) if i < 10 else b'\xa2' + str(i).encode() + bytes([i]) for i in range(16))),
]

# Encodings this codec reads but does not write (wider forms than needed, float32).
DECODE_ONLY = [
    (b'\xca\x3f\xc0\x00\x00', 1.5),                 # float32
    (b'\xca\x7f\x80\x00\x00', math.inf),            # float32 infinity
    (b'\xcc\x05', 5),                                # uint8 for a fixint value
    (b'\xd1\x00\x05', 5),                            # int16
    (b'\xd2\xff\xff\xff\xff', -1),                   # int32
    (b'\xdb\x00\x00\x00\x01a', 'a'),                 # str32
    (b'\xc6\x00\x00\x00\x01\x07', b'\x07'),          # bin32
    (b'\xdd\x00\x00\x00\x01\xc0', [None]),           # array32
    (b'\xdf\x00\x00\x00\x01\xa1k\xc3', {'k': True}),  # map32
    (b'\x92\xcb\x40\x00\x00\x00\x00\x00\x00\x00\x01', [2.0, 1]),
]

REJECTED = [
    (b'', 'truncated'),
    (b'\xc1', 'not a msgpack type'),
    (b'\xd4\x01\x00', 'extension'),
    (b'\xd6\xff\x00\x00\x00\x00', 'extension'),          # timestamp 32
    (b'\xc7\x01\x05\x00', 'extension'),
    (b'\xcd\x01', 'truncated'),
    (b'\xa3ab', 'truncated'),
    (b'\xa2\xc3\x28', 'not UTF-8'),
    (b'\x92\x01', 'claims'),                          # two elements, one byte
    (b'\xdd\xff\xff\xff\xff', 'claims'),                  # 4 billion elements, no bytes
    (b'\xdf\x00\x01\x00\x00', 'claims'),
    (b'\x01\x02', 'trailing'),
    (b'\x82\xa1a\x01\xa1a\x02', 'duplicate'),
    (b'\x81\x90\x01', 'only str and int keys'),
    (b'\x81\xc0\x01', 'only str and int keys'),
]


class EncodeDecode(unittest.TestCase):
    def test_spec_encodings(self):
        for value, encoded in CASES:
            with self.subTest(value=repr(value)[:40]):
                self.assertEqual(packb(value), encoded)
                decoded = unpackb(encoded)
                self.assertEqual(decoded, value)
                self.assertIs(type(decoded), type(value))

    def test_decode_only_forms(self):
        for encoded, value in DECODE_ONLY:
            with self.subTest(encoded=encoded):
                self.assertEqual(unpackb(encoded), value)

    def test_tuples_encode_as_arrays_and_nan_survives(self):
        self.assertEqual(packb((1, 'a')), b'\x92\x01\xa1a')
        self.assertTrue(math.isnan(unpackb(packb(math.nan))))

    def test_large_containers(self):
        values = list(range(70000))
        encoded = packb(values)
        self.assertEqual(encoded[:5], b'\xdd\x00\x01\x11\x70')
        self.assertEqual(unpackb(encoded), values)
        nested = {'items': [{'ids': [1, 2, 300], 'x': -0.25, 'ok': None}] * 3}
        self.assertEqual(unpackb(packb(nested)), nested)

    def test_rejects_what_it_does_not_support(self):
        for encoded, reason in REJECTED:
            with self.subTest(encoded=encoded):
                with self.assertRaises(MsgpackError) as caught:
                    unpackb(encoded)
                self.assertIn(reason, str(caught.exception))

    def test_depth_is_bounded(self):
        deep = b'\x91' * 40 + b'\xc0'
        with self.assertRaisesRegex(MsgpackError, 'nesting'):
            unpackb(deep)
        self.assertEqual(unpackb(b'\x91' * 10 + b'\xc0', max_depth=10), [[[[[[[[[[None]]]]]]]]]])
        value = None
        for _ in range(40):
            value = [value]
        with self.assertRaisesRegex(MsgpackError, 'nesting'):
            packb(value)

    def test_object_budget(self):
        # Every array, map, key and scalar counts one: this is 1 + 3 + 2 + 2 = 8 objects.
        value = [{'a': 1}, [None, 2.5], 'x']
        encoded = packb(value)
        self.assertEqual(unpackb(encoded, max_objects=8), value)
        with self.assertRaisesRegex(MsgpackLimitError, 'more than 7 objects'):
            unpackb(encoded, max_objects=7)
        # One-byte empty arrays: a flat array is refused at its header, before any element is built...
        flat = b'\xdd' + (1001).to_bytes(4, 'big') + b'\x90' * 1001
        with self.assertRaisesRegex(MsgpackLimitError, 'more than 1000 objects'):
            unpackb(flat, max_objects=1000)
        # ...and chunks of them as soon as the running count passes the budget.
        chunked = b'\xdc' + (100).to_bytes(2, 'big') + (b'\x9f' + b'\x90' * 15) * 100
        self.assertEqual(len(unpackb(chunked, max_objects=1601)), 100)
        with self.assertRaisesRegex(MsgpackLimitError, 'more than 1600 objects'):
            unpackb(chunked, max_objects=1600)
        self.assertIsInstance(MsgpackLimitError('x'), MsgpackError)

    def test_container_length_limit(self):
        self.assertEqual(unpackb(packb(list(range(20))), max_length=20), list(range(20)))
        with self.assertRaisesRegex(MsgpackLimitError, 'array at offset 3 has 21 elements; at most 20'):
            unpackb(packb(list(range(21))), max_length=20)
        with self.assertRaisesRegex(MsgpackLimitError, 'map at offset 3 has 17 elements; at most 16'):
            unpackb(packb({str(i): i for i in range(17)}), max_length=16)

    def test_encoder_rejects_unsupported_values(self):
        for value in (object(), {1.5: 2}, {(1,): 2}, 2 ** 64, -(2 ** 63) - 1, {1, 2}):
            with self.subTest(value=repr(value)):
                with self.assertRaises(MsgpackError):
                    packb(value)


if __name__ == '__main__':
    unittest.main()
