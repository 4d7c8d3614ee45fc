"""Our errors as Dagster `Failure`s: the UI shows the one line, not a stack trace.

Every asset body runs core code inside `one_line(...)`, so a `GantkError` (a problem with the
user's input, never a bug) reaches the event log as `asset: what is wrong and the fix`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from dagster import Failure


@contextlib.contextmanager
def one_line(label: str, hint: str = "") -> Iterator[None]:
    """Re-raise a `GantkError` as `Failure("label: message[; hint]")`, without traceback."""
    from gantk.errors import GantkError

    try:
        yield
    except GantkError as exc:
        raise Failure(f"{label}: {exc}" + (f" ({hint})" if hint else "")) from None
