"""An ordered, memory-bounded map over worker processes.

Results come back in input order whatever the number of workers, so outputs built from
them are deterministic; at most `window` tasks are in flight, so a 3M-image source is
never read ahead into memory. Workers start from a fork server (no threads or open LMDB
environments inherited from the caller) and exit on their own if the caller is killed.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from gantk.errors import GantkError

T = TypeVar("T")
R = TypeVar("R")


def usable_cpus() -> int:
    """CPUs this process may run on (respects taskset/cgroup affinity where known)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _context(preload: tuple[str, ...]) -> multiprocessing.context.BaseContext:
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(list(preload))  # imported once, inherited by every worker
    return ctx


def _init_worker(parent_pid: int) -> None:
    """Leave Ctrl-C to the caller (it stops the pool cleanly), and exit when the caller is
    gone (a SIGKILL leaves it no chance to stop us)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    first_ppid = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(0.5)
            try:
                os.kill(parent_pid, 0)
            except ProcessLookupError:
                os._exit(1)
            except PermissionError:
                pass
            if os.getppid() != first_ppid:
                os._exit(1)

    threading.Thread(target=watch, daemon=True, name="gantk-parent-watch").start()


class _Done:
    """A result computed in this process, queued in order among the workers' futures."""

    def __init__(self, value: Any):
        self.value = value


def ordered_map(fn: Callable[[T], R], items: Iterable[T], workers: int,
                window: int | None = None, preload: tuple[str, ...] = ()) -> Iterator[R]:
    """`map(fn, items)` over `workers` processes (in this process when `workers <= 1`).

    `fn` must be picklable (a module-level function or a `functools.partial` of one);
    `preload` names modules the fork server imports once (when it first starts).
    Workers take a while to start (a fresh interpreter importing `preload`): until the
    first of them answers, this process works through the following items itself, so
    start-up costs little wall time. The results are the same, in the same order.
    """
    if workers <= 1:
        for item in items:
            yield fn(item)
        return
    window = window or 4 * workers
    pending: deque[Future[R] | _Done] = deque()
    executor = ProcessPoolExecutor(max_workers=workers, mp_context=_context(preload),
                                   initializer=_init_worker, initargs=(os.getpid(),))
    submitted: list[Future[R]] = []  # the first task of each worker
    starting = True
    try:
        for item in items:
            starting = starting and not any(f.done() for f in submitted)
            if starting and len(submitted) >= workers:
                pending.append(_Done(fn(item)))
            else:
                pending.append(executor.submit(fn, item))
                if starting:
                    submitted.append(pending[-1])
            limit = 2 * window if starting else window  # this process helps a little
            while pending and (isinstance(pending[0], _Done) or len(pending) >= limit):
                yield _result(pending.popleft())
        while pending:
            yield _result(pending.popleft())
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


def _result(future: Future[Any] | _Done) -> Any:
    if isinstance(future, _Done):
        return future.value
    try:
        return future.result()
    except BrokenProcessPool:
        raise GantkError("a worker process died (out of memory, a decoder crashed on an "
                         "input, or a calling script lacks `if __name__ == '__main__':`); "
                         "run again to resume, with --workers 1 to find the input") from None
