"""`gantk run PRESET`: train a preset (the paper's DCGAN is `dcgan`) through the core
`gantk.training.entry.train`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from gantk.training.request import RunRequest


def run(
    preset: str | None = typer.Argument(None, help="preset name (see `gantk plugins`), e.g. "
                                        "dcgan; optional when --config names one"),
    data: Path | None = typer.Option(None, "--data", help="ImageStore to train on "
                                     "(default: the embedded Fashion-MNIST demo)"),
    out: Path | None = typer.Option(None, "--out", help="run directory "
                                    "(default: $GANTK_HOME/runs/PRESET-TIME)"),
    steps: int | None = typer.Option(None, "--steps", help="generator updates"),
    batch_size: int | None = typer.Option(None, "--batch-size"),
    device: str | None = typer.Option(None, "--device", help="cpu, cuda or auto"),
    seed: int | None = typer.Option(None, "--seed"),
    resume: bool = typer.Option(False, "--resume", help="continue the run in --out (default: "
                                "the newest run of this preset) from its latest checkpoint"),
    overrides: list[str] = typer.Option([], "--set", help="any config key=value, e.g. "
                                        "--set lr=1e-4 --set model.ngf=32"),
    log: list[str] = typer.Option([], "--log", metavar="TRACKER", help="log to TRACKER "
                                  "too (repeatable): tensorboard, mlflow or a plugin's; "
                                  "metrics.jsonl is always written. Same as --set "
                                  "trackers=[...]"),
    config_file: Path | None = typer.Option(None, "--config", help="run file (TOML, or a run's "
                                            "config.json) with any config keys; flags and "
                                            "--set override it"),
    nproc: int = typer.Option(1, "--nproc", min=1, help="train with N processes on this "
                              "machine under torchrun (DistributedDataParallel; --batch-size "
                              "is per process)"),
) -> None:
    """Train PRESET and print where the samples, metrics and checkpoints went.

    The configuration is layered: preset < --config FILE < flags < --set.

    Also runs as each process of `torchrun --nproc-per-node N -m gantk run …`."""
    from gantk.training.request import RunRequest, check_request

    request = RunRequest(preset, data, out, resume, {"steps": steps, "batch_size": batch_size,
                                                     "device": device, "seed": seed},
                         [*overrides, *_trackers_override(log)], config_file)
    check_request(request)  # names and values, before torch is imported
    if nproc > 1:
        from gantk.training.launch import launch

        raise typer.Exit(launch(nproc, request.cli_args()))
    _train(request)


def _trackers_override(log: list[str]) -> list[str]:
    """`--log a --log b` as the `--set` pair it stands for (so torchrun's processes and a
    resumed run see it like any other key)."""
    import json

    return [f"trackers={json.dumps(log)}"] if log else []


def _train(request: RunRequest) -> None:
    from gantk.progress import console, progress_bar
    from gantk.training.entry import TrainEvents, result_lines, train

    result = train(request, TrainEvents(log=console.print, bar=progress_bar))
    if result is None:  # a rank other than 0 of a torchrun job
        return
    for line in result_lines(result, request.preset_name()):
        print(line)
    if result.interrupted:
        raise typer.Exit(130)


def register(app: typer.Typer) -> None:
    app.command("run")(run)
