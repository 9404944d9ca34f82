"""Progress bars for long runs, on stderr, without threading a callback through the pipeline.

A command turns progress on for its duration with :func:`tracking`; pipeline code anywhere below
it asks for a :func:`task` and advances it. With tracking off (the default: library use, tests,
``--quiet``, ``--format json/github``, stderr not a terminal, or a small run) a task is a no-op
costing one attribute lookup per step, so the pipeline does not care whether anyone watches.

The bar is transient: it disappears when the command finishes, leaving only the report.
"""

from __future__ import annotations

import contextlib
import contextvars
import sys
from typing import Iterator

#: Runs over fewer environments finish before a bar would be worth drawing.
MIN_ENVIRONMENTS = 20

_ACTIVE: contextvars.ContextVar["_Tracker | None"] = contextvars.ContextVar("hubgen_progress", default=None)


class Task:
    """A unit of work with a known number of steps."""

    def advance(self, steps: int = 1) -> None:  # pragma: no cover - overridden or intentionally empty
        pass

    def done(self) -> None:
        pass


_NOOP = Task()


class _RichTask(Task):
    def __init__(self, tracker: "_Tracker", description: str, total: int) -> None:
        self._progress = tracker.progress
        self._id = self._progress.add_task(description, total=total)

    def advance(self, steps: int = 1) -> None:
        self._progress.advance(self._id, steps)

    def done(self) -> None:
        self._progress.update(self._id, visible=False)


class _Tracker:
    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=Console(file=sys.stderr, emoji=False, highlight=False), transient=True, refresh_per_second=10)


def enabled(*, quiet: bool, fmt: str, stream=None) -> bool:
    """Whether a command should draw progress: text output, not quiet, stderr a terminal."""
    stream = stream if stream is not None else sys.stderr
    return not quiet and fmt == "text" and hasattr(stream, "isatty") and stream.isatty()


@contextlib.contextmanager
def tracking(on: bool) -> Iterator[None]:
    """Draw the bars of every :func:`task` started inside (when ``on``)."""
    if not on:
        yield
        return
    tracker = _Tracker()
    token = _ACTIVE.set(tracker)
    try:
        with tracker.progress:
            yield
    finally:
        _ACTIVE.reset(token)


def task(description: str, total: int, *, environments: int | None = None) -> Task:
    """A task of ``total`` steps; a bar only while tracking and for runs over MIN_ENVIRONMENTS
    environments (``environments`` defaults to ``total``)."""
    tracker = _ACTIVE.get()
    if tracker is None or (environments if environments is not None else total) < MIN_ENVIRONMENTS:
        return _NOOP
    return _RichTask(tracker, description, total)
