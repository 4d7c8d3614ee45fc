"""`filter-ablation` (paper Fig. 6, "forgetting to draw windows").

A person marks an object with boxes on numbered samples (`gantk viz samples`), in a JSON:

    {"seed": 0, "boxes": {"3": [[x0, y0, x1, y1]], "8": [], ...}}

(pixel coordinates of the generated image, x1/y1 exclusive; a sample with `[]` is one
without the object). A logistic regression on the generator's second-highest conv layer
(`Generator.hidden(z)[-2]`) predicts, position by position, whether a feature vector lies
inside a box; the filters with positive weight are zeroed at every position, and the
samples are drawn again with and without them.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gantk import hookimpl
from gantk.contract.options import lazy
from gantk.contract.specs import EvalContext, EvalResult, EvalSpec

if TYPE_CHECKING:
    import numpy as np
    import torch



def read_boxes(path: Path, resolution: int) -> tuple[int | None, dict[int, list[list[int]]]]:
    """The seed (if given) and the boxes per sample number, checked against the image size."""
    from gantk.errors import ConfigError

    try:
        doc = json.loads(Path(path).read_text())
        boxes = {int(k): [[int(c) for c in box] for box in v] for k, v in doc["boxes"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(f"{path}: expected {{\"seed\": S, \"boxes\": {{\"3\": [[x0, y0, x1, "
                          f"y1]], ...}}}} ({exc})") from None
    for number, items in boxes.items():
        for box in items:
            x0, y0, x1, y1 = box if len(box) == 4 else (0, 0, -1, -1)
            if not (0 <= x0 < x1 <= resolution and 0 <= y0 < y1 <= resolution):
                raise ConfigError(f"{path}: sample {number} box {box} is not [x0, y0, x1, y1] "
                                  f"inside the {resolution}x{resolution} image")
    if not any(boxes.values()):
        raise ConfigError(f"{path}: no boxes; mark the object on at least one sample")
    return doc.get("seed"), boxes


def box_masks(boxes: dict[int, list[list[int]]], numbers: list[int], resolution: int,
              size: int) -> np.ndarray:
    """`(N, size, size)` bool: which cells of a `size`-wide feature map lie (at least half)
    inside a box."""
    import numpy as np

    pixels = np.zeros((len(numbers), resolution, resolution), np.float32)
    for row, number in enumerate(numbers):
        for x0, y0, x1, y1 in boxes[number]:
            pixels[row, y0:y1, x0:x1] = 1
    cell = resolution // size
    return pixels.reshape(len(numbers), size, cell, size, cell).mean(axis=(2, 4)) >= 0.5


def ablated(generator: torch.nn.Module, layer: int, drop: list[int],
            reference: torch.Tensor) -> torch.nn.Module:
    """A copy of `generator` whose `layers()[layer]` output has channels `drop` zeroed at
    every position, with BatchNorm statistics of `reference` taken with the filters gone."""
    import torch

    from gantk.training.sampling import freeze_batch_stats

    twin = copy.deepcopy(generator)
    if drop:
        keep = torch.ones(twin.hidden(reference[:1])[layer].shape[1], device=reference.device)
        keep[drop] = 0
        twin.layers()[layer].register_forward_hook(
            lambda _m, _i, out: out * keep.view(1, -1, *([1] * (out.dim() - 2))))
    return freeze_batch_stats(twin, reference)


def _inside_outside(change: np.ndarray, inside: np.ndarray) -> tuple[float, float]:
    return float(change[inside].mean()), float(change[~inside].mean())


def _with_boxes(images: torch.Tensor, boxes: list[list[list[int]]], scale: int) -> np.ndarray:
    """uint8 `(N, H, W, 3)` images enlarged `scale` times with red box outlines."""
    import numpy as np

    from gantk.grids import to_uint8

    arr = to_uint8(images)
    arr = np.repeat(arr, 3, axis=3) if arr.shape[3] == 1 else arr.copy()
    arr = arr.repeat(scale, axis=1).repeat(scale, axis=2)
    for i, items in enumerate(boxes):
        for x0, y0, x1, y1 in items:
            x0, y0, x1, y1 = x0 * scale, y0 * scale, x1 * scale - 1, y1 * scale - 1
            arr[i, [y0, y1], x0:x1 + 1] = (255, 0, 0)
            arr[i, y0:y1 + 1, [x0, x1]] = (255, 0, 0)
    return arr


def fit_filters(features: np.ndarray, inside: np.ndarray) -> tuple[np.ndarray, float]:
    """Logistic regression of "inside a box" on per-position feature vectors
    `(N, K, h, w)`: its weight per filter (on standardized features) and accuracy."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    x = features.transpose(0, 2, 3, 1).reshape(-1, features.shape[1])
    y = inside.reshape(-1)
    x = StandardScaler().fit_transform(x)
    model = LogisticRegression(class_weight="balanced", max_iter=2000).fit(x, y)
    return model.coef_[0], float(model.score(x, y))


