"""A real third-party gantk plugin package, written into a folder for tests.

It is found the way an installed package is: a `*.dist-info` with an `entry_points.txt`
in the `gantk` group, on `sys.path` (or on PYTHONPATH for a subprocess). It registers an
architecture, a dataset source, two evaluations (one with a reachable baseline, one with an
unreachable one) and a visualization that needs the model and the data.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

MODULE = "gantk_pipeline_testplugin"
DIST = "gantk-pipeline-testplugin"

PLUGIN_SOURCE = '''
"""Test plugin: registers through the same hooks as any third-party gantk plugin."""

import numpy as np

from gantk import hookimpl
from gantk.contract.specs import ArchitectureSpec, DatasetSpec, EvalResult, EvalSpec, Record


def _samples(ctx, n=16):
    from gantk.training.sampling import generate

    run = ctx.load()
    return generate(run.generator, run.sample_z(n, seed=ctx.seed))


def pixel_stats(ctx):
    images = _samples(ctx)
    spread = float(images.std(dim=0).mean())
    return EvalResult(metrics={"spread": spread, "mean": float(images.mean())},
                      summary=f"per-pixel spread {spread:.3f}")


def sample_sheet(ctx):
    from gantk.grids import save_grid
    from gantk.store import ImageStore

    store = ImageStore(ctx.data)
    reals, _ = store.get_many(list(range(min(8, store.count))))
    fakes = _samples(ctx, 8)
    path = save_grid(fakes, ctx.out_dir / "fakes.png", nrow=8)
    save_grid(reals, ctx.out_dir / "reals.png", nrow=8)
    return EvalResult(metrics={"real_images": float(store.count)}, figures={"fakes": path},
                      files={"reals": ctx.out_dir / "reals.png"})


def open_stripes(path, options):
    for i in range(int(options.get("count", 40))):
        image = np.zeros((16, 16), np.uint8)
        image[:, i % 16] = 255
        yield Record(f"stripe/{i}", image, i % 4)


@hookimpl
def register_architectures(register):
    from gantk.plugins.architectures.dcgan import build_dcgan

    register(ArchitectureSpec("testplugin-dcgan", build_dcgan, (32,),
                              description="the paper's DCGAN under another name"))


@hookimpl
def register_datasets(register):
    register(DatasetSpec("testplugin-stripes", open_stripes, default_resolution=32, channels=1,
                         transform="pad", description="vertical stripes"))


@hookimpl
def register_evals(register):
    register(EvalSpec("pixel-stats", pixel_stats, baseline_metric="spread", baseline=0.0,
                      description="spread of generated pixels (baseline reachable)"))
    register(EvalSpec("pixel-stats-strict", pixel_stats, baseline_metric="spread",
                      baseline=10.0, description="the same with an unreachable baseline"))
    register(EvalSpec("sample-sheet", sample_sheet, kind="visualization",
                      needs=("model", "data"), description="fakes beside reals"))
'''


def write_installed_module(folder: Path, module: str, dist: str, entry: str,
                           source: str) -> Path:
    """A one-module distribution as an installer leaves it (module + dist-info with a
    `gantk` entry point), in `folder` (put `folder` on sys.path or PYTHONPATH)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{module}.py").write_text(textwrap.dedent(source))
    info = folder / f"{module}-1.0.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[gantk]\n{entry} = {module}\n")
    return folder


def write_plugin_package(folder: Path) -> Path:
    """Write the package into `folder` (put `folder` on sys.path or PYTHONPATH)."""
    return write_installed_module(folder, MODULE, DIST, "testplugin", PLUGIN_SOURCE)
