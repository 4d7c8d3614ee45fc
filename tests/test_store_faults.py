"""Damaged and odd stores and inputs (issue 15): truncated or bit-flipped data.mdb, file
names that differ only in undecodable bytes, an empty SRC, DEST that is a file. Real
LMDB files; the command line in a subprocess where the case is what the user sees."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from gantk.errors import GantkError, StoreError
from gantk.ingest.engine import ingest
from gantk.store import ImageStore, close_readers, read_metadata, verify_store
from tests.conftest import write_store

GANTK = [sys.executable, "-m", "gantk"]


def _cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([*GANTK, *map(str, args)], capture_output=True, text=True,
                          timeout=300)


def _error_line(proc: subprocess.CompletedProcess) -> str:
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    return lines[0]


def test_truncated_data_file_is_refused_before_mapping(tmp_path):
    store = write_store(tmp_path / "store", count=200)
    data = store / "data.mdb"
    with open(data, "r+b") as fh:
        fh.truncate(data.stat().st_size // 2)
    with pytest.raises(StoreError, match="data.mdb is truncated"):
        read_metadata(store)
    with pytest.raises(StoreError, match="truncated"):
        ImageStore(store)
    proc = _cli("info", store)  # was SIGBUS: exit 135 and no message
    assert proc.returncode == 2 and "is truncated" in _error_line(proc)
    with open(data, "r+b") as fh:
        fh.truncate(100)
    with pytest.raises(StoreError, match="not an LMDB file"):
        read_metadata(store)


def _flip_in_image(store, index: int) -> None:
    """Flip one bit inside image `index`'s pixels in data.mdb (found by its bytes)."""
    pixels = ImageStore(store).get(index)[0].tobytes()
    close_readers()
    raw = bytearray((store / "data.mdb").read_bytes())
    where = raw.find(pixels)
    assert where >= 0 and raw.find(pixels, where + 1) < 0
    raw[where + len(pixels) // 2] ^= 0x01
    (store / "data.mdb").write_bytes(bytes(raw))


def test_flipped_store_bytes_fail_verify(tmp_path):
    store = write_store(tmp_path / "store", count=40, channels=3)
    assert verify_store(store) == {"count": 40, "labeled": 40,
                                   "fingerprint": read_metadata(store)["fingerprint"]}
    close_readers()
    ok = _cli("info", store, "--verify")
    assert ok.returncode == 0 and "all 40 images match the fingerprint" in ok.stdout
    _flip_in_image(store, 17)
    with pytest.raises(StoreError, match="do not match the fingerprint"):
        verify_store(store)
    close_readers()
    proc = _cli("info", store, "--verify")
    assert proc.returncode == 2 and "is damaged" in _error_line(proc)


def test_undecodable_names_keep_unique_keys(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    rng = np.random.default_rng(1)
    names = [b"a\xff.png", b"a\\xff.png", b"a\xfe.png", b"b.png"]
    for name in names:
        Image.fromarray(rng.integers(0, 255, (8, 8, 3), np.uint8)).save(
            os.path.join(os.fsencode(src), name))
    summary = ingest("folder", src, tmp_path / "dest", resolution=8, workers=1)
    assert summary.ingested == 4 and not summary.skipped
    reader = ImageStore(tmp_path / "dest")
    keys = {reader.source_key(i) for i in range(4)}
    assert keys == {"a\\xff.png", "a\\\\xff.png", "a\\xfe.png", "b.png"}


def test_empty_src_is_an_error(tmp_path):
    (tmp_path / "src").mkdir()
    with pytest.raises(GantkError, match="holds no inputs that the 'folder' source reads"):
        ingest("folder", tmp_path / "src", tmp_path / "dest", resolution=8)
    proc = _cli("ingest", "folder", tmp_path / "src", tmp_path / "dest2")
    assert proc.returncode == 2 and "0 images ingested" in _error_line(proc)


def test_dest_that_is_a_file_and_folder_that_is_not_a_store(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    Image.new("RGB", (8, 8)).save(src / "a.png")
    target = tmp_path / "dest"
    target.write_text("not a folder")
    proc = _cli("ingest", "folder", src, target)
    assert proc.returncode == 2 and "is a file, not a directory" in _error_line(proc)
    assert target.read_text() == "not a folder"
    folder = tmp_path / "folder"
    folder.mkdir()
    with pytest.raises(StoreError, match=f"gantk ingest SOURCE SRC {folder}`"):
        read_metadata(folder)



def test_store_killed_while_created_is_started_afresh(tmp_path):
    """A writer killed between creating data.mdb and its first commit leaves an LMDB with
    some of our named databases and no metadata: the next ingest starts it afresh."""
    import lmdb

    src = tmp_path / "src"
    src.mkdir()
    Image.new("RGB", (8, 8), "red").save(src / "a.png")
    dest = tmp_path / "dest"
    with lmdb.open(str(dest), max_dbs=8) as env:
        env.open_db(b"images")
    with pytest.raises(StoreError, match="creation was interrupted"):
        read_metadata(dest)
    assert ingest("folder", src, dest, resolution=8).count == 1
    assert verify_store(dest)["count"] == 1
    foreign = tmp_path / "foreign"  # someone's own LMDB (LSUN's, say) is never replaced
    with lmdb.open(str(foreign)) as env, env.begin(write=True) as txn:
        txn.put(b"0001", b"their data")
    with pytest.raises(StoreError, match="is an LMDB but not an ImageStore"):
        ingest("folder", src, foreign, resolution=8)
    with lmdb.open(str(foreign), readonly=True) as env, env.begin() as txn:
        assert txn.get(b"0001") == b"their data"
