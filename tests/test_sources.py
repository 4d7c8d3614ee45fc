"""Every dataset source on small files written here in its real distribution format,
bad inputs mixed in: LSUN's LMDB of WebP, ImageNet's tree and tar of tars, CIFAR-10's
pickles, SVHN's .mat, CelebA's folder and lists, MNIST's idx."""

from __future__ import annotations

import gzip
import io
import json
import pickle
import struct
import tarfile

import lmdb
import numpy as np
import pytest

from gantk.errors import GantkError
from gantk.ingest.decode import prepare
from gantk.ingest.engine import ingest
from gantk.store import ImageStore
from tests.real_files import bad_inputs, encode, photo, write


def _keys(store: ImageStore) -> list[str]:
    return [store.source_key(i) for i in range(store.count)]


def _report(dest) -> dict:
    return json.loads((dest / "ingest-report.json").read_text())


def test_lsun_lmdb_of_webp(tmp_path):
    src = tmp_path / "bedroom_train_lmdb"
    images = {f"{i:040x}": encode(photo((120, 90), seed=i), "WEBP") for i in range(1, 7)}
    images[f"{3:040x}"] = encode(photo((90, 120), seed=3), "JPEG")  # LSUN has both
    images[f"{99:040x}"] = bad_inputs()["truncated.jpg"]
    with lmdb.open(str(src), map_size=1 << 24) as env, env.begin(write=True) as txn:
        for key, value in images.items():
            txn.put(key.encode(), value)
    dest = tmp_path / "store"
    summary = ingest("lsun", tmp_path, dest, workers=1)  # finds the one *_lmdb inside
    assert (summary.ingested, len(summary.skipped)) == (6, 1)
    assert _report(dest)["skipped"][0]["key"] == f"{99:040x}"
    store = ImageStore(dest)
    assert (store.resolution, store.channels) == (64, 3)
    assert _keys(store) == sorted(images)[:-1]
    first, _ = store.get(0)
    np.testing.assert_array_equal(first, prepare(images[f"{1:040x}"], 64, 3))


