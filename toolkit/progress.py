"""Live progress bars for long work in the terminal (rich, which typer already brings)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

console = Console(stderr=True)

# what long work takes to show progress: `bars(description)` is a context manager giving
# `update(done, total, fields=None)` (progress_bar, a Dagster log, or a test's recorder)
Bars = Callable[[str], contextlib.AbstractContextManager[Callable[..., None]]]


PLAIN_INTERVAL_S = 15.0


def _describe(fields: dict[str, float] | None) -> str:
    if not fields:
        return ""
    return "  ".join(f"{k}={v:.3g}" for k, v in fields.items() if k != "step")


@contextlib.contextmanager
def progress_bar(description: str) -> Iterator[Callable[..., None]]:
    """Yields `update(done, total, fields=None)`; `fields` (a dict) is shown after the bar.

    Off a terminal (logs, CI, Dagster subprocesses) a live bar would print nothing until
    the end, so a plain line is printed every PLAIN_INTERVAL_S seconds instead.
    """
    if not console.is_terminal:
        with _plain_lines(description) as update:
            yield update
        return
    columns = [TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
               TextColumn("{task.fields[info]}")]
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task(description, total=None, info="")

        def update(done: int, total: int | None, fields: dict[str, float] | None = None) -> None:
            bar.update(task, completed=done, total=total, info=_describe(fields))

        yield update


@contextlib.contextmanager
def _plain_lines(description: str) -> Iterator[Callable[..., None]]:
    start = last = time.monotonic()
    state: dict[str, object] = {}

    def line() -> None:
        done, total = state.get("done", 0), state.get("total")
        elapsed = time.monotonic() - start
        of = f"/{total}" if total else ""
        console.print(f"{description}: {done}{of} ({elapsed:.0f}s) {state.get('info', '')}",
                      highlight=False)

    def update(done: int, total: int | None, fields: dict[str, float] | None = None) -> None:
        nonlocal last
        state.update(done=done, total=total, info=_describe(fields))
        if time.monotonic() - last >= PLAIN_INTERVAL_S:
            last = time.monotonic()
            line()

    yield update
    if state:
        line()
