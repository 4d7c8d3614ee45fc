"""Live progress bars for long work in the terminal (rich, which typer already brings)."""

from __future__ import annotations

import contextlib
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


@contextlib.contextmanager
def progress_bar(description: str) -> Iterator[Callable[..., None]]:
    """Yields `update(done, total, fields=None)`; `fields` (a dict) is shown after the bar."""
    columns = [TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
               TextColumn("{task.fields[info]}")]
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task(description, total=None, info="")

        def update(done: int, total: int | None, fields: dict[str, float] | None = None) -> None:
            info = ""
            if fields:
                info = "  ".join(f"{k}={v:.3g}" for k, v in fields.items() if k != "step")
            bar.update(task, completed=done, total=total, info=info)

        yield update