def _class_tar(names_to_bytes: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in names_to_bytes.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_imagenet_tar_of_tars_and_tree_agree(tmp_path):
    wnids = ["n01443537", "n01440764"]  # archive order is not label order
    files = {w: {f"{w}_{i}.JPEG": encode(photo((80, 60), seed=10 * c + i), "JPEG")
                 for i in range(3)} for c, w in enumerate(wnids)}
    outer = {f"{w}.tar": _class_tar({**files[w], f"._{w}_0.JPEG": b"\x00\x05",
                                     "README.txt": b"not an image"}) for w in wnids}
    outer["n09999999.tar"] = b"this class archive was damaged in transit" * 20
    archive = write(tmp_path / "ILSVRC2012_img_train.tar", _class_tar(outer))
    for w in wnids:
        for name, data in files[w].items():
            write(tmp_path / "ILSVRC2012" / "train" / w / name, data)

    from_tar = ingest("imagenet", archive, tmp_path / "a", workers=1)
    from_tree = ingest("imagenet", tmp_path / "ILSVRC2012", tmp_path / "b", workers=1)
    assert (from_tar.ingested, from_tree.ingested) == (6, 6)
    assert from_tar.skipped == [{"key": "n09999999.tar", "reason": from_tar.skipped[0]["reason"]}]
    assert "broken class archive" in from_tar.skipped[0]["reason"]
    a, b = ImageStore(tmp_path / "a"), ImageStore(tmp_path / "b")
    assert a.resolution == 32 and a.meta["classes"] == sorted(wnids + ["n09999999"])
    assert _keys(a)[0] == "n01443537.tar/n01443537_0.JPEG"
    assert _keys(b)[0] == "n01440764/n01440764_0.JPEG"
    # Same images, same labels (n01440764 -> 0), whichever layout they came from.
    by_name_a = {k.split("/")[-1]: i for i, k in enumerate(_keys(a))}
    for i, key in enumerate(_keys(b)):
        img_b, label_b = b.get(i)
        img_a, label_a = a.get(by_name_a[key.split("/")[-1]])
        np.testing.assert_array_equal(img_a, img_b)
        assert label_a == label_b == wnids[::-1].index(key.split("/")[0])


class _Evil:
    def __reduce__(self):
        return (__import__("os").system, ("touch pwned",))


def _cifar_batch(images: np.ndarray, labels: list[int]) -> bytes:
    rows = images.transpose(0, 3, 1, 2).reshape(len(images), 3072)
    return pickle.dumps({"batch_label": "training batch", "labels": labels, "data": rows,
                         "filenames": [f"img_{i}.png" for i in range(len(labels))]},
                        protocol=2)


def test_cifar10_pickles_folder_and_tar_gz(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    folder = tmp_path / "cifar-10-batches-py"
    expected = []
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        images = np.stack([np.asarray(photo((32, 32), seed=int(s)))
                           for s in rng.integers(0, 999, 3)])
        labels = [int(v) for v in rng.integers(0, 10, 3)]
        write(folder / name, _cifar_batch(images, labels))
        expected.append((images, labels))
    names = [f"c{i}" for i in range(10)]
    write(folder / "batches.meta", pickle.dumps({"label_names": names}, protocol=2))
    with tarfile.open(tmp_path / "cifar-10-python.tar.gz", "w:gz") as tar:
        tar.add(folder, arcname="cifar-10-batches-py")

    summary = ingest("cifar10", tmp_path, tmp_path / "train", workers=1)
    assert summary.ingested == 15
    store = ImageStore(tmp_path / "train")
    assert store.meta["classes"] == names and _keys(store)[3] == "data_batch_2/00000"
    images, labels = store.get_many(list(range(15)))
    np.testing.assert_array_equal(images, np.concatenate([e[0] for e in expected[:5]]))
    assert labels.tolist() == sum((e[1] for e in expected[:5]), [])
    ingest("cifar10", tmp_path / "cifar-10-python.tar.gz", tmp_path / "all", workers=1,
           options={"split": "all"})
    both = ImageStore(tmp_path / "all")
    assert both.count == 18
    np.testing.assert_array_equal(both.get(15)[0], expected[5][0][0])

    write(folder / "data_batch_1", pickle.dumps({"data": _Evil()}, protocol=2))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(GantkError, match="refusing to load"):
        ingest("cifar10", folder, tmp_path / "evil", workers=1)
    assert not (tmp_path / "pwned").exists()


def test_svhn_mat_label_ten_means_zero(tmp_path):
    from scipy.io import savemat

    images = np.stack([np.asarray(photo((32, 32), seed=s)) for s in range(5)], axis=-1)
    savemat(tmp_path / "train_32x32.mat", {"X": images, "y": np.array([[10], [1], [9], [10],
                                                                        [3]], np.uint8)})
    summary = ingest("svhn", tmp_path, tmp_path / "store", workers=1)
    assert summary.ingested == 5
    store = ImageStore(tmp_path / "store")
    got, labels = store.get_many(list(range(5)))
    assert labels.tolist() == [0, 1, 9, 0, 3] and _keys(store)[4] == "train/000004"
    np.testing.assert_array_equal(got, images.transpose(3, 0, 1, 2))
    write(tmp_path / "bad" / "test_32x32.mat", b"<html>not a mat file</html>")
    with pytest.raises(GantkError, match="not an SVHN .mat"):
        ingest("svhn", tmp_path / "bad", tmp_path / "bad_store", options={"split": "test"})


def test_celeba_layout_without_detection(tmp_path):
    root = tmp_path / "celeba"
    names = [f"{i:06d}.jpg" for i in range(1, 7)]
    for i, name in enumerate(names[:-1]):  # the last listed image is missing
        write(root / "img_align_celeba" / name, encode(photo((178, 218), seed=i), "JPEG"))
    write(root / "img_align_celeba" / ".DS_Store", b"\x00\x01")
    write(root / "Eval" / "list_eval_partition.txt",
          "".join(f"{n} {p}\n" for n, p in zip(names, [0, 0, 1, 2, 2, 2])).encode())
    attrs = "5_o_Clock_Shadow Smiling Young"
    rows = "".join(f"{n}  -1  {'1' if i % 2 else '-1'}  1\n" for i, n in enumerate(names))
    write(root / "Anno" / "list_attr_celeba.txt", f"6\n{attrs}\n{rows}".encode())

    summary = ingest("faces", root, tmp_path / "test", workers=1,
                     options={"split": "test", "label": "Smiling"})
    assert summary.ingested == 2
    assert summary.skipped[0]["key"] == "img_align_celeba/000006.jpg"
    store = ImageStore(tmp_path / "test")
    assert _keys(store) == ["img_align_celeba/000004.jpg", "img_align_celeba/000005.jpg"]
    assert store.labels().tolist() == [1, 0] and store.meta["classes"][1] == "Smiling"
    everything = ingest("faces", root, tmp_path / "all", workers=1)
    assert everything.ingested == 5 and not everything.skipped
    with pytest.raises(GantkError, match="Smiling"):
        ingest("faces", root, tmp_path / "x", options={"label": "Grinning"})


def _idx(array: np.ndarray, code: int) -> bytes:
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return gzip.compress(header + array.tobytes())


def test_mnist_idx_files(tmp_path):
    images = np.stack([np.asarray(photo((28, 28), seed=s).convert("L")) for s in range(4)])
    write(tmp_path / "train-images-idx3-ubyte.gz", _idx(images, 0x08))
    write(tmp_path / "train-labels-idx1-ubyte.gz", _idx(np.array([7, 2, 1, 0], np.uint8), 8))
    ingest("mnist", tmp_path, tmp_path / "store", workers=1)
    store = ImageStore(tmp_path / "store")
    got, labels = store.get_many([0, 1, 2, 3])
    assert labels.tolist() == [7, 2, 1, 0] and store.resolution == 32
    np.testing.assert_array_equal(got[:, 2:30, 2:30, 0], images)  # padded, not stretched
    write(tmp_path / "train-labels-idx1-ubyte.gz", _idx(np.array([7, 2], np.uint8), 8))
    with pytest.raises(GantkError, match="4 train images but 2 labels"):
        ingest("mnist", tmp_path, tmp_path / "store2")
