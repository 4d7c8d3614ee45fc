"""Running the `gantk` command line in the test process: no interpreter start-up and no
torch import per call (a subprocess costs seconds each). Subprocesses stay where the
process itself is under test (start-up imports, signals, exit codes of the real binary)."""

from __future__ import annotations

import pytest


def gantk_in_process(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `gantk ARGS` run through the real entry point."""
    from gantk.cli.app import main

    capsys.readouterr()
    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    captured = capsys.readouterr()
    return code, captured.out, captured.err
