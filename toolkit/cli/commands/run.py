"""`gantk run PRESET`: train a preset (the paper's DCGAN is `dcgan`)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from gantk.pipelines.pipes_reporter import PipesReporter

# Without --data, `gantk run` trains on the embedded demo data for a budget that fits
# about 5 minutes on 2 CPU cores; pass --steps (or --data) for a full-length run.
DEMO_STEPS = 500


def run(
    preset: str = typer.Argument(..., help="preset name (see `gantk plugins`), e.g. dcgan"),
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
    nproc: int = typer.Option(1, "--nproc", min=1, help="train with N processes on this "
                              "machine under torchrun (DistributedDataParallel; --batch-size "
                              "is per process)"),
) -> None:
    """Train PRESET and print where the samples, metrics and checkpoints went.

    Also runs as each process of `torchrun --nproc-per-node N -m gantk run …`."""
    if nproc > 1:
        raise typer.Exit(_launch(nproc, preset, data, out, steps, batch_size, device, seed,
                                 resume, overrides))
    from gantk.pipelines.pipes_reporter import pipes_reporter

    # Launched by the Dagster train asset, this reports logs, metrics and the result back
    # (under torchrun, rank 0 only).
    with pipes_reporter() as reporter:
        _run(preset, data, out, steps, batch_size, device, seed, resume, overrides, reporter)


def _run(preset: str, data: Path | None, out: Path | None, steps: int | None,
         batch_size: int | None, device: str | None, seed: int | None, resume: bool,
         overrides: list[str], reporter: PipesReporter) -> None:
    from gantk.training import distributed
    from gantk.training.runs import newest_run, read_run_config

    world = distributed.join()
    try:
        if resume:
            out = distributed.from_main(out or newest_run(preset), world)
            if out is None:
                raise _error(f"--resume: no earlier run of preset {preset!r} found; pass "
                             "--out DIR")
            layers = [read_run_config(out).model_dump(exclude_none=True)]
        else:
            with distributed.main_first(world):  # rank 0 converts the demo data once
                layers = _fresh_layers(preset, data, steps, world.is_main)
            out = distributed.from_main(out or _default_out(preset), world)
        cli_layer = {"steps": steps, "batch_size": batch_size, "device": device, "seed": seed}
        _train(preset, layers, cli_layer, overrides, out, resume, reporter, world.is_main)
    finally:
        distributed.leave()


def _launch(nproc: int, preset: str, data: Path | None, out: Path | None, steps: int | None,
            batch_size: int | None, device: str | None, seed: int | None, resume: bool,
            overrides: list[str]) -> int:
    """Start this same command in `nproc` processes under torchrun."""
    from gantk.training.launch import launch

    args = ["run", preset]
    for flag, value in (("--data", data), ("--out", out), ("--steps", steps),
                        ("--batch-size", batch_size), ("--device", device), ("--seed", seed)):
        if value is not None:
            args += [flag, str(value)]
    if resume:
        args.append("--resume")
    for pair in overrides:
        args += ["--set", pair]
    return launch(nproc, args)


def _default_out(preset: str) -> Path:
    from gantk.home import runs_dir

    return runs_dir() / f"{preset}-{time.strftime('%Y%m%d-%H%M%S')}"


def _error(message: str) -> Exception:
    from gantk.errors import ConfigError

    return ConfigError(message)


def _fresh_layers(preset: str, data: Path | None, steps: int | None,
                  talk: bool = True) -> list[dict]:
    from gantk.contract.registry import get_registry
    from gantk.ingest.demo_data import default_store
    from gantk.progress import console, progress_bar

    spec = get_registry().preset(preset)
    layers = [spec.config, {"preset": preset}]
    if data is None:
        if talk:
            with progress_bar("preparing demo data") as update:
                data = default_store(notify=console.print, progress=update)
        else:
            data = default_store(notify=_silent)
        if steps is None and talk:
            console.print(f"no --data given: training on the embedded demo store {data} for "
                          f"{DEMO_STEPS} steps (about 5 minutes on 2 CPU cores); pass --steps "
                          "N for longer or --data STORE for your own images")
        if steps is None:
            layers.append({"steps": DEMO_STEPS, "epochs": None})
    layers.append({"data": str(data)})
    return layers


def _silent(message: str) -> None:
    """Where ranks other than 0 send their notices."""


def _train(preset: str, layers: list[dict], cli_layer: dict, overrides: list[str],
           out: Path, resume: bool, reporter: PipesReporter, talk: bool = True) -> None:
    from gantk.progress import console, progress_bar
    from gantk.training.config import make_config, parse_overrides
    from gantk.training.trainer import Trainer

    config = make_config(*layers, cli_layer, parse_overrides(overrides))
    log = reporter.tee(console.print)
    trainer = Trainer(config, out, resume=resume, log=log)
    if not talk:
        trainer.fit()
        return
    cfg = trainer.config
    log(f"training {cfg.architecture} ({cfg.resolution}x{cfg.resolution}x"
        f"{cfg.channels}, loss {cfg.loss}) on {cfg.data} for {cfg.steps} steps "
        f"of batch {cfg.batch_size} on {trainer.device}"
        + (f" x {trainer.world.size} processes" if trainer.world.distributed else ""))
    with progress_bar(f"{preset}") as update:
        result = trainer.fit(progress=update, on_metrics=reporter.metrics)
    reporter.training_done(result, json.loads(cfg.model_dump_json()))
    if result.interrupted:
        console.print(f"interrupted at step {result.step}; checkpoint written. Continue with: "
                      f"gantk run {preset} --resume --out {result.run_dir}")
    print(f"done: {result.step} steps")
    for name, path in result.written().items():
        print(f"  {name:<10} {path}")
    if result.interrupted:
        raise typer.Exit(130)


def register(app: typer.Typer) -> None:
    app.command("run")(run)
