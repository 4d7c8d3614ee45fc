"""Ingest's guarantees on a messy real folder: bad inputs skipped and reported, hidden and
non-image files ignored, Unicode names, the same store whatever the workers, resume after
a SIGKILL equal to a clean run, a different store refused, and the CLI end to end."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gantk.errors import GantkError
from gantk.ingest.engine import ingest
from gantk.store import ImageStore, ImageStoreWriter, read_metadata
from tests.real_files import bad_inputs, encode, photo, write

GANTK = [sys.executable, "-m", "gantk"]
GOOD = {
    "a.jpg": ("JPEG", {}),
    "B.JPG": ("JPEG", {}),
    "sub/c.png": ("PNG", {}),
    "sub/d.webp": ("WEBP", {}),
    "sub/deeper/e.gif": ("GIF", {}),
    "Unicodé 日本/ф.tiff": ("TIFF", {}),
}
IGNORED = [".hidden.jpg", ".git/x.png", "notes.txt", "Thumbs.db", "__MACOSX/._a.jpg",
           "sub/.~lock.png"]


def messy_folder(root: Path) -> Path:
    for i, (name, (fmt, kw)) in enumerate(GOOD.items()):
        write(root / name, encode(photo((70 + i, 50 + 3 * i), seed=i), fmt, **kw))
    for name, data in bad_inputs().items():
        write(root / "bad" / name, data)
    for name in IGNORED:
        write(root / name, encode(photo(), "PNG"))
    return root


def _keys(path: Path) -> list[str]:
    store = ImageStore(path)
    return [store.source_key(i) for i in range(store.count)]


def test_messy_folder_is_ingested_and_reported(tmp_path):
    src = messy_folder(tmp_path / "src")
    dest = tmp_path / "store"
    summary = ingest("folder", src, dest, workers=1, options={"labels": True})
    assert summary.line().startswith("6 ingested, 5 skipped, 0 duplicates")
    assert _keys(dest) == sorted(GOOD, key=lambda p: p.split("/"))
    report = json.loads((dest / "ingest-report.json").read_text(encoding="utf-8"))
    reasons = {s["key"]: s["reason"] for s in report["skipped"]}
    assert set(reasons) == {f"bad/{n}" for n in bad_inputs()}
    assert "HTML" in reasons["bad/page.jpg"] and "bomb" in reasons["bad/bomb.png"]
    store = ImageStore(dest)
    assert store.meta["classes"] == ["Unicodé 日本", "bad", "sub"]
    assert store.labels().tolist() == [-1, 0, -1, 2, 2, 2]  # root files stay unlabeled
    # A store written inside SRC (with its preview image) is not read back as input.
    inside = ingest("folder", src, src / "store", workers=1, options={"labels": True})
    Image.fromarray(store.get(0)[0]).save(src / "store" / "preview.png")
    again = ingest("folder", src, src / "store", workers=1, options={"labels": True})
    assert inside.ingested == 6 and (again.ingested, again.already_present) == (0, 6)


def test_same_store_whatever_the_workers(tmp_path):
    src = tmp_path / "src"
    for i in range(70):
        write(src / f"{i % 3}" / f"{i:03d}.jpg", encode(photo((64, 48), seed=i), "JPEG"))
    write(src / "1" / "broken.jpg", b"\xff\xd8\xff\xe0 nope")
    one = ingest("folder", src, tmp_path / "one", workers=1)
    two = ingest("folder", src, tmp_path / "two", workers=2)
    assert two.workers == 2 and one.ingested == two.ingested == 70
    assert one.skipped == two.skipped
    assert _keys(tmp_path / "one") == _keys(tmp_path / "two")
    assert (read_metadata(tmp_path / "one")["fingerprint"]
            == read_metadata(tmp_path / "two")["fingerprint"])


def test_limit_then_resume_equals_one_run(tmp_path):
    src = messy_folder(tmp_path / "src")
    ingest("folder", src, tmp_path / "clean", workers=1)
    part = ingest("folder", src, tmp_path / "resumed", limit=4, workers=1)
    assert part.inputs == 4
    rest = ingest("folder", src, tmp_path / "resumed", workers=1)
    assert rest.already_present == part.ingested
    assert (read_metadata(tmp_path / "clean")["fingerprint"]
            == read_metadata(tmp_path / "resumed")["fingerprint"])


def test_a_different_store_is_refused_unless_overwrite(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    for folder, seed in ((one, 0), (two, 1)):
        write(folder / "x.png", encode(photo(seed=seed), "PNG"))
    dest = tmp_path / "store"
    ingest("folder", one, dest, workers=1)
    with pytest.raises(GantkError, match="--overwrite"):
        ingest("folder", two, dest, workers=1)
    with pytest.raises(GantkError, match="--overwrite"):
        ingest("folder", one, dest, resolution=32, workers=1)
    ingest("folder", two, dest, workers=1, overwrite=True)
    assert read_metadata(dest)["src"] == str(two.resolve()) and ImageStore(dest).count == 1
    empty = tmp_path / "empty"  # what a start that failed at once leaves behind
    ImageStoreWriter(empty, 32, 3, source="folder", extra={"src": "/elsewhere"}).abort()
    with pytest.raises(GantkError, match="labels='maybe': input should be a valid boolean"):
        ingest("folder", one, empty, options={"labels": "maybe"})
    assert ingest("folder", one, empty, workers=1).count == 1


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc to find worker processes")
def test_sigkill_mid_ingest_then_resume_equals_a_clean_run(tmp_path):
    src, total = tmp_path / "src", 800  # commits come every 512 images or 2 s
    encoded = [encode(photo((48, 40), seed=i), "PNG", compress_level=0) for i in range(100)]
    for i in range(total):
        write(src / f"{i // 100:02d}" / f"{i:04d}.png", encoded[(7 * i) % 100])
    dest = tmp_path / "killed"
    proc = subprocess.Popen([*GANTK, "ingest", "folder", str(src), str(dest), "--workers", "2",
                             "--resolution", "32"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if read_metadata(dest)["count"] > 0:
                break
        except GantkError:
            pass
        time.sleep(0.01)
    workers = _descendants(proc.pid)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = read_metadata(dest)["count"]
    assert 0 < killed_at < total, "the kill did not land mid-way"
    assert workers, "no worker processes were seen"
    deadline = time.monotonic() + 10
    while {p for p in workers if Path(f"/proc/{p}").exists()} and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not {p for p in workers if Path(f"/proc/{p}").exists()}, "orphaned workers"

    resumed = ingest("folder", src, dest, resolution=32, workers=2)
    assert resumed.already_present == killed_at and resumed.count == total
    clean = ingest("folder", src, tmp_path / "clean", resolution=32, workers=1)
    assert clean.count == total
    assert _keys(dest) == _keys(tmp_path / "clean")
    assert read_metadata(dest)["fingerprint"] == read_metadata(tmp_path / "clean")["fingerprint"]


@pytest.mark.slow
def test_cli_ingest_info_and_train(tmp_path):
    src = tmp_path / "photos"
    for i in range(20):
        write(src / f"{i:02d}.jpg", encode(photo((90, 70), seed=i), "JPEG"))
    write(src / "oops.jpg", b"<html>login page</html>")
    dest = tmp_path / "store"
    proc = subprocess.run([*GANTK, "ingest", "folder", str(src), str(dest), "--workers", "2"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().startswith("20 ingested, 1 skipped, 0 duplicates")
    assert "ingest-report.json" in proc.stderr
    info = json.loads(subprocess.run([*GANTK, "info", str(dest), "--json"], check=True,
                                     capture_output=True, text=True).stdout)
    assert (info["count"], info["resolution"], info["channels"]) == (20, 64, 3)
    assert Image.open(info["preview"]).size[0] > 64
    refused = subprocess.run([*GANTK, "ingest", "folder", str(tmp_path), str(dest)],
                             capture_output=True, text=True)
    assert refused.returncode == 2 and "--overwrite" in refused.stderr
    run = subprocess.run([*GANTK, "run", "dcgan", "--data", str(dest), "--out",
                          str(tmp_path / "run"), "--steps", "2", "--batch-size", "8",
                          "--device", "cpu", "--set", "model.ngf=8", "--set", "model.ndf=8"],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    assert "done: 2 steps" in run.stdout and os.path.isdir(tmp_path / "run")
    assert np.isfinite(json.loads(
        (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()[-1])["loss_d"])
