"""python3 -m selfplay_host: start the policy host.

Prints one JSON line to stdout once it listens, e.g.
{"listening": "http://127.0.0.1:8000", "device": "cpu"}
and stops cleanly on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading

import torch

from .memory import tune_malloc
from .model import ModelConfig
from .protocol import SCORINGS
from .server import MIB, HostOptions, make_server


class _Formatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows defaults, except where there is none to show (the help says what happens)."""

    def _get_help_string(self, action):
        return action.help if action.default is None or action.default is False else super()._get_help_string(action)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog='python3 -m selfplay_host',
        description='Serve tiny byte-level transformer policies: OpenAI-compatible sampling '
                    '(/v1/chat/completions, /v1/models) and training over the Tinker API (/api/v1/*, the JSON encoding SkyRL serves). '
                    'Protocol: docs/policy-host.md.',
        formatter_class=_Formatter,
    )
    net = parser.add_argument_group('network')
    net.add_argument('--host', metavar='ADDR', default='127.0.0.1', help='address to bind')
    net.add_argument('--port', metavar='N', type=int, default=8000, help='port to bind; 0 picks a free one (read it from the JSON line on stdout)')

    model = parser.add_argument_group('model (every policy has the same shape)')
    model.add_argument('--d-model', metavar='N', type=int, default=64, help='width of the residual stream')
    model.add_argument('--layers', metavar='N', type=int, default=2, help='transformer blocks')
    model.add_argument('--heads', metavar='N', type=int, default=4, help='attention heads (must divide --d-model)')
    model.add_argument('--context', metavar='N', type=int, default=256, help='context length in tokens (bytes), prompt and completion together')
    model.add_argument('--mlp-ratio', metavar='N', type=int, default=4, help='MLP hidden width as a multiple of --d-model')
    model.add_argument('--seed', metavar='N', type=int, default=0, help='initialises the weights (policy i gets seed + i) and seeds requests that bring no seed')

    policies = parser.add_argument_group('policies')
    policies.add_argument('--policy', action='append', dest='policies', metavar='NAME',
                          help='serve a policy with this name; repeat for several (default: one named "tiny")')
    policies.add_argument('--keep', metavar='N', type=int, default=3, help='published versions kept per policy for in-flight matches; older ones answer 404')
    policies.add_argument('--checkpoint-dir', metavar='DIR', default='checkpoints', help='where checkpoints are written; load reads only from here')

    runtime = parser.add_argument_group('runtime')
    runtime.add_argument('--device', metavar='DEVICE', default=None, help='torch device: cpu, cuda, cuda:1... (default: cuda when available, else cpu)')
    runtime.add_argument('--threads', metavar='N', type=int, default=1,
                         help='torch CPU threads; the model is small enough that more threads mostly add synchronisation, so raise it only for larger models')
    runtime.add_argument('--guided-choice-scoring', choices=SCORINGS, default='sum',
                         help='how a guided_choice request that names no scoring ranks its choices: by sequence logprob (sum), mean token logprob (mean, which lets a fresh byte model explore moves of different lengths), or as constrained decoding would (constrained: at each token where the choices part, the model\'s distribution renormalised over the tokens that continue one; tokens they share, or after one has parted, count nothing)')
    runtime.add_argument('--max-choice-batch', metavar='N', type=int, default=64,
                         help='the most guided_choice requests scored together: those that arrive while the model is busy wait and go in one batch (1: each alone)')
    runtime.add_argument('--no-malloc-tuning', dest='malloc_tuning', action='store_false',
                         help="leave glibc's malloc as it is: by default the host raises its mmap and trim thresholds, so that the large "
                              'tensors each op allocates and frees reuse the heap instead of new pages from the kernel (set MALLOC_MMAP_THRESHOLD_ '
                              'or MALLOC_TRIM_THRESHOLD_ to tune it yourself)')
    runtime.add_argument('--default-max-tokens', metavar='N', type=int, default=64, help='max_tokens of a completion request that gives none')
    runtime.add_argument('--max-request-mb', metavar='MIB', type=float, default=1.0, help='largest JSON body accepted (chat, choice probabilities, Tinker calls but forward and forward_backward), MiB')
    runtime.add_argument('--max-train-mb', metavar='MIB', type=float, default=64.0, help='largest forward or forward_backward body accepted, MiB')
    runtime.add_argument('--future-wait', metavar='S', type=float, default=30.0, help='the longest retrieve_future waits for a result before answering 408 (the client asks again)')
    runtime.add_argument('--session-timeout', metavar='S', type=float, default=300.0, help='a Tinker session that heartbeated and then fell silent this long loses its models')
    runtime.add_argument('--verbose', action='store_true', help='log every request to stderr')
    runtime.add_argument('--exit-with-stdin', action='store_true',
                         help='stop when stdin closes: a host started by another process (selfplay train-llm) stops when that process dies, even by SIGKILL')
    return parser.parse_args(argv)


