"""Framing and tiles: images keep their aspect, large ones predict in seamless tiles with bounded memory."""

from __future__ import annotations

import itertools
import json
import tracemalloc
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from torch import nn

from unet_core.data.classes import ClassTable
from unet_core.data.dataset import Example, SegmentationDataset, frame_example
from unet_core.data.framing import Framing, fit_scale, pad_to, typical_scale
from unet_core.data.io import MaskFormat
from unet_core.data.transforms import Normalization
from unet_core.errors import CheckpointError
from unet_core.model.checkpoint import CheckpointMeta, load_checkpoint, save_checkpoint
from unet_core.model.predictor import Predictor, normalized_entropy
from unet_core.model.stream import StreamedOutputs, low_factor
from unet_core.model.tiles import ramp, tile_starts
from unet_core.model.unet import UNetConfig, build_model
from unet_core.model.upsample import resize_channels, upsample_labels


class RedFinder(nn.Module):
    """A per-pixel 'model': class 1 where a pixel is red, class 0 elsewhere, other classes never.

    It sees one pixel at a time, so what it finds is exactly what survives the framing: a thin red
    line is found at native scale and lost when the image is shrunk.
    """

    def __init__(self, num_classes: int) -> None:
        super().__init__()
        self.k = num_classes
        self.norm = Normalization()
        self.anchor = nn.Parameter(torch.zeros(1))  # a parameter, so .to(device) and eval() work as for a UNet

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = torch.tensor(self.norm.mean).view(1, 3, 1, 1)
        std = torch.tensor(self.norm.std).view(1, 3, 1, 1)
        rgb = x * std + mean
        fg = 12.0 * (rgb[:, 0] - rgb[:, 1] - 0.4)
        logits = torch.full((x.shape[0], self.k, *x.shape[2:]), -20.0)
        logits[:, 0] = -fg
        logits[:, 1] = fg
        return logits + self.anchor


def _meta(k: int, size: tuple[int, int], scale: float | None) -> CheckpointMeta:
    arch = UNetConfig(base_width=2, depth=1, num_classes=k)
    return CheckpointMeta(arch=arch, classes=ClassTable.numbered(k), input_size=size, scale=scale)


def _red_lines(h: int, w: int, every: int = 97, width: int = 3) -> tuple[np.ndarray, np.ndarray]:
    image = np.full((h, w, 3), 90, np.uint8)
    truth = np.zeros((h, w), np.uint8)
    for x in range(5, w - width, every):
        truth[:, x : x + width] = 1
    for y in range(11, h - width, every + 14):
        truth[y : y + width] = 1
    image[truth == 1] = (230, 40, 40)
    return image, truth


def test_tiles_cover_every_pixel_with_the_overlap_asked_for() -> None:
    assert tile_starts(100, 128, 32) == [0]
    starts = tile_starts(1000, 256, 64)
    assert starts[0] == 0 and starts[-1] == 1000 - 256
    assert all(b - a <= 256 - 64 for a, b in itertools.pairwise(starts))
    w = ramp(256, 64)
    assert w.min() > 0 and w.max() == 1.0 and w[0] == w[-1] < w[32] < w[64] == 1.0


def test_fit_and_typical_scale_keep_the_aspect() -> None:
    assert fit_scale((1280, 1918), (256, 384)) == pytest.approx(0.2)
    assert typical_scale([(480, 640), (480, 640), (960, 1280)], (288, 384)) == pytest.approx(0.6)
    frame = Framing((256, 384), 0.2)
    assert frame.working_size((1280, 1918)) == (256, 384)
    assert frame.working_size((2000, 1000)) == (400, 200)  # portrait: taller than the input, not squeezed
    assert not frame.fits((400, 200)) and frame.fits((256, 200))
    assert Framing((256, 384)).working_size((2000, 1000)) == (256, 384)  # the old rule stretches
    for bad in (0.0, -1.0, float("nan"), 1e6):
        with pytest.raises(ValueError, match="scale"):
            Framing((256, 384), bad)


def test_mirrored_padding_reaches_any_size() -> None:
    a = np.arange(12, dtype=np.uint8).reshape(3, 4)
    big = pad_to(a, (11, 13))
    assert big.shape == (11, 13) and (big[:3, :4] == a).all()
    assert set(np.unique(big)) <= set(np.unique(a))
    assert pad_to(np.ones((1, 1), np.float32), (4, 4), "zero").sum() == 1.0


