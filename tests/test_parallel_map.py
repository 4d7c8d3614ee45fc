"""ordered_map: worker processes (and the caller, while they start) give map()'s results in
map()'s order."""

from __future__ import annotations

import os

from gantk.ingest.parallel import ordered_map


def square_where(item: int) -> tuple[int, int]:
    """The item squared, and the process that computed it."""
    return item * item, os.getpid()


def test_ordered_like_map_whoever_computes():
    got = list(ordered_map(square_where, range(300), workers=2, window=4))
    assert [value for value, _ in got] == [i * i for i in range(300)]
    pids = {pid for _, pid in got}
    assert len(pids - {os.getpid()}) >= 1  # the workers did work …
    assert len(pids) <= 3  # … and nobody else did


def test_one_worker_runs_here():
    assert {pid for _, pid in ordered_map(square_where, range(5), workers=1)} == {os.getpid()}
