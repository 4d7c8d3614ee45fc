"""`digits`: scikit-learn's bundled 8x8 handwritten digits (1,797 real images), the
fallback default data when Fashion-MNIST is not installed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gantk import hookimpl
from gantk.contract.options import lazy
from gantk.contract.specs import DatasetSpec, Record


def open_digits(path: Path, options: dict[str, Any]) -> Iterator[Record]:
    import numpy as np
    from sklearn.datasets import load_digits

    digits = load_digits()
    for i, (image, label) in enumerate(zip(digits.images, digits.target)):
        pixels = np.clip(image * (255.0 / 16.0) + 0.5, 0, 255).astype(np.uint8)
        yield Record(f"digits/{i:04d}", pixels, int(label))


def sklearn_location() -> Path:
    import sklearn

    return Path(sklearn.__file__).parent


@hookimpl
def register_datasets(register):
    register(DatasetSpec(
        name="digits", open=open_digits, length=lambda path, options: 1797,
        default_resolution=32, channels=1, transform="center-crop",
        default_path=sklearn_location, demo_rank=1,
        description="scikit-learn's 8x8 digits, upscaled (no SRC needed)",
        options=lazy("gantk.datasets.lib.options:NoOptions"),
    ))
