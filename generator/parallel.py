"""Spreading per-environment work over processes, where it pays.

Validating or rendering one environment is pure Python (a few milliseconds), so threads do not help
and a process pool pays only once there is enough work to amortise forking and sending results
back: :data:`MIN_ITEMS` environments (measured on 2 CPUs, see docs/performance.md). Workers are
forked from the running process, so they start with everything imported and every cache warm;
where fork is unavailable, or a worker dies, the work runs here, serially, with the same result.

``HUBGEN_JOBS`` caps the number of processes (``1`` turns parallelism off), as for cfn-lint.
"""

from __future__ import annotations

import os
import sys
from typing import Callable, Sequence, TypeVar

JOBS_ENV = "HUBGEN_JOBS"
#: Below this many items the work runs in this process.
MIN_ITEMS = 100

T = TypeVar("T")
R = TypeVar("R")


def jobs() -> int:
    """Processes to use: ``$HUBGEN_JOBS``, else the CPUs this process may run on."""
    env = os.environ.get(JOBS_ENV, "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


def _can_fork() -> bool:
    # multiprocessing is imported only when a pool may start: most runs (one environment) never need it.
    import multiprocessing

    return "fork" in multiprocessing.get_all_start_methods()


def _run_chunk(fn: Callable[[T], R], chunk: Sequence[T]) -> list[R]:
    return [fn(item) for item in chunk]


def map_in_chunks(fn: Callable[[T], R], items: Sequence[T], *, min_items: int = MIN_ITEMS,
                  on_done: Callable[[int], None] | None = None) -> list[R]:
    """``[fn(item) for item in items]``, in order, on forked workers when there are enough items.

    ``fn`` must be a module-level function and its results picklable. ``on_done(n)`` is called
    as results arrive (progress bars).
    """
    workers = min(jobs(), len(items) // max(1, min_items // 2) if len(items) >= min_items else 1)
    if workers < 2 or sys.platform != "linux" or not _can_fork():
        out = []
        for item in items:
            out.append(fn(item))
            if on_done:
                on_done(1)
        return out
    # Several chunks per worker so that progress moves and an uneven split evens out.
    size = max(1, -(-len(items) // (workers * 4)))
    chunks = [items[i:i + size] for i in range(0, len(items), size)]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork")) as pool:
            out: list[R] = []
            for result in pool.map(_run_chunk, [fn] * len(chunks), chunks):
                out.extend(result)
                if on_done:
                    on_done(len(result))
            return out
    except (BrokenProcessPool, OSError):
        return [fn(item) for item in items]
