"""The de-duplication report (JSON) and a contact sheet of sample collision groups."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from gantk.atomic import write_text_atomic
from gantk.grids import save_grid
from gantk.store import ImageStore

SHEET_GROUPS = 16
SHEET_WIDTH = 8


def member_keys(store: ImageStore, group: np.ndarray) -> list[str]:
    """Source keys of a group's members (the index, as "#i", where a record has none)."""
    return [store.source_key(int(i)) or f"#{int(i)}" for i in group]


def write_report(path: Path, store: ImageStore, groups: list[np.ndarray],
                 summary: dict[str, Any]) -> Path:
    doc = {**summary, "group_count": len(groups),
           "groups": [member_keys(store, g) for g in groups],
           "group_indices": [[int(i) for i in g] for g in groups]}
    write_text_atomic(path, json.dumps(doc, indent=1))
    return path


def sample_groups(groups: list[np.ndarray], count: int = SHEET_GROUPS) -> list[np.ndarray]:
    """Evenly spaced groups (deterministic), so the sheet shows more than the first few."""
    if len(groups) <= count:
        return groups
    picks = np.linspace(0, len(groups) - 1, count).round().astype(int)
    return [groups[i] for i in picks]


def write_contact_sheet(path: Path, store: ImageStore, groups: list[np.ndarray],
                        count: int = SHEET_GROUPS) -> Path | None:
    """One row per sampled group, kept image first, blank cells after the last member."""
    chosen = sample_groups(groups, count)
    if not chosen:
        return None
    width = min(SHEET_WIDTH, max(len(g) for g in chosen))
    rows = []
    for group in chosen:
        images, _ = store.get_many(group[:width])
        row = np.full((width, *images.shape[1:]), 255, np.uint8)
        row[:len(images)] = images
        rows.append(row)
    scale = max(1, 64 // store.resolution)
    return save_grid(np.concatenate(rows), path, nrow=width, scale=scale)
