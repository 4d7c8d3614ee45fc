"""Decoding users' images: every mode converted correctly, every bad input refused with a
reason (and a decompression bomb refused before its pixels are allocated)."""

from __future__ import annotations

import resource

import numpy as np
import pytest
from PIL import Image

from gantk.ingest.decode import BadImage, prepare
from tests.real_files import bad_inputs, encode, photo, png_bomb


def _rgb(data, resolution=16, channels=3):
    return prepare(data, resolution, channels).astype(int)


def test_exif_orientation_is_applied():
    img = Image.new("RGB", (40, 20), (255, 0, 0))
    img.paste((0, 0, 255), (20, 0, 40, 20))  # stored: red left half, blue right half
    exif = img.getexif()
    exif[0x0112] = 6  # displayed rotated 90 degrees clockwise: red on top
    out = _rgb(encode(img, "JPEG", quality=95, exif=exif.tobytes()), resolution=20)
    assert out.shape == (20, 20, 3)
    top, bottom = out[:8].mean((0, 1)), out[12:].mean((0, 1))
    assert top[0] > 200 and top[2] < 50, top
    assert bottom[2] > 200 and bottom[0] < 50, bottom


def test_sixteen_bit_grayscale_scales_from_the_full_range():
    # A dark 16-bit image must stay dark (its values are not 8-bit ones).
    arr = np.full((8, 8), 200, np.uint16)
    arr[:, 4:] = 257 * 100
    img = Image.fromarray(arr)
    assert img.mode.startswith("I;16")
    out = prepare(encode(img, "PNG"), 8, 1)[..., 0]
    assert (out[:, :4] == 1).all() and (out[:, 4:] == 100).all()
    dark = Image.fromarray(np.full((8, 8), 200, np.uint16))
    assert (prepare(encode(dark, "PNG"), 8, 1) == 1).all()


def test_palette_and_alpha_are_composited_over_white():
    rgba = Image.new("RGBA", (8, 8), (0, 0, 0, 0))
    rgba.paste((255, 0, 0, 255), (0, 0, 4, 8))
    out = _rgb(encode(rgba, "PNG"), resolution=8)
    assert (out[:, :4] == (255, 0, 0)).all() and (out[:, 4:] == 255).all()
    pal = Image.new("P", (8, 8), 1)
    pal.putpalette([0, 0, 0, 0, 255, 0] + [0] * 762)
    pal.paste(0, (0, 0, 4, 8))
    out = _rgb(encode(pal, "PNG", transparency=0), resolution=8)
    assert (out[:, :4] == 255).all() and (out[:, 4:] == (0, 255, 0)).all()
    la = Image.new("LA", (8, 8), (0, 0))
    assert (_rgb(encode(la, "PNG"), resolution=8) == 255).all()


def test_cmyk_grayscale_and_animated_first_frame():
    cyan = Image.new("CMYK", (8, 8), (255, 0, 0, 0))
    r, g, b = _rgb(encode(cyan, "JPEG", quality=95), resolution=8).mean((0, 1))
    assert r < 30 and g > 225 and b > 225
    gray = photo().convert("L")
    out = prepare(encode(gray, "PNG"), 16, 3)
    assert (out[..., 0] == out[..., 1]).all() and (out[..., 1] == out[..., 2]).all()
    frames = [Image.new("RGB", (8, 8), c) for c in ((255, 0, 0), (0, 0, 255))]
    gif = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=50)
    assert Image.open(__import__("io").BytesIO(gif)).n_frames == 2
    r, g, b = _rgb(gif, resolution=8).mean((0, 1))
    assert r > 240 and b < 15


def test_arrays_of_other_dtypes():
    assert (prepare(np.full((4, 4), 65535, np.uint16), 4, 1) == 255).all()
    assert (prepare(np.full((4, 4, 3), 0.5), 4, 3) == 128).all()
    assert (prepare(np.ones((4, 4), bool), 4, 1) == 255).all()
    with pytest.raises(BadImage, match="shape"):
        prepare(np.zeros((4, 4, 2), np.uint8), 4, 1)


@pytest.mark.parametrize("name,reason", [
    ("empty.jpg", "empty file"),
    ("page.jpg", "HTML"),
    ("truncated.jpg", "truncated"),
    ("noise.bmp", "random bytes"),
    ("bomb.png", "decompression bomb"),
])
def test_bad_inputs_are_refused_with_a_reason(name, reason):
    with pytest.raises(BadImage, match=reason):
        prepare(bad_inputs()[name], 32, 3)


def test_bomb_is_refused_without_allocating():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(BadImage, match="decompression bomb"):
        prepare(png_bomb(60_000), 32, 3)  # 10.8 GB if decoded
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 50


def test_good_formats_decode_to_the_same_picture():
    img = photo((64, 64))
    reference = prepare(encode(img, "PNG"), 32, 3).astype(int)
    for fmt, kw in (("JPEG", {"quality": 95}), ("WEBP", {"quality": 95}), ("BMP", {}),
                    ("TIFF", {}), ("PPM", {})):
        out = prepare(encode(img, fmt, **kw), 32, 3).astype(int)
        assert np.abs(out - reference).mean() < 4, fmt
