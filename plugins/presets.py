"""Built-in presets: named run configurations that `gantk run NAME` resolves."""

from __future__ import annotations

from gantk import hookimpl
from gantk.contract.specs import PresetSpec

# Paper settings (section 4, Newmu/dcgan_code): Adam lr 2e-4, beta1 0.5, batch 128,
# z ~ U(-1, 1) of 100 dims, 25 epochs. Weight decay 1e-5 is opt-in (`--set
# weight_decay=1e-5`), as only the faces script used it. The EMA generator is off by
# default: in minutes-long CPU runs it scored worse than the trained G in every measurement
# (README, benchmarks/quality.py); `--set ema=0.999` keeps one for long runs.
DCGAN = {
    "architecture": "dcgan", "loss": "nonsaturating", "nz": 100, "z_dist": "uniform",
    "batch_size": 128, "lr": 2e-4, "beta1": 0.5, "beta2": 0.999, "weight_decay": 0.0,
    "epochs": 25,
}


@hookimpl
def register_presets(register):
    register(PresetSpec("dcgan", DCGAN, "the paper's DCGAN and training settings"))
    register(PresetSpec(
        "dcgan-pytorch",
        {**DCGAN, "architecture": "dcgan-pytorch", "z_dist": "normal", "batch_size": 64},
        "the pytorch/examples port (4x4 kernels, N(0,1) z, batch 64)",
    ))
