"""Face detection through the `faces` source on real photos shipped with scikit-image:
the astronaut portrait, and lfw_subset's 100 faces and 100 non-faces."""

from __future__ import annotations

import numpy as np
from PIL import Image

from gantk.datasets.lib.face_detect import crop_box
from gantk.ingest.engine import ingest
from gantk.store import ImageStore
from tests.real_files import encode, write


def _keys(path) -> list[str]:
    store = ImageStore(path)
    return [store.source_key(i) for i in range(store.count)]


def test_astronaut_has_one_face_cropped_with_margin(tmp_path):
    from skimage.data import astronaut

    write(tmp_path / "photos" / "astronaut.png", encode(Image.fromarray(astronaut()), "PNG"))
    write(tmp_path / "photos" / "rocket.jpg",
          encode(Image.fromarray(__import__("skimage.data").data.rocket()), "JPEG"))
    summary = ingest("faces", tmp_path / "photos", tmp_path / "store", workers=1)
    assert _keys(tmp_path / "store") == ["astronaut.png#face0"] and not summary.skipped
    # The face (about x 177-272, y 66-161 in the photo) fills the middle of the crop.
    face, _ = ImageStore(tmp_path / "store").get(0)
    expected = np.asarray(Image.fromarray(astronaut()).crop((177 - 24, 66 - 24, 272 + 24,
                                                             161 + 24)).resize((64, 64)))
    assert np.abs(face.astype(int) - expected).mean() < 12
    again = ingest("faces", tmp_path / "photos", tmp_path / "store", workers=1)
    assert (again.ingested, again.already_present) == (0, 1)  # the face; rocket has none
    big = ingest("faces", tmp_path / "photos", tmp_path / "big", workers=1,
                 options={"min_size": 200})
    assert big.ingested == 0


def test_crop_box_stays_square_inside_the_photo():
    assert crop_box((10, 20, 40, 40), (200, 100), 0.25) == (0, 10, 60, 70)
    assert crop_box((150, 60, 60, 40), (200, 100), 0.5) == (100, 0, 200, 100)


def test_lfw_precision_and_recall(tmp_path):
    from skimage.data import lfw_subset

    # 25x25 crops, enlarged 2x with a 20-pixel border so the detector sees a whole head.
    for i, img in enumerate(lfw_subset()):
        arr = np.asarray(Image.fromarray((img * 255).astype(np.uint8)).resize((50, 50),
                                                                             Image.BICUBIC))
        arr = np.pad(arr, 20, mode="edge")
        folder = "faces" if i < 100 else "other"
        write(tmp_path / "lfw" / folder / f"{i:03d}.png", encode(Image.fromarray(arr), "PNG"))
    summary = ingest("faces", tmp_path / "lfw", tmp_path / "store", workers=2,
                     options={"min_size": 32})
    keys = _keys(tmp_path / "store")
    hits = {k.split("#")[0] for k in keys}
    true_positives = sum(k.startswith("faces/") for k in keys)
    recall = sum(h.startswith("faces/") for h in hits) / 100
    precision = true_positives / max(1, len(keys))
    # Measured: 95 of 100 faces found, no detection in the 100 non-faces.
    assert recall >= 0.9 and precision >= 0.95, (recall, precision)
    assert summary.ingested == len(keys) and not summary.skipped