def options_from(args: argparse.Namespace) -> HostOptions:
    if args.keep < 1:
        raise ValueError('--keep must be at least 1')
    if args.default_max_tokens < 1:
        raise ValueError('--default-max-tokens must be at least 1')
    if args.max_choice_batch < 1:
        raise ValueError('--max-choice-batch must be at least 1')
    if not args.future_wait > 0 or not args.session_timeout > 0:
        raise ValueError('--future-wait and --session-timeout must be above 0')
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    torch.device(device)  # raises on a malformed name
    if device.startswith('cuda') and not torch.cuda.is_available():
        raise ValueError(f'--device {device}: this torch sees no CUDA device')
    return HostOptions(
        model=ModelConfig(d_model=args.d_model, layers=args.layers, heads=args.heads, context=args.context, mlp_ratio=args.mlp_ratio),
        policies=args.policies or ['tiny'],
        seed=args.seed,
        keep=args.keep,
        device=device,
        checkpoint_dir=args.checkpoint_dir,
        default_max_tokens=args.default_max_tokens,
        guided_choice_scoring=args.guided_choice_scoring,
        max_choice_batch=args.max_choice_batch,
        max_json_bytes=int(args.max_request_mb * MIB),
        max_train_bytes=int(args.max_train_mb * MIB),
        future_wait_seconds=args.future_wait,
        session_timeout_seconds=args.session_timeout,
        verbose=args.verbose,
    )


def _exit_at_end_of_stdin() -> None:
    """The parent is gone: nobody can checkpoint or sample what is in memory, so stop at once, work under way or not."""
    sys.stdin.buffer.read()
    try:
        print('selfplay_host: stdin closed (the parent process is gone); exiting', file=sys.stderr, flush=True)
    except OSError:  # stderr went with the parent
        pass
    os._exit(0)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        options = options_from(args)
    except ValueError as error:
        print(f'selfplay_host: {error}', file=sys.stderr)
        return 2
    torch.set_num_threads(max(1, args.threads))
    if args.malloc_tuning:
        tune_malloc()
    try:
        server = make_server(options, args.host, args.port)
    except (OSError, ValueError) as error:
        print(f'selfplay_host: cannot start: {error}', file=sys.stderr)
        return 1

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    serving = threading.Thread(target=server.serve_forever, name='http', daemon=True)
    serving.start()
    print(json.dumps({'listening': server.url, 'device': str(server.host.device)}), flush=True)
    if args.exit_with_stdin:
        threading.Thread(target=_exit_at_end_of_stdin, name='stdin', daemon=True).start()
    while not stop.wait(0.5):
        pass
    server.shutdown()
    server.server_close()
    # Let a step or sample that is under way finish, so nothing stops halfway through the weights.
    for lock in (server.host.lock, server.host.sampling_lock):
        if lock.acquire(timeout=30):
            lock.release()
    return 0


if __name__ == '__main__':
    sys.exit(main())
