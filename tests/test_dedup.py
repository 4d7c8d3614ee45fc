"""De-duplication with the autoencoder hash: model round trip, exact copies always found,
distinct photographs kept, determinism, the report, the command line."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import skimage.data as skimage_data
from PIL import Image

from gantk.datasets.dedup import compute_codes, dedup_store, deduplicate, train_hash_model
from gantk.datasets.dedup.buckets import candidate_groups, hamming, near_pairs
from gantk.errors import GantkError
from gantk.store import ImageStore, ImageStoreWriter, read_metadata
from tests.conftest import write_store

COPIES = {3: 40, 10: 41, 25: 42}  # original index -> index of its exact copy
JPEG_OF = (7, 43)
FAST = {"max_steps": 40, "device": "cpu"}


def photo_tiles(count: int = 40) -> list[np.ndarray]:
    """Distinct 32x32 tiles of real photographs (textured ones: luminance std >= 25)."""
    tiles = []
    for name in ("astronaut", "coffee", "chelsea", "rocket", "camera"):
        photo = getattr(skimage_data, name)()
        photo = np.repeat(photo[..., None], 3, 2) if photo.ndim == 2 else photo[..., :3]
        for y in range(8, photo.shape[0] - 72, 72):
            for x in range(8, photo.shape[1] - 72, 72):
                tile = np.asarray(Image.fromarray(photo[y:y + 64, x:x + 64]).resize((32, 32)))
                if (tile @ [0.299, 0.587, 0.114]).std() >= 25:
                    tiles.append(tile)
    return tiles[:count]


@pytest.fixture(scope="module")
def torch_one_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)  # a tiny model: threads only contend on a busy machine
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def photo_store(tmp_path_factory):
    """40 distinct tiles, then exact copies of three and a JPEG re-encode of one."""
    tiles = photo_tiles()
    buf = io.BytesIO()
    Image.fromarray(tiles[JPEG_OF[0]]).save(buf, format="JPEG", quality=60)
    extra = [tiles[i] for i in COPIES] + [np.asarray(Image.open(buf))]
    path = tmp_path_factory.mktemp("dedup") / "photos"
    with ImageStoreWriter(path, 32, 3, source="test", batch_size=16) as writer:
        for i, tile in enumerate(tiles + extra):
            writer.add(tile, i % 5, f"tile/{i:02d}")
    return path


@pytest.fixture(scope="module")
def hash_model(photo_store, torch_one_thread, tmp_path_factory):
    return train_hash_model(photo_store, tmp_path_factory.mktemp("model"), **FAST)


def test_hash_model_round_trip(hash_model, photo_store, tmp_path):
    from safetensors.torch import load_file

    from gantk.datasets.dedup.autoencoder import load_hash_model, save_hash_model
    from gantk.datasets.dedup.crops import center_crops, normalize

    net, config = load_hash_model(hash_model)
    assert (config["inputs"], config["code_bits"], len(config["bit_rates"])) == (3072, 128, 128)
    assert net.encoder.weight.shape == (128, 3072) and net.decoder.weight.shape == (3072, 128)
    saved = load_file(str(hash_model / "hash_model.safetensors"))
    again, _ = load_hash_model(save_hash_model(net, tmp_path / "copy", config))
    for name, value in again.state_dict().items():
        assert np.array_equal(value.numpy(), saved[name].numpy()), name
    codes = np.load(compute_codes(photo_store, hash_model, tmp_path / "c.npy", device="cpu"))
    images, _ = ImageStore(photo_store).get_many(list(range(5)))
    import torch

    x = normalize(center_crops(images), config["normalization"])
    assert np.array_equal(again.bits(x, torch.device("cpu")), codes[:5])


def test_exact_duplicates_always_found(hash_model, photo_store, tmp_path):
    codes = np.load(compute_codes(photo_store, hash_model, tmp_path / "c.npy",
                                  batch_size=7, device="cpu"))  # copies in other batches
    for original, copy in COPIES.items():
        assert np.array_equal(codes[original], codes[copy])
    summary = deduplicate(photo_store, tmp_path / "c.npy", tmp_path / "out", radius=0,
                          verify="none")
    groups = json.loads(summary.report.read_text())["group_indices"]
    for original, copy in COPIES.items():
        assert any(g[0] == original and copy in g for g in groups), groups


def test_distinct_photographs_kept(hash_model, photo_store, tmp_path):
    compute_codes(photo_store, hash_model, tmp_path / "c.npy", device="cpu")
    summary = deduplicate(photo_store, tmp_path / "c.npy", tmp_path / "out")
    report = json.loads(summary.report.read_text())
    removed = {i for g in report["group_indices"] for i in g[1:]}
    assert set(COPIES.values()) <= removed
    assert removed <= {*COPIES.values(), JPEG_OF[1]}, "a distinct photograph was removed"


def test_report_dest_and_contact_sheet(hash_model, photo_store, tmp_path):
    compute_codes(photo_store, hash_model, tmp_path / "c.npy", device="cpu")
    summary = deduplicate(photo_store, tmp_path / "c.npy", tmp_path / "out",
                          report=tmp_path / "r.json")
    report = json.loads((tmp_path / "r.json").read_text())
    assert (report["total"], report["kept"], report["removed"]) == (44, summary.kept,
                                                                    summary.removed)
    assert report["kept"] + report["removed"] == 44 and report["group_count"] == summary.groups
    for keys, indices in zip(report["groups"], report["group_indices"]):
        assert keys == [f"tile/{i:02d}" for i in indices] and indices == sorted(indices)
    assert report["settings"]["radius"] == summary.radius == 1
    dest = ImageStore(tmp_path / "out")
    assert dest.count == summary.kept
    kept = [i for i in range(44) if i not in {j for g in report["group_indices"] for j in g[1:]}]
    src = ImageStore(photo_store)
    got, labels = dest.get_many(list(range(dest.count)))
    want, want_labels = src.get_many(kept)
    assert np.array_equal(got, want) and labels.tolist() == want_labels.tolist()
    assert [dest.source_key(i) for i in range(dest.count)] == [f"tile/{i:02d}" for i in kept]
    meta = read_metadata(tmp_path / "out")
    assert meta["dedup"]["removed"] == summary.removed and meta["complete"]
    assert Image.open(summary.contact_sheet).format == "PNG"
    flat = summary.metadata()
    assert all(isinstance(v, (int, float, str)) for v in flat.values())
    assert flat["kept"] == summary.kept and flat["dest"] == str(tmp_path / "out")


def test_same_seed_same_result(photo_store, torch_one_thread, tmp_path):
    runs = [dedup_store(photo_store, tmp_path / f"out{i}", work_dir=tmp_path / f"w{i}",
                        seed=5, **FAST) for i in range(2)]
    assert np.array_equal(np.load(tmp_path / "w0/codes.npy"), np.load(tmp_path / "w1/codes.npy"))
    groups = [json.loads(r.report.read_text())["groups"] for r in runs]
    assert groups[0] == groups[1]
    fingerprints = [read_metadata(tmp_path / f"out{i}")["fingerprint"] for i in range(2)]
    assert fingerprints[0] == fingerprints[1]


def test_codes_of_another_store_refused(hash_model, photo_store, tmp_path):
    other = write_store(tmp_path / "other", count=12, channels=1)
    compute_codes(other, hash_model, tmp_path / "c.npy", device="cpu")
    with pytest.raises(GantkError, match="codes of another store"):
        deduplicate(photo_store, tmp_path / "c.npy", tmp_path / "out")


def test_near_pairs_match_brute_force():
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 256, size=(300, 16), dtype=np.uint8)
    for i, flips in zip(range(0, 60, 2), [1, 2, 3] * 10):  # plant neighbours at 1-3 bits
        bits = np.unpackbits(codes[i])
        bits[rng.choice(128, flips, replace=False)] ^= 1
        codes[i + 1] = np.packbits(bits)
    dist = np.array([hamming(codes, np.repeat(c[None], len(codes), 0)) for c in codes])
    for radius in (1, 2):
        want = {(a, b) for a, b in zip(*np.nonzero(np.triu(dist <= radius, 1)))}
        assert set(zip(*near_pairs(codes, radius))) == want
    codes[200] = codes[100]
    assert any({100, 200} <= set(g.tolist()) for g in candidate_groups(codes, 0))
    from gantk.datasets.dedup.buckets import _chunk_keys

    for whole, chunked in zip(_chunk_keys(codes, 3), _chunk_keys(codes, 3, rows=7)):
        assert np.array_equal(whole, chunked)  # unpacking in slices changes nothing


@pytest.mark.slow
def test_cli_dedup(photo_store, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "gantk", "dedup", str(photo_store), str(tmp_path / "out"),
           "--report", str(tmp_path / "r.json"), "--max-steps", "30",
           "--device", "cpu"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "kept" in proc.stdout and "removed" in proc.stdout
    report = json.loads((tmp_path / "r.json").read_text())
    assert ImageStore(tmp_path / "out").count == report["kept"] >= 40
    assert (tmp_path / "out" / "hash-model" / "hash_model.safetensors").is_file()
    again = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert again.returncode == 2 and "--overwrite" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_ingest_with_dedup(tmp_path):
    """`gantk ingest folder SRC DEST --dedup`: raw store in DEST-raw, exact copies gone."""
    src = tmp_path / "photos"
    src.mkdir()
    tiles = photo_tiles(20)
    for i, tile in enumerate(tiles):
        Image.fromarray(tile).save(src / f"{i:02d}.png")
    for i in (2, 11):  # byte-identical copies under other names
        (src / f"copy-{i:02d}.png").write_bytes((src / f"{i:02d}.png").read_bytes())
    dest = tmp_path / "store"
    cmd = [sys.executable, "-m", "gantk", "ingest", "folder", str(src), str(dest),
           "--resolution", "32", "--workers", "1", "--dedup", "--dedup-set", "max_steps=30",
           "--dedup-set", "device=cpu"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr
    assert "22 ingested" in proc.stdout and "2 duplicates" in proc.stdout
    assert ImageStore(tmp_path / "store-raw").count == 22
    assert ImageStore(dest).count == 20


def test_probe_codes_link_images():
    rng = np.random.default_rng(1)
    codes = rng.integers(0, 256, size=(20, 16), dtype=np.uint8)
    probes = rng.integers(0, 256, size=(20, 3, 16), dtype=np.uint8)
    probes[5, 2] = codes[9]  # a warp of image 5 hashes like image 9
    assert candidate_groups(codes, 0) == []
    assert [g.tolist() for g in candidate_groups(codes, 0, probes)] == [[5, 9]]
    probes[12, 0] = probes[17, 1]  # two warps meet: their images are linked too
    assert [g.tolist() for g in candidate_groups(codes, 0, probes)] == [[5, 9], [12, 17]]


def test_probe_codes_deterministic_and_recorded(hash_model, photo_store, tmp_path):
    compute_codes(photo_store, hash_model, tmp_path / "c.npy", batch_size=7, device="cpu")
    probes = np.load(tmp_path / "c.variants.npy")
    assert probes.shape == (44, 6, 16)
    for original, copy in COPIES.items():
        assert np.array_equal(probes[original], probes[copy])
    summary = deduplicate(photo_store, tmp_path / "c.npy", tmp_path / "out")
    assert json.loads(summary.report.read_text())["settings"]["variants"] == 6
    compute_codes(photo_store, hash_model, tmp_path / "n.npy", device="cpu", variants=0)
    assert np.load(tmp_path / "n.variants.npy").shape == (44, 0, 16)
    with pytest.raises(GantkError, match="variants must be 0 to 10"):
        compute_codes(photo_store, hash_model, tmp_path / "x.npy", device="cpu", variants=11)


def test_verification_aligns_shifted_copies():
    """A copy cut 3 source pixels (5%) off passes only when alignment is searched; a
    distinct tile never passes."""
    from gantk.datasets.dedup.verify import split_group, thumbnails

    photo = skimage_data.astronaut()
    cut = [photo[y:y + 64, x:x + 64] for y, x in ((200, 150), (203, 153), (300, 300))]
    crops = np.stack([np.asarray(Image.fromarray(c).resize((32, 32), Image.Resampling.BOX))
                      for c in cut])
    thumbs, aligned = thumbnails(crops), thumbnails(crops, aligned=True)
    assert float(thumbs[0] @ thumbs[1]) < 0.93  # unaligned, the copy looks different
    assert [m.tolist() for m in split_group(thumbs, 0.93, aligned)] == [[0, 1], [2]]


def test_every_face_reads_the_one_home_of_the_defaults():
    """The library, the command line (which must not import numpy) and the Dagster assets'
    run config all take every de-dup setting's default from gantk.datasets.dedup.settings."""
    import inspect

    from gantk.datasets.dedup import dedup_cli
    from gantk.datasets.dedup import settings as S
    from gantk.datasets.dedup.codes import compute_codes as codes_fn
    from gantk.datasets.dedup.dedup import deduplicate as dedup_fn
    from gantk.datasets.dedup.train import train_hash_model as train_fn
    from gantk.pipelines.dedup import CodesConfig, DedupConfig, HashModelConfig

    cli = {k: p.default for k, p in inspect.signature(dedup_cli.dedup).parameters.items()}
    lib = {k: p.default for fn in (train_fn, codes_fn, dedup_fn)
           for k, p in inspect.signature(fn).parameters.items()}
    dagster = {k: (v.value if hasattr(v, "value") else v)
               for c in (HashModelConfig, CodesConfig, DedupConfig)
               for k, v in c().model_dump().items()}
    for name, setting in S.ALL.items():
        assert cli[name].default == setting.default and cli[name].help == setting.help, name
        assert lib[name] == setting.default, name
        assert dagster[name] == setting.default, name


@pytest.mark.slow
def test_codes_same_in_worker_processes(hash_model, photo_store, tmp_path):
    one = compute_codes(photo_store, hash_model, tmp_path / "one.npy", device="cpu",
                        workers=1)
    two = compute_codes(photo_store, hash_model, tmp_path / "two.npy", device="cpu",
                        workers=2, batch_size=5)  # 9 batches over 2 processes
    assert np.array_equal(np.load(one), np.load(two))
    assert np.array_equal(np.load(tmp_path / "one.variants.npy"),
                          np.load(tmp_path / "two.variants.npy"))
    assert json.loads((tmp_path / "two.json").read_text())["workers"] == 2


def test_training_length_bounds(photo_store, torch_one_thread, tmp_path):
    """`max_steps` caps training (and the floor with it); the probe set's stability is
    measured and recorded; `converge=False` runs every step."""
    model = train_hash_model(photo_store, tmp_path / "m", max_steps=30, device="cpu")
    config = json.loads((model / "hash_model.json").read_text())
    assert (config["steps"], config["budget"], config["converge"]) == (30, 30, True)
    step, agreement = config["code_stability"][-1]
    assert step == 30 and 0.5 < agreement <= 1
