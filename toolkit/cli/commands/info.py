"""`gantk info STORE`: a store's metadata and a preview grid."""

from __future__ import annotations

import json
from pathlib import Path

import typer


def info(
    store: Path = typer.Argument(..., help="an ImageStore directory"),
    as_json: bool = typer.Option(False, "--json", help="machine-readable output"),
    preview: Path | None = typer.Option(None, "--preview", help="where to write the preview "
                                        "grid PNG (default: STORE/preview.png)"),
    verify: bool = typer.Option(False, "--verify", help="re-read every image and check it "
                                "against the fingerprint recorded at ingest"),
) -> None:
    """Show count, resolution, channels, encoding, source and fingerprint."""
    import numpy as np

    from gantk.grids import save_grid
    from gantk.store import ImageStore, verify_store

    st = ImageStore(store)
    meta = {k: v for k, v in st.meta.items() if k != "fingerprint_sum"}
    if verify:  # a damaged store is a StoreError: one line, exit code 2
        meta["verified"] = f"all {verify_store(store)['count']} images match the fingerprint"
    if st.count:
        idx = np.linspace(0, st.count - 1, min(64, st.count)).astype(int)
        images, _ = st.get_many(idx)
        try:
            meta["preview"] = str(save_grid(images, preview or store / "preview.png", nrow=8))
        except OSError:  # a read-only store: skip the preview rather than fail
            meta["preview"] = None
    if as_json:
        typer.echo(json.dumps(meta, indent=2))
        return
    for key, value in meta.items():
        typer.echo(f"{key:>12}: {value}")


def register(app: typer.Typer) -> None:
    app.command("info")(info)
