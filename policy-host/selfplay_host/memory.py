"""glibc's malloc, tuned for a process that allocates and frees the same large tensors op after op.

glibc starts out serving an allocation of 128 KiB or more with a mapping of its own, unmapped on free, and
returning the free top of its heap to the kernel once more than 128 KiB is free there (both thresholds then
move with what is freed). The host's activations (a batch's attention weights, a layer's output) are mostly
of that size, and left to glibc its ops kept faulting in and zeroing fresh pages: guided choices for 12
Kuhn-sized prompts took 3x the CPU time they take with both thresholds raised. Raised, freed blocks stay in
the heap for the next op; the host's memory stays at what its largest ops need.
"""

from __future__ import annotations

import ctypes
import os

# mallopt's parameter numbers (glibc's malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
# glibc's largest mmap threshold on 64-bit systems; activations are kept under it (scoring.ACTIVATION_BUDGET).
MMAP_THRESHOLD = 32 << 20
TRIM_THRESHOLD = 256 << 20
# glibc reads these at start; a user who sets either has tuned malloc already.
_ENVIRONMENT = ('MALLOC_MMAP_THRESHOLD_', 'MALLOC_TRIM_THRESHOLD_')


def tune_malloc() -> bool:
    """Raises glibc's mmap and trim thresholds in this process; False where it did not (not glibc, or the
    environment sets them)."""
    if any(name in os.environ for name in _ENVIRONMENT):
        return False
    try:
        libc = ctypes.CDLL('libc.so.6')
        libc.gnu_get_libc_version  # noqa: B018 - only glibc has it (musl and macOS have no libc.so.6 or no mallopt)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
