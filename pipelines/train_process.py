"""The training process the `trained_model` asset launches through Dagster Pipes:

    python -m gantk.pipelines.train_process REQUEST_JSON     (or under torchrun)

It enters the core `gantk.training.entry.train` with the request the asset composed and
validated, and reports logs, metrics and the trained model back to Dagster (rank 0 only).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from gantk.errors import GantkError

# Where the asset that launched this process wants the one-line error (it raises it as the
# step's `Failure`, so the UI shows our line rather than "the process failed").
ERROR_FILE_ENV = "GANTK_ERROR_FILE"


def main(argv: list[str] | None = None) -> int:
    from gantk.pipelines.pipes_reporter import pipes_reporter
    from gantk.training.entry import TrainEvents, train
    from gantk.training.request import RunRequest

    argv = sys.argv[1:] if argv is None else argv
    request = RunRequest.from_json(argv[0])
    with pipes_reporter() as reporter:
        try:
            result = train(request, TrainEvents(log=reporter.tee(print),
                                                metrics=reporter.metrics))
        except GantkError as exc:  # one line in Dagster's event log, not a traceback
            reporter.error(str(exc))
            print(f"error: {exc}", file=sys.stderr)
            if os.environ.get(ERROR_FILE_ENV):
                Path(os.environ[ERROR_FILE_ENV]).write_text(str(exc).splitlines()[0])
            return exc.exit_code
        if result is not None:
            reporter.training_done(result)
    return 130 if result is not None and result.interrupted else 0


if __name__ == "__main__":
    sys.exit(main())
