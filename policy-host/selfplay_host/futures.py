"""Tinker-style futures: a request is accepted at once with a request id, runs
later on a worker, and its result is fetched (long-polled) by id.

Each model has one worker that runs its requests in the order they arrived,
so a client may submit forward_backward and optim_step without waiting for
either; sampling has a worker of its own, so it runs beside training.
"""

from __future__ import annotations

import itertools
import queue
import sys
import threading
import traceback
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from .protocol import ProtocolError


@dataclass
class Future:
    request_id: str
    kind: str
    done: threading.Event = field(default_factory=threading.Event)
    result: dict | None = None
    error: str | None = None


class SerialWorker:
    """A daemon thread that runs submitted jobs one at a time, in submission order."""

    def __init__(self, name: str):
        self.jobs: queue.SimpleQueue = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()

    def submit(self, job: Callable[[], None]) -> None:
        self.jobs.put(job)

    def close(self) -> None:
        self.jobs.put(None)

    def _run(self) -> None:
        while (job := self.jobs.get()) is not None:
            job()


class FutureStore:
    """Request ids (decimal strings from one counter, as SkyRL numbers them) and their outcomes. Finished futures
    are kept for re-reading, the newest `keep` of them; a retrieve waits at most `wait_seconds` for one to finish."""

    def __init__(self, wait_seconds: float, keep: int = 4096):
        self.wait_seconds = wait_seconds
        self.keep = keep
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._futures: OrderedDict[str, Future] = OrderedDict()

    def submit(self, kind: str, worker: SerialWorker, work: Callable[[], dict]) -> str:
        """Queues `work` on `worker`; its dict is the result, a ProtocolError (or any exception) its failure."""
        with self._lock:
            future = Future(str(next(self._ids)), kind)
            self._futures[future.request_id] = future
            self._trim()

        def run() -> None:
            try:
                future.result = work()
            except ProtocolError as error:
                future.error = error.message
            except Exception as error:  # noqa: BLE001 - a bug fails the request, not the worker
                traceback.print_exc(file=sys.stderr)
                future.error = f'internal error: {type(error).__name__}: {error}'
            future.done.set()

        worker.submit(run)
        return future.request_id

    def completed(self, kind: str, result: dict) -> str:
        """A request that finished as it was accepted (create_model, unload_model)."""
        with self._lock:
            future = Future(str(next(self._ids)), kind, result=result)
            future.done.set()
            self._futures[future.request_id] = future
            self._trim()
        return future.request_id

    def retrieve(self, request_id: str, wait_seconds: float | None = None) -> Future:
        """The finished future; 404 for an id never issued (or long forgotten), 408 when it is still running."""
        with self._lock:
            future = self._futures.get(request_id)
        if future is None:
            raise ProtocolError(404, 'Future not found')
        if not future.done.wait(self.wait_seconds if wait_seconds is None else wait_seconds):
            raise ProtocolError(408, 'Timeout waiting for result')
        return future

    def _trim(self) -> None:
        if len(self._futures) <= self.keep:
            return
        for request_id in [rid for rid, f in self._futures.items() if f.done.is_set()][:len(self._futures) - self.keep]:
            del self._futures[request_id]