def filter_ablation(ctx: EvalContext) -> EvalResult:
    import torch

    from gantk.errors import ConfigError
    from gantk.grids import grid_array
    from gantk.plugins.visualizations.lib.canvas import column, panel, save_png
    from gantk.plugins.visualizations.lib.common import (
        int_list,
        numbered_z,
        reference_z,
        run_record,
        write_json,
    )

    run = ctx.load()
    res = run.config.resolution
    seed, boxes = read_boxes(ctx.options["boxes"], res)
    seed = ctx.seed if seed is None else int(seed)
    layer = ctx.options.get("layer", -2)
    numbers = sorted(boxes)
    default_show = [n for n in numbers if boxes[n]][:16]
    show = int_list(ctx.options["show"], "show") if "show" in ctx.options else default_show
    reference = reference_z(run, seed)
    z = numbered_z(run, seed, numbers)

    with torch.no_grad():
        before = ablated(run.generator, layer, [], reference)
        depth = len(before.layers())
        if isinstance(layer, bool) or not isinstance(layer, int) or not -depth <= layer < depth:
            raise ConfigError(f"option layer: expected an index into the generator's {depth} "
                              f"hidden layers (0..{depth - 1} or -1..-{depth}), got {layer!r}")
        feats = before.hidden(z)[layer].cpu().numpy()
        inside = box_masks(boxes, numbers, res, feats.shape[-1])
        if inside.all() or not inside.any():
            raise ConfigError("filter-ablation: the boxes must cover some but not all feature "
                              "positions; add samples without the object ([] boxes)")
        weights, accuracy = fit_filters(feats, inside)
        drop = [int(k) for k in (weights > 0).nonzero()[0]]
        gone = ablated(run.generator, layer, drop, reference)
        feats_after = gone.hidden(z)[layer].cpu().numpy()
        shown_z = numbered_z(run, seed, show)
        images, images_after = before(shown_z).cpu(), gone(shown_z).cpu()
        all_before, all_after = before(z).cpu().numpy(), gone(z).cpu().numpy()

    act_in, act_out = _inside_outside(abs(feats - feats_after).mean(1), inside)
    pixel_inside = box_masks(boxes, numbers, res, res)
    pix_in, pix_out = _inside_outside(abs(all_before - all_after).mean(1), pixel_inside)
    nrow = min(8, len(show))
    marked = _with_boxes(images, [boxes.get(n, []) for n in show], 2)
    top = panel(grid_array(marked, nrow=nrow), f"samples {','.join(map(str, show))} (boxes)")
    bottom = panel(grid_array(images_after, nrow=nrow, scale=2),
                   f"{len(drop)} of {len(weights)} filters of layer {layer} dropped")
    figure = save_png(column([top, bottom]), ctx.out_dir / "filter_ablation.png")
    metrics: dict[str, Any] = {
        "filters_dropped": float(len(drop)), "filters": float(len(weights)),
        "accuracy": accuracy, "activation_change_inside": act_in,
        "activation_change_outside": act_out, "pixel_change_inside": pix_in,
        "pixel_change_outside": pix_out}
    boxes_copy = write_json(ctx.out_dir / "boxes.json",
                            {"seed": seed, "boxes": {str(k): v for k, v in boxes.items()}})
    saved = write_json(ctx.out_dir / "filter_ablation.json", {
        **run_record(run, seed), "layer": layer, "samples": numbers, "show": show,
        "dropped": drop, "weights": weights.tolist(), **metrics})
    return EvalResult(metrics=metrics, figures={"filter_ablation": figure},
                      files={"record": saved, "boxes": boxes_copy},
                      summary=f"dropped {len(drop)}/{len(weights)} filters of layer {layer} "
                              f"(fit accuracy {accuracy:.2f} on {len(numbers)} samples)")


@hookimpl
def register_evals(register):
    register(EvalSpec(
        name="filter-ablation", run=filter_ablation, kind="visualization",
        options=lazy("gantk.plugins.visualizations.lib.options:FilterAblationOptions"),
        required_options=("boxes",),
        requires=("hidden", "layers"),
        description="paper Fig. 6: drop the generator filters that predict a boxed object "
                    "(logistic regression on the second-highest conv layer)",
    ))