def test_a_tiled_prediction_equals_the_pixelwise_truth_without_seams() -> None:
    k = 5
    predictor = Predictor(RedFinder(k), _meta(k, (64, 96), 1.0), device="cpu")
    image, truth = _red_lines(301, 457, every=23)
    pred = predictor.predict(image)
    assert pred.labels.shape == truth.shape
    np.testing.assert_array_equal(pred.labels, truth)
    whole = predictor._forward_crops([image])[0]  # the model over the whole image in one pass
    np.testing.assert_allclose(pred.uncertainty, normalized_entropy(whole.transpose(1, 2, 0)), atol=1e-5)
    assert pred.low_probabilities is not None and pred.low_probabilities.shape == (301, 457, k)
    np.testing.assert_allclose(pred.low_probabilities.astype(np.float32), whole.transpose(1, 2, 0), atol=2e-3)


def test_a_unet_tiled_prediction_has_no_seams_at_tile_borders() -> None:
    torch.manual_seed(0)
    arch = UNetConfig(base_width=4, depth=2, num_classes=3)
    meta = CheckpointMeta(arch=arch, classes=ClassTable.numbered(3), input_size=(64, 64), scale=1.0)
    predictor = Predictor(build_model(arch), meta, device="cpu")
    rng = np.random.default_rng(0)
    image = cv2.GaussianBlur(rng.integers(0, 255, (200, 260, 3), dtype=np.uint8), (0, 0), 3)
    tiled = predictor.predict(image)
    whole = predictor._forward_crops([pad_to(image, (208, 272))])[0][:, :200, :260]
    agree = (tiled.labels == whole.argmax(axis=0)).mean()
    assert agree > 0.9  # a tile sees less context than the whole image, but the blend keeps them close
    # no seam: neighbouring rows/columns differ no more across tile borders than elsewhere
    u = tiled.uncertainty
    jumps = np.abs(np.diff(u, axis=1)).mean(axis=0)
    starts = tile_starts(260, 64, 16)[1:]
    assert max(jumps[s - 1] for s in starts) < 4 * np.median(jumps) + 1e-3


def test_streamed_rows_equal_one_whole_map_resize() -> None:
    rng = np.random.default_rng(1)
    x = np.exp(rng.normal(size=(7, 37, 53)).astype(np.float32) * 2)
    probs = x / x.sum(axis=0, keepdims=True)
    for full in ((150, 211), (20, 30), (37, 53)):
        out = StreamedOutputs((37, 53), full, 7)
        row = 0
        for n in (5, 1, 12, 19):
            out.add(row, probs[:, row : row + n].copy())
            row += n
        labels, uncertainty, score, low, _ = out.finish()
        hwk = probs.transpose(1, 2, 0)
        np.testing.assert_array_equal(labels, upsample_labels(hwk, full))
        expect = resize_channels(normalized_entropy(hwk)[..., None], full)[..., 0]
        np.testing.assert_allclose(uncertainty, np.clip(expect, 0, 1), atol=1e-5)
        assert score == pytest.approx(float(normalized_entropy(hwk).mean()), rel=1e-5)
        np.testing.assert_allclose(low.astype(np.float32), hwk, atol=1e-3)
    with pytest.raises(ValueError, match="in order"):
        StreamedOutputs((37, 53), (37, 53), 7).add(3, probs[:, :2])


def test_low_probabilities_shrink_by_block_means_under_their_budget() -> None:
    assert low_factor((8000, 8000), 23) == 10 and low_factor((480, 640), 23) == 1
    probs = np.random.default_rng(2).random((2, 9, 10)).astype(np.float32)
    out = StreamedOutputs((9, 10), (9, 10), 2)
    out.f = 4
    out._low_sum = np.zeros((2, 3, 3), np.float32)
    out.add(0, probs[:, :6])
    out.add(6, probs[:, 6:])
    low = out.finish()[3].astype(np.float32)
    assert low.shape == (3, 3, 2)
    np.testing.assert_allclose(low[0, 0], probs[:, :4, :4].mean(axis=(1, 2)), atol=1e-3)
    np.testing.assert_allclose(low[2, 2], probs[:, 8:, 8:].mean(axis=(1, 2)), atol=1e-3)


def test_an_image_of_another_aspect_is_letterboxed_not_stretched() -> None:
    k = 2
    predictor = Predictor(RedFinder(k), _meta(k, (64, 96), 0.5), device="cpu")
    image, truth = _red_lines(100, 60, every=9, width=4)  # portrait into a landscape input
    pred = predictor.predict(image)
    assert pred.labels.shape == (100, 60)
    assert ((pred.labels == 1) & (truth == 1)).sum() / ((pred.labels == 1) | (truth == 1)).sum() > 0.75
    old = Predictor(RedFinder(k), _meta(k, (64, 96), None), device="cpu").predict(image)
    assert old.labels.shape == (100, 60)  # old checkpoints still stretch, and still work


