"""tune_malloc: after it, a large tensor comes from glibc's heap instead of a mapping of its own (mallinfo2's
hblkhd, the bytes in such mappings, does not grow); without it, or where the environment tunes malloc, it does."""

import os
import subprocess
import sys
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Prints whether tune_malloc tuned, then the growth of mmapped bytes while a 4 MiB tensor exists.
PROBE = '''
import ctypes, sys
import torch
from selfplay_host.memory import tune_malloc
libc = ctypes.CDLL('libc.so.6')
class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in ('arena', 'ordblks', 'smblks', 'hblks', 'hblkhd', 'usmblks', 'fsmblks', 'uordblks', 'fordblks', 'keepcost')]
libc.mallinfo2.restype = MallInfo2
tuned = tune_malloc() if sys.argv[1] == 'tune' else None
before = libc.mallinfo2().hblkhd
tensor = torch.ones(1 << 20)
print(tuned, libc.mallinfo2().hblkhd - before)
'''


def probe(mode: str, **env: str) -> tuple[str, int]:
    out = subprocess.run([sys.executable, '-c', PROBE, mode], capture_output=True, text=True, timeout=120,
                         env={**os.environ, 'PYTHONPATH': ROOT, 'PYTHONDONTWRITEBYTECODE': '1', **env})
    if out.returncode != 0:
        raise AssertionError(out.stderr)
    tuned, grown = out.stdout.split()
    return tuned, int(grown)


def has_mallinfo2() -> bool:
    try:
        import ctypes
        ctypes.CDLL('libc.so.6').mallinfo2  # noqa: B018
        return True
    except (OSError, AttributeError):
        return False


@unittest.skipUnless(has_mallinfo2(), 'glibc 2.33 or later only')
class TuneMalloc(unittest.TestCase):
    def test_a_large_tensor_comes_from_the_heap_once_tuned(self):
        self.assertEqual(probe('tune'), ('True', 0))

    def test_untuned_a_large_tensor_gets_a_mapping_of_its_own(self):
        tuned, grown = probe('leave')
        self.assertEqual(tuned, 'None')
        self.assertGreaterEqual(grown, 4 << 20)

    def test_a_threshold_set_in_the_environment_is_left_alone(self):
        tuned, grown = probe('tune', MALLOC_MMAP_THRESHOLD_=str(128 << 10))
        self.assertEqual(tuned, 'False')
        self.assertGreaterEqual(grown, 4 << 20)


if __name__ == '__main__':
    unittest.main()
