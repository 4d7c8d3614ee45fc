"""The LMDB ImageStore: round trips, metadata, resume, refusal, workers."""

from __future__ import annotations

import multiprocessing

import lmdb
import numpy as np
import pytest
import torch

from gantk.errors import StoreError
from gantk.store import ImageStore, ImageStoreWriter, is_store, read_metadata
from gantk.training.data import EpochBatchSampler, ImageStoreDataset, make_loader
from tests.conftest import write_store


@pytest.mark.parametrize("encoding,channels", [("raw", 1), ("raw", 3), ("png", 3), ("png", 1)])
def test_round_trip(tmp_path, encoding, channels):
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, size=(10, 16, 16, channels), dtype=np.uint8)
    with ImageStoreWriter(tmp_path / "s", 16, channels, encoding=encoding, batch_size=3) as w:
        for i, img in enumerate(images):
            w.add(img, label=i % 3 if i != 4 else None, source_key=f"src/{i}")
    store = ImageStore(tmp_path / "s")
    assert (store.count, store.resolution, store.channels) == (10, 16, channels)
    got, labels = store.get_many(list(range(10)))
    np.testing.assert_array_equal(got, images)
    assert labels.tolist() == [0, 1, 2, 0, -1, 2, 0, 1, 2, 0]
    assert store.source_key(7) == "src/7"
    meta = read_metadata(tmp_path / "s")
    assert meta["complete"] and meta["encoding"] == encoding and len(meta["fingerprint"]) == 32


def test_metadata_lives_in_its_own_database(small_store):
    with lmdb.open(str(small_store), readonly=True, lock=False, max_dbs=8) as env:
        images = env.open_db(b"images", create=False)
        with env.begin() as txn:
            assert txn.stat(images)["entries"] == 96
            keys = [bytes(k) for k, _ in txn.cursor(db=images)]
    assert keys[0] == b"0000000000" and keys[-1] == b"0000000095"


def test_fingerprint_depends_on_content(tmp_path):
    a = read_metadata(write_store(tmp_path / "a", count=20, seed=1))["fingerprint"]
    b = read_metadata(write_store(tmp_path / "b", count=20, seed=1))["fingerprint"]
    c = read_metadata(write_store(tmp_path / "c", count=20, seed=2))["fingerprint"]
    assert a == b != c


def test_appending_resumes_and_skips_known_sources(tmp_path):
    img = np.zeros((8, 8, 1), np.uint8)
    w = ImageStoreWriter(tmp_path / "s", 8, 1)
    for i in range(5):
        w.add(img + i, source_key=f"k{i}")
    w.abort()  # killed: committed records stay, store not complete
    assert not read_metadata(tmp_path / "s")["complete"]
    with ImageStoreWriter(tmp_path / "s", 8, 1) as w2:
        assert w2.has_source("k3") and not w2.has_source("k9")
        w2.add(img + 9, source_key="k9")
    assert ImageStore(tmp_path / "s").count == 6


def test_different_store_is_refused_without_overwrite(tmp_path):
    write_store(tmp_path / "s", count=4, resolution=16)
    with pytest.raises(StoreError, match="--overwrite"):
        ImageStoreWriter(tmp_path / "s", 32, 1, source="test")
    w = ImageStoreWriter(tmp_path / "s", 32, 1, source="test", overwrite=True)
    w.close()
    assert read_metadata(tmp_path / "s")["count"] == 0


def test_non_store_paths_are_clear_errors(tmp_path):
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "x.txt").write_text("hi")
    with pytest.raises(StoreError, match="not an ImageStore"):
        read_metadata(tmp_path / "plain")
    with pytest.raises(StoreError, match="no such ImageStore"):
        read_metadata(tmp_path / "missing")
    with pytest.raises(StoreError, match="not an ImageStore"):
        ImageStoreWriter(tmp_path / "plain", 8, 1)
    assert not is_store(tmp_path / "plain")


def test_map_size_grows(tmp_path):
    big = np.random.default_rng(0).integers(0, 256, (128, 128, 3), dtype=np.uint8)
    with ImageStoreWriter(tmp_path / "s", 128, 3, batch_size=64) as w:
        for i in range(1500):  # 73 MB of raw pixels > the 64 MiB initial map
            w.add(big, source_key=str(i))
    assert ImageStore(tmp_path / "s").count == 1500


@pytest.mark.parametrize("context", ["fork", pytest.param("spawn", marks=pytest.mark.slow)])
def test_dataloader_workers(small_store, context):
    ds = ImageStoreDataset(small_store)
    sampler = EpochBatchSampler(len(ds), 8, seed=0)
    loader = make_loader(ds, sampler, num_workers=2, pin_memory=False)
    loader.multiprocessing_context = multiprocessing.get_context(context)
    it = iter(loader)
    seen = [next(it) for _ in range(4)]
    images, labels = seen[0]
    assert images.dtype == torch.uint8 and images.shape == (8, 1, 32, 32)
    assert labels.shape == (8,)
    first_batch = next(iter(EpochBatchSampler(len(ds), 8, seed=0)))
    ref, _ = ImageStore(small_store).get_many(first_batch)
    np.testing.assert_array_equal(images.permute(0, 2, 3, 1).numpy(), ref)


def test_sampler_is_a_function_of_step():
    straight = EpochBatchSampler(50, 8, seed=5)
    it = iter(straight)
    first = [next(it) for _ in range(15)]
    resumed = iter(EpochBatchSampler(50, 8, seed=5, start_step=9))
    assert [next(resumed) for _ in range(6)] == first[9:]
    epoch0 = sorted(i for b in first[:6] for i in b)
    assert len(set(epoch0)) == 48  # a permutation, ragged tail dropped