def test_predict_many_mixes_fitting_and_tiled_images() -> None:
    predictor = Predictor(RedFinder(3), _meta(3, (32, 32), 1.0), device="cpu")
    images = [_red_lines(20, 30, every=7)[0], _red_lines(70, 90, every=7)[0], _red_lines(32, 32, every=7)[0]]
    preds = predictor.predict_many(images, batch_size=2)
    for image, pred in zip(images, preds, strict=True):
        np.testing.assert_array_equal(pred.labels, predictor.predict(image).labels)
        assert pred.labels.shape == image.shape[:2]


def test_an_8000_square_image_keeps_3_pixel_lines_within_1_gb() -> None:
    k = 23
    predictor = Predictor(RedFinder(k), _meta(k, (256, 384), 1.0), device="cpu")
    image, truth = _red_lines(8000, 8000, every=97, width=3)
    tracemalloc.start()
    pred = predictor.predict(image)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 2**30, f"{peak / 2**20:.0f} MB"
    assert (pred.labels == truth).all()
    assert pred.low_probabilities is not None and pred.low_probabilities.nbytes <= 32 * 2**20
    squeezed = Predictor(RedFinder(k), _meta(k, (256, 384), None), device="cpu").predict(image[:2000, :2000])
    assert (squeezed.labels[truth[:2000, :2000] == 1] == 1).mean() < 0.5  # stretched to the input, lines fade


def _examples(tmp_path: Path, sizes: list[tuple[int, int]]) -> list[Example]:
    out = []
    for i, (h, w) in enumerate(sizes):
        image, truth = _red_lines(h, w, every=11)
        ip, mp = tmp_path / f"im{i}.png", tmp_path / f"im{i}_mask.png"
        cv2.imwrite(str(ip), image[..., ::-1])
        cv2.imwrite(str(mp), truth)
        out.append(Example(ip, mp, MaskFormat.INDEX_PNG))
    return out


def test_training_examples_are_cropped_or_padded_never_stretched(tmp_path: Path) -> None:
    examples = _examples(tmp_path, [(40, 60), (100, 50)])
    ds = SegmentationDataset(examples, (48, 48), 2, augment=False, scale=1.0)
    small, tall = ds[0], ds[1]
    assert small["image"].shape == (3, 48, 48) and tall["image"].shape == (3, 48, 48)
    assert (small["weight"][:40, :48] == 1).all() and (small["weight"][40:] == 0).all()  # padding is not trained on
    assert (tall["weight"] == 1).all()
    truth = cv2.imread(str(examples[1].mask_path), cv2.IMREAD_UNCHANGED)
    crop = tall["mask"].numpy()  # a window of the truth, image and mask cut alike
    assert any((crop == truth[y : y + 48, x : x + 48]).all() for y in range(100 - 47) for x in range(50 - 47))
    augmented = SegmentationDataset(examples, (48, 48), 2, augment=True, scale=1.0)
    assert {augmented[1]["image"].shape for _ in range(3)} == {(3, 48, 48)}
    image, mask, weight = frame_example(np.zeros((10, 10, 3), np.uint8), np.ones((10, 10), np.uint8), None,
                                        (16, 8), torch.Generator().manual_seed(0))
    assert image.shape == (16, 8, 3) and mask.shape == (16, 8) and weight[10:].sum() == 0


def test_the_scale_is_kept_in_the_checkpoint_and_checked_on_load(tmp_path: Path) -> None:
    meta = _meta(2, (32, 48), 0.25)
    model = build_model(meta.arch)
    save_checkpoint(tmp_path / "m.safetensors", model, meta)
    _, loaded = load_checkpoint(tmp_path / "m.safetensors")
    assert loaded.scale == 0.25 and loaded.framing == Framing((32, 48), 0.25)
    assert loaded.summary()["scale"] == 0.25
    old = _meta(2, (32, 48), None)
    save_checkpoint(tmp_path / "old.safetensors", model, old)
    assert load_checkpoint(tmp_path / "old.safetensors")[1].framing.stretches
    bad = old.to_metadata()
    for value in (-1, "x", 1e9):
        bad["input"] = json.dumps({"size_hw": [32, 48], "scale": value})
        with pytest.raises(CheckpointError, match="scale"):
            CheckpointMeta.from_metadata(bad, tmp_path / "bad.safetensors")


