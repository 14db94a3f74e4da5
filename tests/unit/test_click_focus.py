"""Focus windows: clicks learnt and run at a finer scale than the model's own view (unet_core.clicks.focus)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from unet_core.clicks.focus import FocusSource, coarse_mask, focus_scale
from unet_core.clicks.predict import ClickPredictor, choose_window, focus_window
from unet_core.clicks.training import ClickPlan, simulate_guides
from unet_core.data.classes import CARVANA_CLASSES
from unet_core.data.dataset import examples_from_layout
from unet_core.data.guides import Click, GuideEncoding
from unet_core.data.layouts import detect_layout
from unet_core.data.transforms import Normalization
from unet_core.model.checkpoint import CheckpointMeta, read_metadata
from unet_core.model.predictor import Predictor
from unet_core.model.unet import UNet, UNetConfig
from unet_core.training.trainer import train
from unet_core.training.types import TrainConfig


def _disk_truth(h: int = 120, w: int = 160) -> np.ndarray:
    truth = np.zeros((h, w), np.uint8)
    cv2.circle(truth, (w // 2, h // 2), 40, 1, -1)
    return truth


def test_a_coarse_mask_spoils_only_the_class_outline_and_keeps_the_rest() -> None:
    truth = _disk_truth()
    truth[:10] = 2  # another class, away from the disk
    errors = 0
    for seed in range(20):
        current = coarse_mask(truth, 1, 4.0, np.random.default_rng(seed))
        wrong = current != truth
        errors += int(wrong.sum())
        # only class 1 is spoilt: a wrong pixel is class 1 in the truth or in the coarse mask
        assert bool(((truth[wrong] == 1) | (current[wrong] == 1)).all())
        assert set(np.unique(current)) <= {0, 1, 2}
    assert 0 < errors < 0.25 * 20 * truth.size  # it spoils, and most of every crop stays right
    same = [coarse_mask(truth, 1, 4.0, np.random.default_rng(3)) for _ in range(2)]
    assert np.array_equal(*same)  # repeatable for a seed


def test_a_coarse_mask_keeps_the_truth_outside_the_valid_pixels() -> None:
    truth = _disk_truth()
    valid = np.zeros(truth.shape, bool)
    valid[:, :80] = True
    for seed in range(10):
        current = coarse_mask(truth, 1, 4.0, np.random.default_rng(seed), valid)
        assert np.array_equal(current[:, 80:], truth[:, 80:])


def test_the_focus_scale_is_the_zoom_times_the_model_scale_at_most_full_size() -> None:
    assert focus_scale(0.125, 4.0) == 0.5
    assert focus_scale(0.4, 4.0) == 1.0


def test_focus_samples_are_input_sized_crops_on_a_class_outline(carvana_dir: Path) -> None:
    layout = detect_layout(carvana_dir)
    examples = examples_from_layout(layout, layout.pairs()[0])
    source = FocusSource(examples, (64, 96), 2, 0.05, 4.0, Normalization())
    rng = np.random.default_rng(0)
    samples = source.batch(6, rng)
    assert len(samples) == 6
    for s in samples:
        assert s.image.shape == (64, 96, 3) and s.truth.shape == s.current.shape == s.weight.shape == (64, 96)
        assert s.cls == 1
        inside = s.truth == 1
        assert inside.any() and (~inside).any()  # the crop holds the outline
    x, y, w = source.tensors(samples)
    assert x.shape == (6, 3, 64, 96) and x.dtype == torch.float32
    assert y.shape == (6, 64, 96) and y.dtype == torch.int64 and w.shape == (6, 64, 96)
    assert source.framing.scale == pytest.approx(0.2)
    assert source._bytes <= source.cache_bytes


def test_focus_images_past_the_cache_budget_are_decoded_again_not_kept(carvana_dir: Path) -> None:
    layout = detect_layout(carvana_dir)
    examples = examples_from_layout(layout, layout.pairs()[0])
    source = FocusSource(examples, (64, 96), 2, 0.05, 4.0, Normalization(), cache_bytes=0)
    assert len(source.batch(3, np.random.default_rng(0))) == 3
    assert source._bytes == 0 and not source._cache


def test_background_only_images_give_no_focus_sample(tmp_path: Path) -> None:
    from PIL import Image

    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    Image.fromarray(np.full((40, 60, 3), 90, np.uint8)).save(tmp_path / "images" / "a.png")
    Image.fromarray(np.zeros((40, 60), np.uint8)).save(tmp_path / "masks" / "a.png")
    layout = detect_layout(tmp_path)
    source = FocusSource(examples_from_layout(layout, layout.pairs()[0]), (32, 32), 2, 0.25, 4.0, Normalization())
    assert source.sample(np.random.default_rng(0)) is None


def test_started_samples_always_get_clicks_from_their_own_mask() -> None:
    model = UNet(UNetConfig.preset("unet-tiny", 2, guide_channels=5)).train()
    y = torch.zeros(3, 32, 48, dtype=torch.long)
    y[:, 8:24, 12:36] = 1
    x = torch.randn(3, 3, 32, 48)
    start = y[2].numpy().astype(np.uint8).copy()
    start[8:24, 30:36] = 0  # a missed strip: the click must go there
    guides = simulate_guides(model, x, y, ClickPlan(share=1.0, most=1), np.random.default_rng(0),
                             starts={2: (start, 1)}, share=0.0)
    assert guides is not None
    assert float(guides[:2].abs().sum()) == 0.0  # share 0: the others train without clicks
    assert torch.equal(guides[2, 0], torch.from_numpy((start == 1).astype(np.float32)))  # its own mask
    ys, xs = np.nonzero(guides[2, 2].numpy())  # the positive map of class 1
    assert ys.size and 30 <= xs.mean() <= 36  # a positive click in the missed strip


def test_the_guide_encoding_keeps_its_zoom_and_old_checkpoints_have_none() -> None:
    assert GuideEncoding().zoom == 1.0 and "zoom" not in GuideEncoding().to_dict()  # read by older versions as before
    enc = GuideEncoding("disk", zoom=4.0)
    assert enc.to_dict()["zoom"] == 4.0 and GuideEncoding.from_dict(enc.to_dict()) == enc
    assert GuideEncoding.from_dict({"kind": "disk", "radius": 5.0}).zoom == 1.0
    for bad in (0.5, 9.0, float("nan"), True, "4"):
        with pytest.raises(ValueError, match="zoom"):
            GuideEncoding(zoom=bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="zoom"):
        TrainConfig(click_zoom=20.0).validate()


def test_a_focus_window_is_centred_on_the_click_and_stays_inside_the_image() -> None:
    win = focus_window((1280, 1918), Click(600.0, 900.0, True), (160, 256), 0.5)
    assert (win.y1 - win.y0, win.x1 - win.x0) == (320, 512) and win.scale == 0.5
    assert win.y0 == 440 and win.x0 == 644
    corner = focus_window((1280, 1918), Click(5.0, 1910.0, False), (160, 256), 0.5)
    assert corner.y0 == 0 and corner.x1 == 1918 and corner.shape == (320, 512)
    small = focus_window((100, 120), Click(50.0, 60.0, True), (160, 256), 0.5)
    assert small.shape == (100, 120) and small.scale == 0.5


def _zoom_clicker(zoom: float) -> ClickPredictor:
    arch = UNetConfig.preset("unet-tiny", 2, guide_channels=5)
    meta = CheckpointMeta(arch=arch, classes=CARVANA_CLASSES, input_size=(64, 96), scale=0.1,
                          guides=GuideEncoding(zoom=zoom))
    return ClickPredictor(Predictor(UNet(arch), meta, device="cpu"))


def test_a_large_object_is_clicked_through_a_focus_window_a_small_one_whole() -> None:
    mask = np.zeros((640, 960), np.uint8)
    mask[100:540, 100:860] = 1  # a car-sized object: at 4x the model's scale it does not fit the input
    mask[20:40, 20:40] = 1  # and a small one
    clicker = _zoom_clicker(4.0)
    big = clicker.window(mask, 1, [Click(540.0, 400.0, True)])
    assert big.scale == pytest.approx(0.4) and big.shape == (160, 240)
    assert big.y0 <= 540 < big.y1 and big.x0 <= 400 < big.x1
    small = clicker.window(mask, 1, [Click(30.0, 30.0, False)])
    assert small.scale == pytest.approx(0.4) and small.y0 <= 20 and small.y1 >= 40
    empty = np.zeros_like(mask)  # nothing of the class under the window: the object is found at the model's scale
    found = clicker.window(empty, 1, [Click(300.0, 400.0, True)])
    assert found == choose_window(empty, 1, [Click(300.0, 400.0, True)], (64, 96), 0.1)
    plain = _zoom_clicker(1.0).window(mask, 1, [Click(540.0, 400.0, True)])  # a model without focus: as before
    assert plain == choose_window(mask, 1, [Click(540.0, 400.0, True)], (64, 96), 0.1)


def test_training_with_clicks_learns_focus_windows_unless_told_not_to(carvana_dir: Path, tmp_path: Path) -> None:
    layout = detect_layout(carvana_dir)
    examples = examples_from_layout(layout, layout.pairs()[0])
    seen: list[int] = []
    original = FocusSource.batch

    def counting(self: FocusSource, n: int, rng: np.random.Generator) -> list:
        out = original(self, n, rng)
        seen.append(len(out))
        return out

    from unet_core.training import trainer

    made: list[torch.Tensor] = []  # the focus images handed to the batch
    checked: list[int] = []
    tensors, simulate = FocusSource.tensors, trainer.simulate_guides

    def keeping(self: FocusSource, samples: list) -> tuple:
        out = tensors(self, samples)
        made.append(out[0])
        return out

    def checking(model, x, y, plan, rng, amp=None, weight=None, starts=None, share=None):  # type: ignore[no-untyped-def]
        if starts:  # the batch's last rows are the focus samples, each starting from its own spoilt mask
            rows = sorted(starts)
            assert rows == list(range(x.shape[0] - len(rows), x.shape[0]))
            assert torch.allclose(x[rows].float().cpu(), made[-1])
            assert all(m.shape == tuple(y.shape[1:]) and c == 1 for m, c in starts.values())
            assert share is not None and 0.0 <= share <= 1.0
            checked.append(len(rows))
        return simulate(model, x, y, plan, rng, amp, weight, starts, share)

    FocusSource.batch = counting  # type: ignore[method-assign]
    FocusSource.tensors = keeping  # type: ignore[method-assign]
    trainer.simulate_guides = checking  # type: ignore[assignment]
    try:
        out = tmp_path / "z.safetensors"
        cfg = TrainConfig(arch="unet-tiny", size_hw=(64, 96), epochs=2, device="cpu", clicks=1.0)
        train(examples[:4], examples[4:6], layout.classes, cfg, out, dataset_kind=layout.kind)
        meta = read_metadata(out)
        assert meta.guides is not None and meta.guides.zoom == 4.0 and meta.training["focus_share"] == 0.5
        assert sum(seen) > 0 and sum(checked) == sum(seen)  # every focus sample drawn went into a batch
        seen.clear()
        flat = tmp_path / "flat.safetensors"
        train(examples[:4], examples[4:6], layout.classes, TrainConfig(**{**cfg.__dict__, "click_zoom": 1.0}), flat,
              dataset_kind=layout.kind)
        meta = read_metadata(flat)
        assert meta.guides is not None and meta.guides.zoom == 1.0 and "focus_share" not in meta.training
        assert not seen
    finally:
        FocusSource.batch = original  # type: ignore[method-assign]
        FocusSource.tensors = tensors  # type: ignore[method-assign]
        trainer.simulate_guides = simulate  # type: ignore[assignment]


def test_epochs_before_clicks_began_do_not_compete_for_the_best_model(carvana_dir: Path, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from unet_core.training import trainer

    layout = detect_layout(carvana_dir)
    examples = examples_from_layout(layout, layout.pairs()[0])
    scores = iter([0.9, 0.5, 0.4, 0.3])  # the automatic model's best epoch comes before clicks begin
    real = trainer._Run.evaluate

    def falling(self: trainer._Run) -> tuple:
        _dice, metrics = real(self)
        return next(scores), metrics

    monkeypatch.setattr(trainer._Run, "evaluate", falling)
    out = tmp_path / "i.safetensors"
    cfg = TrainConfig(arch="unet-tiny", size_hw=(64, 96), epochs=4, device="cpu", clicks=0.5)  # clicks from epoch 2
    result = train(examples[:4], examples[4:6], layout.classes, cfg, out, dataset_kind=layout.kind)
    meta = read_metadata(out)
    assert meta.training["clicks_from"] == 0.25
    assert meta.training["epochs"] == 2 and result.best_val_dice == 0.5  # the first epoch that learnt clicks
    plain = tmp_path / "a.safetensors"  # an automatic run keeps its best epoch, as before
    scores = iter([0.9, 0.5, 0.4, 0.3])
    train(examples[:4], examples[4:6], layout.classes, TrainConfig(**{**cfg.__dict__, "clicks": 0.0}), plain,
          dataset_kind=layout.kind)
    assert read_metadata(plain).training["epochs"] == 1


def test_a_run_from_scratch_ramps_its_clicks_up_a_fine_tune_clicks_at_once() -> None:
    scratch = ClickPlan(0.5, start=0.25)
    assert scratch.share_at(0.2) == 0.0
    assert scratch.share_at(0.25) == pytest.approx(0.05)
    assert 0.05 < scratch.share_at(0.3) < 0.5
    assert scratch.share_at(0.5) == scratch.share_at(1.0) == 0.5
    assert ClickPlan(0.5, start=0.0).share_at(0.0) == 0.5


def test_a_run_resumed_just_before_clicks_began_still_keeps_the_first_clicked_epoch(
        carvana_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    from unet_core.training import trainer
    from unet_core.training.types import Callback

    layout = detect_layout(carvana_dir)
    examples = examples_from_layout(layout, layout.pairs()[0])
    scores = iter([0.9, 0.5, 0.4, 0.3])
    real = trainer._Run.evaluate
    monkeypatch.setattr(trainer._Run, "evaluate", lambda self: (next(scores), real(self)[1]))
    stop = threading.Event()

    class StopAfterFirst(Callback):
        def on_epoch(self, info) -> None:  # type: ignore[no-untyped-def]
            stop.set()

    out = tmp_path / "r.safetensors"
    cfg = TrainConfig(arch="unet-tiny", size_hw=(64, 96), epochs=4, device="cpu", clicks=0.5)
    train(examples[:4], examples[4:6], layout.classes, cfg, out, callbacks=[StopAfterFirst()], stop=stop,
          dataset_kind=layout.kind)
    assert read_metadata(out).training["epochs"] == 1  # stopped in epoch 2, which learnt clicks but was not scored
    train(examples[:4], examples[4:6], layout.classes, cfg, out, resume=True, dataset_kind=layout.kind)
    assert read_metadata(out).training["epochs"] == 2  # resumed: epoch 2 is the first that learnt clicks


def test_a_model_without_a_finer_view_records_no_zoom_and_learns_no_focus_windows(carvana_dir: Path,
                                                                                   tmp_path: Path) -> None:
    from unet_core.clicks.focus import zooms

    assert zooms(0.125, 4.0) and zooms(0.4, 4.0)
    assert not zooms(1.0, 4.0) and not zooms(1.5, 4.0) and not zooms(None, 4.0) and not zooms(0.125, 1.0)
    assert focus_scale(1.5, 4.0) == 1.5  # never coarser than the model's own view
    layout = detect_layout(carvana_dir)
    examples = examples_from_layout(layout, layout.pairs()[0])
    out = tmp_path / "s1.safetensors"
    cfg = TrainConfig(arch="unet-tiny", size_hw=(64, 96), scale=1.0, epochs=1, device="cpu", clicks=1.0)
    train(examples[:4], examples[4:6], layout.classes, cfg, out, dataset_kind=layout.kind)
    meta = read_metadata(out)
    assert meta.guides is not None and meta.guides.zoom == 1.0 and "focus_share" not in meta.training


def test_an_image_that_breaks_while_a_run_trains_is_passed_over(carvana_dir: Path, tmp_path: Path) -> None:
    import shutil

    data = tmp_path / "data"
    shutil.copytree(carvana_dir, data)
    layout = detect_layout(data)
    examples = examples_from_layout(layout, layout.pairs()[0])[:2]
    source = FocusSource(examples, (64, 96), 2, 0.05, 4.0, Normalization(), cache_bytes=0)
    assert len(source.batch(2, np.random.default_rng(0))) == 2
    examples[0].mask_path.write_bytes(b"")  # emptied while the run trains
    samples = source.batch(6, np.random.default_rng(1))
    assert len(samples) == 6 and source._live == [1]
    examples[1].image_path.unlink()
    assert source.batch(3, np.random.default_rng(2)) == [] and source._live == []
