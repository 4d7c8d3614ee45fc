"""What a de-duplication did, in a form both the CLI and Dagster can show."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class DedupSummary:
    total: int
    kept: int
    removed: int
    groups: int
    dest: Path
    report: Path
    contact_sheet: Path | None
    radius: int = 0
    verify: str = "none"
    threshold: float = 0.0
    thumb: int = 0
    variants: int = 0
    largest_group: int = 0
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def removed_fraction(self) -> float:
        return self.removed / self.total if self.total else 0.0

    def metadata(self) -> dict[str, float | int | str]:
        """Flat values for a Dagster MaterializeResult (paths as strings)."""
        flat: dict[str, float | int | str] = {
            "total": self.total, "kept": self.kept, "removed": self.removed,
            "groups": self.groups, "removed_fraction": round(self.removed_fraction, 6),
            "largest_group": self.largest_group, "radius": self.radius,
            "verify": self.verify, "threshold": self.threshold, "thumb": self.thumb,
            "variants": self.variants, "seconds": round(self.seconds, 3), "dest": str(self.dest),
            "report": str(self.report),
            "contact_sheet": str(self.contact_sheet) if self.contact_sheet else "",
        }
        flat.update({k: v for k, v in self.extra.items() if isinstance(v, (int, float, str))})
        return flat

    def line(self) -> str:
        return (f"kept {self.kept} of {self.total} images, removed {self.removed} near-"
                f"duplicates in {self.groups} groups ({100 * self.removed_fraction:.2f}%) -> "
                f"{self.dest}; report {self.report}")