def test_training_records_the_typical_scale_and_trains_on_crops_when_asked(carvana_dir: Path,
                                                                           tmp_path: Path) -> None:
    from unet_core.data.dataset import examples_from_layout
    from unet_core.data.layouts import detect_layout
    from unet_core.training.trainer import train
    from unet_core.training.types import TrainConfig

    layout = detect_layout(carvana_dir)
    examples = examples_from_layout(layout, layout.pairs()[0])
    h, w = cv2.imread(str(examples[0].image_path)).shape[:2]
    config = TrainConfig(arch="unet-tiny", size_hw=(48, 64), epochs=1, batch_size=4, device="cpu")
    train(examples[:4], examples[4:6], layout.classes, config, tmp_path / "fit.safetensors")
    meta = load_checkpoint(tmp_path / "fit.safetensors")[1]
    assert meta.scale == pytest.approx(fit_scale((h, w), (48, 64)))  # the whole image fills one input
    crops = TrainConfig(arch="unet-tiny", size_hw=(48, 64), scale=0.5, epochs=1, batch_size=4, device="cpu")
    result = train(examples[:4], examples[4:6], layout.classes, crops, tmp_path / "crops.safetensors")
    assert result.best_val_dice is not None  # validated on tiles: the working image is larger than one input
    predictor = Predictor.from_checkpoint(tmp_path / "crops.safetensors", device="cpu")
    assert predictor.meta.scale == 0.5 and not predictor.framing.fits(predictor.framing.working_size((h, w)))
    image = cv2.imread(str(examples[0].image_path))[..., ::-1]
    assert predictor.predict(np.ascontiguousarray(image)).labels.shape == (h, w)


def test_crops_are_random_without_augmentation_too(tmp_path: Path) -> None:
    examples = _examples(tmp_path, [(120, 300)])
    ds = SegmentationDataset(examples, (48, 48), 2, augment=False, scale=1.0)
    crops = {tuple(ds[0]["mask"].numpy().ravel()[:200]) for _ in range(8)}
    assert len(crops) > 1  # not the same centre crop every epoch: every part of the image is trained on


def test_tiled_low_probabilities_line_up_with_the_image_when_blocks_do_not_divide_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    k = 3
    predictor = Predictor(RedFinder(k), _meta(k, (32, 32), 1.0), device="cpu")
    image, _ = _red_lines(101, 101, every=17, width=5)
    pred = predictor.predict(image)
    # the real pipeline with a forced factor: block means of 10, read back at full size
    import unet_core.model.stream as stream

    monkeypatch.setattr(stream, "low_factor", lambda working_hw, k: 10)  # as a huge image would get
    coarse = predictor.predict(image)
    probs = coarse.class_probabilities()
    assert probs is not None and coarse.low_extent == (10.1, 10.1)
    fine = pred.class_probabilities()
    assert fine is not None
    rect = (0, 0, 101, 101)
    # the coarse map is a blur of the fine one, centred on the same pixels (no shift of several pixels)
    col_fine = fine.window(rect)[..., 1].mean(axis=0)
    col_coarse = probs.window(rect)[..., 1].mean(axis=0)
    shift = np.argmax(np.correlate(col_coarse - col_coarse.mean(), col_fine - col_fine.mean(), "full")) - 100
    assert abs(shift) <= 1


def test_a_resumed_run_keeps_its_framing(carvana_dir: Path, tmp_path: Path) -> None:
    from unet_core.data.dataset import examples_from_layout
    from unet_core.data.layouts import detect_layout
    from unet_core.training.trainer import train
    from unet_core.training.types import TrainConfig

    layout = detect_layout(carvana_dir)
    examples = examples_from_layout(layout, layout.pairs()[0])
    out = tmp_path / "m.safetensors"
    first = TrainConfig(arch="unet-tiny", size_hw=(48, 64), scale=0.5, epochs=1, batch_size=4, device="cpu")
    train(examples[:4], examples[4:6], layout.classes, first, out)
    again = TrainConfig(arch="unet-tiny", epochs=2, batch_size=4, device="cpu")  # no size, no scale given
    train(examples[:4], examples[4:6], layout.classes, again, out, resume=True)
    meta = load_checkpoint(out.with_name("m.last.safetensors"))[1]
    assert meta.input_size == (48, 64) and meta.scale == 0.5


def test_hostile_scales_are_refused_without_a_traceback() -> None:
    from unet_core.data.framing import check_scale

    for bad in (True, "0.5", 10**400, float("inf"), [1]):
        with pytest.raises(ValueError, match="scale"):
            check_scale(bad)  # type: ignore[arg-type]
    assert check_scale(1) == 1.0


def test_validation_inputs_over_the_byte_budget_are_read_again_with_the_same_result(tmp_path: Path) -> None:
    from unet_core.training.validation import ValidationSet, validate

    examples = _examples(tmp_path, [(40, 60), (100, 50), (70, 90)])
    predictor = Predictor(RedFinder(2), _meta(2, (32, 32), 1.0), device="cpu")
    kept, _ = ValidationSet.build(examples, predictor.framing, 2)
    dropped, _ = ValidationSet.build(examples, predictor.framing, 2, cache_bytes=0)
    assert all(i is not None for i in kept.inputs) and all(i is None for i in dropped.inputs)
    previews: list = []
    np.testing.assert_array_equal(validate(predictor, kept), validate(predictor, dropped, previews=previews))
    assert [p[0].shape[:2] for p in previews] == [(40, 60), (100, 50), (70, 90)]
