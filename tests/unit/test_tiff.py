"""TIFFs as scientific and GIS tools write them: planar, float16, signed, many-channel, palette, oriented."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

from unet_core.data.file_guard import file_size_hw
from unet_core.data.io import read_image
from unet_core.errors import DataError

RAMP = np.tile(np.linspace(0, 1, 40), (24, 1))


def _check_ramp(gray: np.ndarray) -> None:
    """Left dark, right bright, many levels: windowed, not clipped or near-black."""
    assert gray[:, 0].max() <= 8 and gray[:, -1].min() >= 247 and len(np.unique(gray)) > 30


def test_a_planar_rgb_tiff_is_read_in_its_colours(tmp_path: Path) -> None:
    rgb = np.zeros((3, 24, 40), np.uint8)
    rgb[0], rgb[1], rgb[2] = 200, 100, 30  # stored as three planes (OpenCV refuses this file)
    tifffile.imwrite(tmp_path / "planar.tif", rgb, photometric="rgb", planarconfig="separate")
    out = read_image(tmp_path / "planar.tif")
    assert out.shape == (24, 40, 3) and out.dtype == np.uint8
    assert tuple(out[5, 5]) == (200, 100, 30)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.int16, np.uint16, np.int32, np.uint32])
def test_deep_and_signed_tiffs_are_windowed(tmp_path: Path, dtype: type) -> None:
    values = RAMP * 3000 - 1000  # negative values too (CT numbers, elevations)
    if np.dtype(dtype).kind == "u":
        values = RAMP * 3000
    if dtype == np.float16:
        values = RAMP * 2 - 1
    tifffile.imwrite(tmp_path / "deep.tif", values.astype(dtype))
    out = read_image(tmp_path / "deep.tif")
    assert out.shape == (24, 40, 3)
    _check_ramp(out[:, :, 0])


def test_many_channel_tiffs_show_their_first_three_channels(tmp_path: Path) -> None:
    bands = np.zeros((24, 40, 6), np.uint16)  # a multispectral image (OpenCV read it as 40x6)
    bands[..., 0] = (RAMP * 4000).astype(np.uint16)
    bands[..., 1] = 2000
    bands[..., 5] = 4000
    tifffile.imwrite(tmp_path / "bands.tif", bands, photometric="minisblack", planarconfig="contig")
    out = read_image(tmp_path / "bands.tif")
    assert out.shape == (24, 40, 3)
    assert out[:, -1, 0].min() > out[:, 0, 0].max()  # channel 0 is red, in order


def test_a_palette_tiff_is_shown_through_its_colour_map(tmp_path: Path) -> None:
    index = np.zeros((24, 40), np.uint8)
    index[:, 20:] = 1
    cmap = np.zeros((3, 256), np.uint16)
    cmap[:, 1] = (65535, 0, 32896)
    tifffile.imwrite(tmp_path / "pal.tif", index, photometric="palette", colormap=cmap)
    out = read_image(tmp_path / "pal.tif")
    assert tuple(out[0, 0]) == (0, 0, 0) and tuple(out[0, 30]) == (255, 0, 128)


def test_a_min_is_white_tiff_is_not_shown_inverted(tmp_path: Path) -> None:
    ink = np.zeros((24, 40), np.uint8)
    ink[:, 20:] = 255  # 255 = black in a min-is-white file
    tifffile.imwrite(tmp_path / "scan.tif", ink, photometric="miniswhite")
    out = read_image(tmp_path / "scan.tif")
    assert out[0, 0, 0] == 255 and out[0, 30, 0] == 0


@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
def test_a_tiff_is_turned_as_its_orientation_tag_says(tmp_path: Path, orientation: int) -> None:
    img = np.zeros((24, 40, 3), np.uint8)
    img[:4, :4] = 255  # a marker in the stored top-left corner
    path = tmp_path / "o.tif"
    tifffile.imwrite(path, img, photometric="rgb", extratags=[(274, 3, 1, orientation, True)])
    out = read_image(path)
    expected = {1: img, 3: img[::-1, ::-1], 6: np.rot90(img, -1), 8: np.rot90(img, 1)}[orientation]
    np.testing.assert_array_equal(out, expected)
    assert file_size_hw(path) == out.shape[:2]  # the size read from the header agrees


def test_an_lzw_tiff_still_opens_through_opencv(tmp_path: Path) -> None:
    img = np.zeros((24, 40, 3), np.uint8)
    img[:, :, 1] = 180
    Image.fromarray(img).save(tmp_path / "lzw.tif", compression="tiff_lzw")  # tifffile needs imagecodecs
    np.testing.assert_array_equal(read_image(tmp_path / "lzw.tif"), img)


def test_a_tiff_stack_is_refused_with_its_page_count(tmp_path: Path) -> None:
    path = tmp_path / "stack.tif"
    with tifffile.TiffWriter(path) as tif:
        for v in (10, 200, 90, 40):
            tif.write(np.full((8, 8), v, np.uint16), contiguous=False)
    with pytest.raises(DataError, match=r"multi-page TIFF \(4 pages\).*each page as its own file"):
        read_image(path)


def test_a_tiff_with_a_reduced_preview_is_one_image(tmp_path: Path) -> None:
    path = tmp_path / "preview.tif"
    with tifffile.TiffWriter(path) as tif:
        tif.write(np.full((32, 32), 7, np.uint8), subifds=1)
        tif.write(np.full((16, 16), 7, np.uint8), subfiletype=1)  # a half-size preview, as pyramids store them
    assert read_image(path).shape == (32, 32, 3)


def test_a_tiff_whose_header_promises_too_much_is_refused_before_decoding(tmp_path: Path) -> None:
    path = tmp_path / "huge.tif"
    tifffile.imwrite(path, np.zeros((64, 64), np.uint8))
    data = bytearray(path.read_bytes())
    with tifffile.TiffFile(path) as tif:  # rewrite the width and height tags' values in place
        tags = tif.pages[0].tags
        for code in (256, 257):
            tag = tags[code]
            at = tag.valueoffset
            data[at : at + tag.count * (2 if tag.dtype == 3 else 4)] = (60000).to_bytes(
                2 if tag.dtype == 3 else 4, "little")
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match="megapixel limit"):
        read_image(path)


def test_a_damaged_tiff_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.tif"
    path.write_bytes(b"II*\x00" + b"\xff" * 40)
    with pytest.raises(DataError, match=r"bad\.tif.*damaged"):
        read_image(path)


@pytest.mark.parametrize("orientation", [3, 6])
def test_an_lzw_tiff_read_by_opencv_is_turned_once(tmp_path: Path, orientation: int) -> None:
    img = np.zeros((30, 40, 3), np.uint8)
    img[:4, :4] = 255
    path = tmp_path / "lzw.tif"
    Image.fromarray(img).save(path, compression="tiff_lzw", tiffinfo={274: orientation})
    out = read_image(path)
    expected = {3: img[::-1, ::-1], 6: np.rot90(img, -1)}[orientation]
    np.testing.assert_array_equal(out, expected)
    assert file_size_hw(path) == out.shape[:2]


def test_damaged_compressed_tiffs_are_clear_errors_not_tracebacks(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    good = tmp_path / "deflate.tif"
    tifffile.imwrite(good, rng.integers(0, 255, (64, 64), dtype=np.uint8), compression="zlib")
    data = bytearray(good.read_bytes())
    raised = set()
    for trial in range(60):  # flip bytes of the compressed strip and the header alike
        bad = bytearray(data)
        for at in rng.integers(8, len(bad), 4):
            bad[at] = int(rng.integers(0, 256))
        path = tmp_path / f"bad{trial}.tif"
        path.write_bytes(bytes(bad))
        try:
            read_image(path)
        except DataError:
            raised.add("DataError")
    assert raised == {"DataError"}  # anything else would have escaped as a traceback above
