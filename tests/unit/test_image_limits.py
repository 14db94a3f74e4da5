"""Images over the pixel limit are refused before decoding; large valid images predict in bounded memory."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.bad_files import png_bomb
from unet_core.data.io import MaskFormat, read_image, read_image_reduced, read_mask
from unet_core.data.lookalikes import image_signature, load_signatures
from unet_core.errors import UnreadableFileError
from unet_core.model.upsample import probability_bands, resize_channels, upsample_labels


@pytest.fixture(scope="module")
def bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return png_bomb(tmp_path_factory.mktemp("bomb") / "bomb.png")


def _softmax(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    x = np.exp(rng.normal(size=shape).astype(np.float32) * 3)
    return x / x.sum(axis=-1, keepdims=True)


def test_a_decompression_bomb_is_refused_before_decoding(bomb: Path) -> None:
    assert bomb.stat().st_size < 2_000_000
    tracemalloc.start()
    readers = [lambda: read_image(bomb), lambda: read_image_reduced(bomb, 4), lambda: image_signature(bomb)]
    readers += [lambda fmt=fmt: read_mask(bomb, fmt) for fmt in MaskFormat]
    for read in readers:
        with pytest.raises(UnreadableFileError, match="400 megapixels is more than the 80 megapixel limit") as info:
            read()
        assert str(bomb) in str(info.value) and "\n" not in str(info.value)
    assert tracemalloc.get_traced_memory()[1] < 50 * 2**20
    tracemalloc.stop()


def test_look_alike_signatures_skip_a_bomb(bomb: Path, tmp_path: Path) -> None:
    signatures = load_signatures({"bomb": bomb}, cache=tmp_path / "sig.npz")
    assert signatures.shape[0] == 1 and not signatures.any()  # zero signature: like nothing, no crash


def test_bands_join_without_seams_at_any_band_height() -> None:
    rng = np.random.default_rng(0)
    low = _softmax(rng, (24, 36, 5))
    whole = resize_channels(low, (301, 457))
    for band_bytes in (1, 4096, 10**5, 10**9):
        rows = [band for _, _, band in probability_bands(low, (301, 457), band_bytes)]
        np.testing.assert_allclose(np.concatenate(rows), whole, atol=2e-6)


def test_more_than_128_classes_predict_and_upsample() -> None:
    from unet_core.data.classes import ClassTable
    from unet_core.model.checkpoint import CheckpointMeta
    from unet_core.model.predictor import Predictor
    from unet_core.model.unet import UNetConfig, build_model

    arch = UNetConfig(base_width=2, depth=1, num_classes=200)
    meta = CheckpointMeta(arch=arch, classes=ClassTable.numbered(200), input_size=(16, 24))
    predictor = Predictor(build_model(arch), meta, device="cpu")
    image = np.random.default_rng(1).integers(0, 255, (50, 70, 3), dtype=np.uint8)
    pred = predictor.predict(image, with_probabilities=True)
    assert pred.labels.shape == (50, 70) and pred.probabilities is not None
    assert pred.probabilities.shape == (50, 70, 200)
    np.testing.assert_array_equal(pred.labels, predictor.predict(image).labels)
    low = torch.from_numpy(_softmax(np.random.default_rng(2), (8, 8, 300)).transpose(2, 0, 1).copy())
    assert predictor.postprocess(low, (40, 40)).labels.max() < 300


def test_a_large_many_class_prediction_stays_bounded() -> None:
    from unet_core.model.predictor import Predictor

    low = _softmax(np.random.default_rng(3), (64, 96, 23))
    h, w = 4000, 6000
    tracemalloc.start()
    labels = upsample_labels(low, (h, w))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    whole_map = h * w * 23 * 4  # 2.2 GB: what one full-size probability map would take
    assert labels.shape == (h, w) and peak < labels.nbytes + 200 * 2**20 < whole_map / 8
    probs = torch.from_numpy(low.transpose(2, 0, 1).copy())
    tracemalloc.start()
    pred = Predictor.postprocess(None, probs, (h, w))  # type: ignore[arg-type]  # uses no predictor state
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert pred.labels.shape == (h, w) and peak < (h * w * 5) + 200 * 2**20
    np.testing.assert_array_equal(pred.labels, labels)


def test_a_large_two_class_prediction_holds_no_extra_full_size_copy() -> None:
    from unet_core.model.predictor import Predictor

    low = _softmax(np.random.default_rng(4), (64, 96, 2))
    h, w = 4000, 6000
    tracemalloc.start()
    pred = Predictor.postprocess(None, torch.from_numpy(low.transpose(2, 0, 1).copy()), (h, w))  # type: ignore[arg-type]
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    # uncertainty (4 B/px) + one foreground plane (4 B/px) + labels (1 B/px), nothing more at full size
    assert pred.labels.dtype == np.uint8 and peak < h * w * 9 + 32 * 2**20


def test_a_bomb_with_a_damaged_text_chunk_is_still_refused(tmp_path: Path) -> None:
    """Pillow refuses such a file (so it cannot tell its size) while OpenCV decodes it whole."""
    from tests.bad_files import png_chunk

    bad_text = png_chunk(b"tEXt", b"Comment\0hello")[:-4] + b"\0\0\0\0"
    bomb = png_bomb(tmp_path / "bomb.png", 10000, 10000, extra=bad_text)
    with pytest.raises(UnreadableFileError, match="10000x10000, 100 megapixels"):
        read_image(bomb)


def test_damaged_pngs_are_one_line_errors_and_nothing_reaches_stderr(tmp_path: Path,
                                                                     capfd: pytest.CaptureFixture[str]) -> None:
    import cv2
    from PIL import Image

    rgb = np.random.default_rng(5).integers(0, 255, (40, 60, 3), dtype=np.uint8)
    good = tmp_path / "good.png"
    Image.fromarray(rgb).save(good, icc_profile=b"\0" * 200)  # an odd colour profile: libpng warns about it
    np.testing.assert_array_equal(read_image(good), rgb)
    data = bytearray(good.read_bytes())
    idat = data.index(b"IDAT")
    data[idat + 10] ^= 0xFF  # flip pixel bytes: the chunk's checksum no longer matches
    damaged = tmp_path / "damaged.png"
    damaged.write_bytes(bytes(data))
    for path, message in ((damaged, "damaged PNG \\(IDAT chunk fails its checksum\\)"),
                          (tmp_path / "cut.png", "truncated PNG")):
        if path.name == "cut.png":
            path.write_bytes(good.read_bytes()[:-30])
        with pytest.raises(UnreadableFileError, match=message) as info:
            read_image(path)
        assert "\n" not in str(info.value)
        with pytest.raises(UnreadableFileError):
            read_mask(path, MaskFormat.RED_CHANNEL)
    out, err = capfd.readouterr()
    assert err == "" and out == "", err
    assert cv2.imdecode(np.frombuffer(good.read_bytes(), np.uint8), cv2.IMREAD_UNCHANGED) is not None


def test_jpeg_sizes_come_from_the_frame_header(tmp_path: Path) -> None:
    import cv2

    from unet_core.data.image_headers import jpeg_size

    ok, buf = cv2.imencode(".jpg", np.zeros((37, 53, 3), np.uint8))
    assert ok and jpeg_size(buf.tobytes()) == (53, 37)
    data = bytearray(buf.tobytes())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = (60000).to_bytes(2, "big") + (60000).to_bytes(2, "big")
    bomb = tmp_path / "bomb.jpg"
    bomb.write_bytes(bytes(data))
    with pytest.raises(UnreadableFileError, match="60000x60000, 3600 megapixels"):
        read_image(bomb)
