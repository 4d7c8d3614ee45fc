"""`guided-backprop` (paper Fig. 5): what the discriminator's strongest last-layer
features respond to in real images, beside the same for a randomly initialized
discriminator of the same architecture (the paper's baseline).

Guided backpropagation (Springenberg et al. 2015) passes a gradient back through a ReLU
only where both the input and the gradient are positive. BatchNorm uses the statistics of
the image batch, frozen, so that each map depends on its own image only.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from gantk import hookimpl
from gantk.contract.options import lazy
from gantk.contract.specs import EvalContext, EvalResult, EvalSpec

if TYPE_CHECKING:
    import numpy as np
    import torch



def _guided(model: torch.nn.Module) -> torch.nn.Module:
    """`model` with every ReLU / LeakyReLU replaced by its guided-backprop twin."""
    import torch
    from torch import nn

    class GuidedRelu(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, slope):
            ctx.save_for_backward(x)
            return nn.functional.leaky_relu(x, slope)

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad.clamp(min=0) * (x > 0), None

    class Guided(nn.Module):
        def __init__(self, slope: float):
            super().__init__()
            self.slope = slope

        def forward(self, x):
            return GuidedRelu.apply(x, self.slope)

    for parent in list(model.modules()):
        for name, child in parent.named_children():
            if isinstance(child, (nn.ReLU, nn.LeakyReLU)):
                setattr(parent, name, Guided(getattr(child, "negative_slope", 0.0)))
    return model


def guided_maps(discriminator: torch.nn.Module, images: torch.Tensor,
                features: int) -> tuple[list[int], list[float], torch.Tensor]:
    """The `features` strongest channels of the last conv layer (mean over images of their
    spatial maximum), their strengths, and maps `(features, N, C, H, W)`: the guided
    gradient of each channel's spatial maximum with respect to each image."""
    import copy

    import torch

    from gantk.training.sampling import freeze_batch_stats

    net = copy.deepcopy(discriminator)
    freeze_batch_stats(net, images)
    net = _guided(net)
    x = images.clone().requires_grad_(True)
    last = net.features(x)[-1]
    peaks = last.amax(dim=(2, 3))
    strength, order = peaks.mean(0).topk(min(features, peaks.shape[1]))
    maps = [torch.autograd.grad(peaks[:, k].sum(), x, retain_graph=True)[0] for k in order]
    return order.tolist(), strength.tolist(), torch.stack(maps).detach()


def real_batch(ctx: EvalContext, run, count: int) -> tuple[torch.Tensor, list[int], Path]:
    """`count` seeded real images in [-1, 1] from `--data` or the run's training store."""
    import numpy as np
    import torch

    from gantk.errors import ConfigError
    from gantk.store import ImageStore
    from gantk.training.data import to_model_range

    path = ctx.data or run.config.data
    if path is None:
        raise ConfigError("guided-backprop needs real images: pass --data STORE")
    store = ImageStore(path)
    want = (run.config.resolution, run.config.channels)
    if (store.resolution, store.channels) != want:
        raise ConfigError(f"{path} holds {store.resolution}x{store.resolution}x"
                          f"{store.channels} images; the run was trained on "
                          f"{want[0]}x{want[0]}x{want[1]}: pass a matching --data STORE")
    rng = np.random.default_rng(ctx.seed)
    indices = sorted(rng.choice(len(store), size=min(count, len(store)), replace=False).tolist())
    pixels, _ = store.get_many(indices)
    images = to_model_range(torch.from_numpy(pixels).permute(0, 3, 1, 2))
    return images.to(ctx.device), indices, Path(path)


def _normalized(maps: torch.Tensor) -> torch.Tensor:
    """Each map scaled into [-1, 1] by its own largest magnitude (0 stays mid-grey)."""
    flat = maps.flatten(2).abs().amax(dim=2).clamp(min=1e-12)
    return maps / flat[:, :, None, None, None]


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    import numpy as np

    a, b = a.reshape(a.shape[0] * a.shape[1], -1), b.reshape(b.shape[0] * b.shape[1], -1)
    num = (a * b).sum(1)
    den = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1) + 1e-12
    return float(np.mean(num / den))


def guided_backprop(ctx: EvalContext) -> EvalResult:
    import numpy as np
    import torch

    from gantk.atomic import atomic_path
    from gantk.contract.registry import get_registry
    from gantk.grids import grid_array
    from gantk.plugins.visualizations.lib.canvas import panel, row, save_png
    from gantk.plugins.visualizations.lib.common import (
        positive_int,
        run_record,
        write_json,
    )

    count, features = positive_int(ctx, "images", 8), positive_int(ctx, "features", 6)
    run = ctx.load()
    images, indices, store = real_batch(ctx, run, count)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(ctx.seed)
        _, random_d = get_registry().architecture(run.config.architecture).build(run.config)
    nets = {"trained": run.discriminator, "random": random_d.to(ctx.device)}
    found = {name: guided_maps(net, images, features) for name, net in nets.items()}

    panels, record, arrays = [], {}, {}
    for name, (order, strength, maps) in found.items():
        shown = torch.cat([images.detach().cpu()[None], _normalized(maps).cpu()]).flatten(0, 1)
        title = f"{name} D: real images, then features {','.join(map(str, order))}"
        panels.append(panel(grid_array(shown, nrow=len(indices), scale=2), title))
        record[name] = {"features": order, "strength": strength}
        arrays[name] = maps.cpu().numpy()
    figure = save_png(row(panels, gap=18), ctx.out_dir / "guided_backprop.png")
    similarity = _cosine(arrays["trained"], arrays["random"])
    maps_path = ctx.out_dir / "guided_backprop_maps.npz"
    with atomic_path(maps_path) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, **arrays, indices=np.array(indices))
    saved = write_json(ctx.out_dir / "guided_backprop.json", {
        **run_record(run, ctx.seed), "data": str(store), "indices": indices, **record,
        "trained_random_cosine": similarity})
    return EvalResult(metrics={"trained_random_cosine": similarity},
                      figures={"guided_backprop": figure},
                      files={"record": saved, "maps": maps_path},
                      summary=f"guided backprop of the {features} strongest last-layer "
                              f"features on {len(indices)} images of {store.name}")


@hookimpl
def register_evals(register):
    register(EvalSpec(
        name="guided-backprop", run=guided_backprop, kind="visualization",
        requires=("conv-features",),
        options=lazy("gantk.plugins.visualizations.lib.options:GuidedBackpropOptions"),
        description="paper Fig. 5: guided backprop of D's strongest last-layer features, "
                    "trained vs random D (real images from --data or the run's store)",
    ))
