"""Tests for image/mask readers and writers (every format round trip, bad files) and atomic writes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from unet_core import fsutil
from unet_core.data.classes import CARLA_CLASSES, CARVANA_CLASSES, ClassTable
from unet_core.data.io import (
    MaskFormat,
    check_mask,
    check_same_size,
    colorize,
    read_image,
    read_mask,
    write_color_mask,
    write_image,
    write_mask,
)
from unet_core.errors import DataError

RNG = np.random.default_rng(7)


def _binary_mask(h: int = 24, w: int = 36) -> np.ndarray:
    m = np.zeros((h, w), np.uint8)
    m[4:18, 6:25] = 1
    m[0, 0] = 1
    return m


def _ids(h: int = 20, w: int = 30, n: int = 23) -> np.ndarray:
    return RNG.integers(0, n, size=(h, w), dtype=np.uint8)


def _rgb(h: int = 20, w: int = 30) -> np.ndarray:
    return RNG.integers(0, 256, size=(h, w, 3), dtype=np.uint8)


# ------------------------------------------------------------------------------------------- round trips


def test_carvana_gif_round_trip_is_exact_and_kaggle_like(tmp_path: Path) -> None:
    m = _binary_mask()
    p = tmp_path / "a_01_mask.gif"
    write_mask(p, m, MaskFormat.CARVANA_GIF)
    assert np.array_equal(read_mask(p, MaskFormat.CARVANA_GIF), m)
    with Image.open(p) as im:
        assert im.format == "GIF" and im.mode == "P" and getattr(im, "n_frames", 1) == 1
        assert np.array_equal(np.asarray(im), m)
        assert im.getpalette()[:6] == [0, 0, 0, 255, 255, 255]
    for value in (0, 1):  # constant masks must not be remapped by the GIF writer
        const = np.full((5, 7), value, np.uint8)
        write_mask(p, const, "carvana_gif")
        assert np.array_equal(np.asarray(Image.open(p)), const)


def test_carvana_reads_0_255_as_0_1(tmp_path: Path) -> None:
    m = _binary_mask()
    p_l = tmp_path / "l_mask.gif"
    Image.fromarray(m * 255).save(p_l)  # what convert('L') + save gives
    assert np.array_equal(read_mask(p_l, MaskFormat.CARVANA_GIF), m)
    p_png = tmp_path / "l_mask.png"
    Image.fromarray(m * 255).save(p_png)
    assert np.array_equal(read_mask(p_png, MaskFormat.CARVANA_GIF), m)
    im = Image.fromarray(m * 255)
    im.putpalette([0, 0, 0] * 255 + [255, 255, 255])
    p_p = tmp_path / "p_mask.png"
    im.save(p_p)
    assert np.array_equal(read_mask(p_p, MaskFormat.CARVANA_GIF), m)


def test_carvana_reads_jpeg_compressed_mask_as_binary(tmp_path: Path) -> None:
    m = np.zeros((64, 96), np.uint8)
    m[10:50, 20:80] = 1
    p = tmp_path / "m.jpg"
    cv2.imwrite(str(p), m * 255, [cv2.IMWRITE_JPEG_QUALITY, 60])
    assert len(np.unique(np.asarray(Image.open(p)))) > 2  # really lossy
    out = read_mask(p, MaskFormat.CARVANA_GIF)
    assert set(np.unique(out).tolist()) <= {0, 1}
    assert (out == m).mean() > 0.99


def test_red_channel_round_trip_is_carla_like(tmp_path: Path) -> None:
    m = _ids()
    p = tmp_path / "000001.png"
    write_mask(p, m, MaskFormat.RED_CHANNEL)
    assert np.array_equal(read_mask(p, MaskFormat.RED_CHANNEL), m)
    with Image.open(p) as im:
        assert im.mode == "RGBA"
        arr = np.asarray(im)
    assert np.array_equal(arr[:, :, 0], m)
    assert not arr[:, :, 1:3].any() and (arr[:, :, 3] == 255).all()


def test_red_channel_reads_rgb_gray_and_palette(tmp_path: Path) -> None:
    m = _ids()
    rgb = np.dstack([m, _ids(), _ids()])
    Image.fromarray(rgb).save(tmp_path / "rgb.png")
    assert np.array_equal(read_mask(tmp_path / "rgb.png", MaskFormat.RED_CHANNEL), m)
    Image.fromarray(m).save(tmp_path / "gray.png")
    assert np.array_equal(read_mask(tmp_path / "gray.png", MaskFormat.RED_CHANNEL), m)
    pim = Image.fromarray(m)
    pim.putpalette(CARLA_CLASSES.palette().tobytes())
    pim.save(tmp_path / "pal.png")
    assert np.array_equal(read_mask(tmp_path / "pal.png", MaskFormat.RED_CHANNEL), m)


def test_index_png_palette_and_gray_round_trip(tmp_path: Path) -> None:
    m = _ids()
    p = tmp_path / "p.png"
    write_mask(p, m, MaskFormat.INDEX_PNG, CARLA_CLASSES)
    with Image.open(p) as im:
        assert im.mode == "P"
        assert im.getpalette()[3 * 7 : 3 * 8] == [128, 64, 128]
        assert np.array_equal(np.asarray(im), m)
    assert np.array_equal(read_mask(p, MaskFormat.INDEX_PNG), m)
    q = tmp_path / "l.png"
    write_mask(q, m, MaskFormat.INDEX_PNG)
    with Image.open(q) as im:
        assert im.mode == "L"
    assert np.array_equal(read_mask(q, "index_png"), m)


def test_index_png_16_bit_and_gray_rgb(tmp_path: Path) -> None:
    m = _ids()
    cv2.imwrite(str(tmp_path / "16.png"), m.astype(np.uint16))
    assert np.array_equal(read_mask(tmp_path / "16.png", MaskFormat.INDEX_PNG), m)
    big = m.astype(np.uint16)
    big[0, 0] = 300
    cv2.imwrite(str(tmp_path / "big.png"), big)
    with pytest.raises(DataError, match="300"):
        read_mask(tmp_path / "big.png", MaskFormat.INDEX_PNG)
    Image.fromarray(np.dstack([m, m, m])).save(tmp_path / "grayrgb.png")
    assert np.array_equal(read_mask(tmp_path / "grayrgb.png", MaskFormat.INDEX_PNG), m)


def test_index_png_rejects_colour_masks(tmp_path: Path) -> None:
    p = tmp_path / "colour.png"
    write_color_mask(p, _ids(), CARLA_CLASSES)
    with pytest.raises(DataError) as info:
        read_mask(p, MaskFormat.INDEX_PNG)
    assert "colour mask: expected a single-channel index PNG" in str(info.value)
    assert str(p) in str(info.value)


# ------------------------------------------------------------------------------------------ read_image


def test_read_image_formats(tmp_path: Path) -> None:
    rgb = _rgb()
    rgba = np.dstack([rgb, RNG.integers(0, 256, rgb.shape[:2], dtype=np.uint8)])
    Image.fromarray(rgba).save(tmp_path / "rgba.png")
    out = read_image(tmp_path / "rgba.png")
    assert out.shape == (20, 30, 3) and out.dtype == np.uint8 and np.array_equal(out, rgb)
    Image.fromarray(rgb).save(tmp_path / "rgb.png")
    assert np.array_equal(read_image(tmp_path / "rgb.png"), rgb)  # channel order is RGB
    gray = rgb[:, :, 0].copy()
    Image.fromarray(gray).save(tmp_path / "gray.png")
    g = read_image(tmp_path / "gray.png")
    assert g.shape == (20, 30, 3) and all(np.array_equal(g[:, :, c], gray) for c in range(3))
    cv2.imwrite(str(tmp_path / "16.png"), gray.astype(np.uint16) * 257)
    wide = read_image(tmp_path / "16.png")[:, :, 1].astype(int)
    order = np.argsort(gray.ravel(), kind="stable")
    assert (np.diff(wide.ravel()[order]) >= 0).all() and wide.min() <= 5 and wide.max() >= 250  # windowed, in order
    pal = Image.fromarray(_ids(n=2))
    pal.putpalette([10, 20, 30, 200, 100, 50])
    pal.save(tmp_path / "pal.png")
    pal.save(tmp_path / "pal.gif")
    expected = np.asarray(pal.convert("RGB"))
    assert np.array_equal(read_image(tmp_path / "pal.png"), expected)
    assert np.array_equal(read_image(tmp_path / "pal.gif"), expected)


def test_read_image_jpeg(tmp_path: Path) -> None:
    img = np.zeros((40, 60, 3), np.uint8)
    img[:, :, 0] = 200  # red
    write_image(tmp_path / "a.jpg", img)
    out = read_image(tmp_path / "a.jpg")
    assert out.shape == (40, 60, 3)
    assert abs(int(out[20, 30, 0]) - 200) < 6 and int(out[20, 30, 2]) < 6


def _bad_files(tmp_path: Path) -> list[Path]:
    img = _rgb(64, 64)
    ok, jpg = cv2.imencode(".jpg", img)
    ok2, png = cv2.imencode(".png", img)
    assert ok and ok2
    files = {
        "missing.png": None,
        "empty.png": b"",
        "garbage.jpg": b"this is not an image at all" * 10,
        "trunc.jpg": jpg.tobytes()[: len(jpg) // 2],
        "trunc.png": png.tobytes()[: len(png) // 2],
        "trunc_tail.jpg": jpg.tobytes()[:-4],
        "garbage.gif": b"GIF89a garbage",
    }
    paths = []
    for name, data in files.items():
        p = tmp_path / name
        if data is not None:
            p.write_bytes(data)
        paths.append(p)
    return paths


def test_bad_images_raise_data_error_naming_file(tmp_path: Path) -> None:
    for p in _bad_files(tmp_path):
        with pytest.raises(DataError) as info:
            read_image(p)
        msg = str(info.value)
        assert str(p) in msg and "cannot read image" in msg and "\n" not in msg, msg
        assert info.value.path == p
    with pytest.raises(DataError, match="folder"):
        read_image(tmp_path)


@pytest.mark.parametrize("fmt", list(MaskFormat))
def test_bad_masks_raise_data_error_naming_file(tmp_path: Path, fmt: MaskFormat) -> None:
    for p in _bad_files(tmp_path):
        with pytest.raises(DataError) as info:
            read_mask(p, fmt)
        assert str(p) in str(info.value) and "\n" not in str(info.value)


# ------------------------------------------------------------------------------------------ validation


def test_check_mask_names_largest_bad_id(tmp_path: Path) -> None:
    m = np.zeros((4, 4), np.uint8)
    check_mask(m, 2, tmp_path / "m.png")
    m[0, 0], m[1, 1] = 5, 9
    with pytest.raises(DataError) as info:
        check_mask(m, 4, tmp_path / "m.png")
    assert "class id 9 out of range 0..3" in str(info.value) and "m.png" in str(info.value)


def test_check_same_size_message(tmp_path: Path) -> None:
    image = np.zeros((10, 20, 3), np.uint8)
    check_same_size(image, np.zeros((10, 20), np.uint8), tmp_path / "i.jpg", tmp_path / "m.gif")
    with pytest.raises(DataError) as info:
        check_same_size(image, np.zeros((12, 20), np.uint8), tmp_path / "i.jpg", tmp_path / "m.gif")
    msg = str(info.value)
    assert "m.gif" in msg and "20x12" in msg and "20x10" in msg


# ----------------------------------------------------------------------------------------------- writing


@pytest.mark.parametrize(
    ("mask", "fmt", "classes"),
    [
        (np.zeros((4, 4), np.float32), MaskFormat.INDEX_PNG, None),
        (np.zeros((4, 4, 3), np.uint8), MaskFormat.RED_CHANNEL, None),
        (np.full((4, 4), 2, np.uint8), MaskFormat.CARVANA_GIF, None),
        (np.full((4, 4), 2, np.uint8), MaskFormat.INDEX_PNG, CARVANA_CLASSES),
        ([[0, 1]], MaskFormat.INDEX_PNG, None),
    ],
)
def test_write_mask_rejects_bad_arrays_and_writes_nothing(
    tmp_path: Path, mask: np.ndarray, fmt: MaskFormat, classes: ClassTable | None
) -> None:
    p = tmp_path / "out" / "m.png"
    with pytest.raises(ValueError):
        write_mask(p, mask, fmt, classes)
    assert not p.exists()


def test_write_image_png_alpha_and_bad_input(tmp_path: Path) -> None:
    rgb = _rgb()
    write_image(tmp_path / "x.png", rgb, alpha=True)
    with Image.open(tmp_path / "x.png") as im:
        assert im.mode == "RGBA"
        arr = np.asarray(im)
    assert np.array_equal(arr[:, :, :3], rgb) and (arr[:, :, 3] == 255).all()
    write_image(tmp_path / "y.png", rgb)
    assert Image.open(tmp_path / "y.png").mode == "RGB"
    for bad_path, bad in [
        (tmp_path / "a.xyz", rgb),
        (tmp_path / "b.png", rgb.astype(np.float32)),
        (tmp_path / "c.png", np.zeros((4, 4, 4), np.uint8)),
    ]:
        with pytest.raises(ValueError):
            write_image(bad_path, bad)
        assert not bad_path.exists()


def test_jpeg_quality_changes_size(tmp_path: Path) -> None:
    img = _rgb(64, 64)
    write_image(tmp_path / "lo.jpg", img, quality=30)
    write_image(tmp_path / "hi.jpeg", img, quality=95)
    assert (tmp_path / "lo.jpg").stat().st_size < (tmp_path / "hi.jpeg").stat().st_size


def test_colorize_and_color_mask(tmp_path: Path) -> None:
    m = np.array([[0, 1], [7, 40]], np.uint8)
    c = colorize(m, CARLA_CLASSES)
    assert c.shape == (2, 2, 3) and c.dtype == np.uint8
    assert tuple(c[1, 0]) == (128, 64, 128) and tuple(c[1, 1]) == (0, 0, 0)
    write_color_mask(tmp_path / "c.png", m, CARLA_CLASSES)
    assert np.array_equal(np.asarray(Image.open(tmp_path / "c.png").convert("RGB")), c)


# ----------------------------------------------------------------------------------------------- fsutil


def test_atomic_write_creates_and_replaces(tmp_path: Path) -> None:
    p = tmp_path / "a" / "b" / "f.bin"
    fsutil.atomic_write_bytes(p, b"one")
    fsutil.atomic_write_bytes(p, b"two")
    assert p.read_bytes() == b"two"
    assert os.listdir(p.parent) == ["f.bin"]
    assert p.stat().st_mode & 0o777 == 0o644


def test_atomic_write_failure_keeps_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = tmp_path / "f.txt"
    fsutil.atomic_write_text(p, "old")

    def boom(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(fsutil.os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        fsutil.atomic_write_text(p, "new")
    assert p.read_text() == "old"
    assert os.listdir(tmp_path) == ["f.txt"]


def test_atomic_write_json(tmp_path: Path) -> None:
    p = tmp_path / "x.json"
    fsutil.atomic_write_json(p, {"b": 1, "a": [1, 2]})
    text = p.read_text()
    assert json.loads(text) == {"a": [1, 2], "b": 1}
    assert text.index('"a"') < text.index('"b"') and "\n  " in text
    with pytest.raises(TypeError):
        fsutil.atomic_write_json(tmp_path / "y.json", {"x": object()})
    assert not (tmp_path / "y.json").exists()
    assert sorted(os.listdir(tmp_path)) == ["x.json"]


def test_importing_data_package_does_not_import_torch() -> None:
    code = (
        "import sys, unet_core.data, unet_core.data.layouts, unet_core.data.transforms, unet_core.fsutil;"
        "bad = [m for m in ('torch', 'albumentations', 'PySide6') if m in sys.modules];"
        "sys.exit(1 if bad else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_twelve_bit_and_float_images_are_windowed_not_dark_or_clipped(tmp_path: Path) -> None:
    ramp = np.tile(np.linspace(0, 4095, 64), (16, 1)).astype(np.uint16)  # 12-bit data in a 16-bit file
    cv2.imwrite(str(tmp_path / "12bit.png"), ramp)
    out = read_image(tmp_path / "12bit.png")[:, :, 0]
    assert out[:, -1].min() >= 250 and out[:, 0].max() <= 5 and out.mean() > 100  # was near-black (max 16)
    from unet_core.data.io import read_image_reduced

    thumb = read_image_reduced(tmp_path / "12bit.png", 2)[:, :, 0]
    assert thumb.shape == (8, 32) and thumb.mean() > 100  # the thumbnail too
    floats = np.tile(np.linspace(-3.0, 40.0, 64), (16, 1)).astype(np.float32)
    cv2.imwrite(str(tmp_path / "f.tiff"), floats)
    f = read_image(tmp_path / "f.tiff")[:, :, 0]
    assert f[:, 0].max() <= 5 and f[:, -1].min() >= 250 and len(np.unique(f)) > 50  # not clipped to 0..1


def test_a_multi_page_tiff_is_refused_with_its_page_count(tmp_path: Path) -> None:
    pages = [Image.fromarray(np.full((8, 8), v, np.uint8)) for v in (10, 200, 90)]
    pages[0].save(tmp_path / "stack.tif", save_all=True, append_images=pages[1:])
    with pytest.raises(DataError, match=r"multi-page TIFF \(3 pages\)"):
        read_image(tmp_path / "stack.tif")
    pages[0].save(tmp_path / "one.tif")
    assert read_image(tmp_path / "one.tif").shape == (8, 8, 3)


@pytest.mark.parametrize("orientation", [1, 2, 3, 4, 5, 6, 7, 8])
def test_a_jpeg_is_shown_as_its_exif_orientation_says(tmp_path: Path, orientation: int) -> None:
    from unet_core.data.file_guard import file_size_hw
    from unet_core.data.io import read_image_reduced

    stored = np.zeros((40, 64, 3), np.uint8)
    stored[:10, :16] = (250, 20, 20)  # a red block in the stored top-left corner
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(stored).save(tmp_path / "o.jpg", quality=95, exif=exif)
    plain = np.asarray(Image.open(tmp_path / "o.jpg").convert("RGB"))  # Pillow: as stored
    from PIL import ImageOps

    want = np.asarray(ImageOps.exif_transpose(Image.open(tmp_path / "o.jpg")).convert("RGB"))  # as shown
    got = read_image(tmp_path / "o.jpg")
    assert got.shape == want.shape and np.abs(got.astype(int) - want.astype(int)).max() <= 2
    assert file_size_hw(tmp_path / "o.jpg") == got.shape[:2]
    assert read_image_reduced(tmp_path / "o.jpg", 2).shape[:2] == (got.shape[0] // 2, got.shape[1] // 2)
    assert (orientation == 1) == (got.shape == plain.shape and np.abs(got.astype(int) - plain.astype(int)).max() <= 2)
