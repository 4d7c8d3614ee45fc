"""De-duplication's user-facing settings in one home: each default and its one-line help.

The library's keyword defaults, `gantk dedup`'s flags and the Dagster assets' run config
all read these, so they cannot drift apart. Pure Python: the CLI imports it at start-up."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Setting:
    default: Any
    help: str


# training the hash model
SAMPLE = Setting(50_000, "images the hash model is trained on")
EPOCHS = Setting(20, "passes over the training sample (at most)")
MIN_STEPS = Setting(300, "train at least this many updates")
MAX_STEPS = Setting(None, "train at most this many updates (default: the epochs over the "
                          "sample, at least 2000)")
CONVERGE = Setting(True, "stop once the rest of the budget would not make the codes "
                   "noticeably more stable")
SEED = Setting(0, "seed of the sample and the model")
DEVICE = Setting("auto", "auto, cpu, cuda or cuda:N")
# hashing
VARIANTS = Setting(6, "alignment probes hashed per image (shifts, zooms; 0-10)")
WORKERS = Setting(None, "hashing processes on the CPU (default: the usable CPUs from 4,096 "
                        "images on)")
# de-duplicating
RADIUS = Setting(1, "Hamming radius probed (0, 1 or 2 bits)")
VERIFY = Setting("pixels", "check each removal against the kept image: pixels or none")
THRESHOLD = Setting(0.93, "min aligned thumbnail correlation for verify=pixels")
THUMB = Setting(16, "thumbnail side for verify=pixels (8, 16 or 32)")

ALL: dict[str, Setting] = {
    "sample": SAMPLE, "epochs": EPOCHS, "min_steps": MIN_STEPS, "max_steps": MAX_STEPS,
    "converge": CONVERGE, "seed": SEED, "device": DEVICE, "variants": VARIANTS,
    "workers": WORKERS, "radius": RADIUS, "verify": VERIFY, "threshold": THRESHOLD,
    "thumb": THUMB,
}
