"""When the hash model has trained enough: the code's stability on a fixed probe set.

A fixed set of training crops, each with one fixed near-copy corruption (drawn once from
its own seed), is hashed every `CHECK_EVERY` steps; the share of code bits a corruption
leaves unchanged is what the model is trained for (and what de-duplication relies on).
Once it has stopped rising — less than `tolerance` gained over the last `window` checks —
more steps buy nothing, so a small store stops after a few hundred steps instead of a
fixed floor, while a large one trains as long as its codes still improve.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

CHECK_EVERY = 100  # steps between checks
PROBE_IMAGES = 512
TOLERANCE = 0.001  # bit agreement (0..1) that counts as still improving …
WINDOW = 4  # … over this many checks


@dataclass
class StabilityProbe:
    """Bit agreement between clean and corrupted codes of a fixed probe set."""

    clean: object  # torch tensors (N, 3072), normalized
    corrupted: object
    tolerance: float = TOLERANCE
    window: int = WINDOW
    history: list[tuple[int, float]] = field(default_factory=list)

    @classmethod
    def from_crops(cls, crops: np.ndarray, corruption: str, normalization: str, seed: int,
                   device, **kwargs) -> StabilityProbe:
        import torch

        from gantk.datasets.dedup.corruption import corrupt_pair

        pick = np.random.default_rng(seed + 3).permutation(len(crops))[:PROBE_IMAGES]
        generator = torch.Generator().manual_seed(seed + 4)
        how = "nearcopy" if corruption == "gaussian" else corruption
        corrupted, clean = corrupt_pair(torch.from_numpy(crops[np.sort(pick)]).to(device),
                                        how, normalization, generator)
        if corruption == "gaussian":
            corrupted = clean + 0.2 * torch.randn(clean.shape, generator=generator).to(device)
        return cls(clean, corrupted, **kwargs)

    def agreement(self, net) -> float:
        import torch

        with torch.no_grad():
            same = (net.encoder(self.clean) > 0) == (net.encoder(self.corrupted) > 0)
        return float(same.float().mean())

    def record(self, step: int, net) -> bool:
        """Measure at `step`; True once the agreement has stopped rising."""
        self.history.append((step, round(self.agreement(net), 5)))
        if len(self.history) <= self.window:
            return False
        return self.history[-1][1] - self.history[-1 - self.window][1] < self.tolerance
