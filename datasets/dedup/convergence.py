"""When the hash model has trained enough: the code's stability on a fixed probe set.

A fixed set of training crops, each with one fixed near-copy corruption (drawn once from
its own seed), is hashed every `CHECK_EVERY` steps; the share of code bits a corruption
leaves unchanged is what the model is trained for (and what de-duplication relies on).
Training stops once the rest of its budget would not raise that share by `tolerance` at
the rate it still rises: the rate is a least-squares slope over the later half of the
checks so far (at least `window`) plus half its standard error, so the check-to-check
noise (about +-0.002) neither stops a slow climb nor prolongs a plateau, and the longer
training has run, the longer the stretch the rate is judged on. The trainer asks only
after two passes over the sample (`JUDGE_AFTER_EPOCHS`): on 100,000 images the first
~700 steps are flat before the climb. A small store plateaus after a thousand-odd steps, well
inside its budget; a large one climbs slowly for many epochs (0.897 -> 0.916 over 7,800
steps on 50,000 images, and its recall with it, docs/dedup.md) and trains through most of
its budget.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

CHECK_EVERY = 100  # steps between checks
PROBE_IMAGES = 512
TOLERANCE = 0.002  # bit agreement (0..1) the rest of the budget must still promise …
WINDOW = 6  # … at the slope fitted over the later half of the checks, at least this many,
SLOPE_ERRORS = 0.5  # … plus this many of its standard errors (a noisy fit keeps training)
JUDGE_AFTER_EPOCHS = 2  # a large sample's first passes are flat before its codes climb


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

    def record(self, step: int, net, budget: int) -> bool:
        """Measure at `step`; True once the remaining `budget - step` steps, at the slope
        of the later half of the checks (at least `window`) plus half its standard error,
        would add less than `tolerance`."""
        self.history.append((step, round(self.agreement(net), 5)))
        if len(self.history) < self.window:
            return False
        fitted = self.history[-max(self.window, len(self.history) // 2):]
        steps, agreement = np.array(fitted, dtype=np.float64).T
        x = steps - steps.mean()
        slope = float(x @ agreement / (x @ x))
        residual = agreement - agreement.mean() - slope * x
        error = float(np.sqrt(residual @ residual / max(len(x) - 2, 1) / (x @ x)))
        return (slope + SLOPE_ERRORS * error) * (budget - step) < self.tolerance
