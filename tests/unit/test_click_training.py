"""Training with simulated clicks, click-guided prediction and the clicking person, on generated data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from unet_core.clicks.predict import ClickPredictor, ClickResult, Window, changes_near, choose_window
from unet_core.clicks.training import SCRATCH_START, ClickPlan, simulate_guides
from unet_core.data.dataset import examples_from_layout
from unet_core.data.guides import Click
from unet_core.data.io import read_image, read_mask
from unet_core.data.layouts import detect_layout
from unet_core.data.split import split_by_group
from unet_core.model.checkpoint import read_metadata
from unet_core.model.predictor import Predictor
from unet_core.model.unet import UNet, UNetConfig
from unet_core.sim.clicker import click_correct
from unet_core.training.trainer import train
from unet_core.training.types import TrainConfig


def _batch() -> tuple[torch.Tensor, torch.Tensor]:
    y = torch.zeros(4, 32, 48, dtype=torch.long)
    y[:, 8:24, 12:36] = 1
    return torch.randn(4, 3, 32, 48), y


def test_simulated_clicks_fill_the_chosen_samples_and_restore_train_mode() -> None:
    torch.manual_seed(0)
    model = UNet(UNetConfig.preset("unet-tiny", 2, guide_channels=5)).train()
    x, y = _batch()
    guides = simulate_guides(model, x, y, ClickPlan(share=1.0, most=3), np.random.default_rng(0))
    assert guides is not None and guides.shape == (4, 5, 32, 48)
    assert model.training
    clicked = guides[:, 1:].flatten(1).amax(1)
    assert bool((clicked == 1).all())  # every sample got at least one click
    assert set(torch.unique(guides[:, 0]).tolist()) <= {0.0, 1.0}  # the mask channel is a mask
    assert simulate_guides(model, x, y, ClickPlan(share=0.0), np.random.default_rng(0)) is None


def test_half_the_samples_on_average_train_without_clicks() -> None:
    model = UNet(UNetConfig.preset("unet-tiny", 2, guide_channels=5))
    x, y = _batch()
    rng = np.random.default_rng(1)
    empty = 0
    for _ in range(25):
        g = simulate_guides(model, x, y, ClickPlan(share=0.5, most=1), rng)
        empty += 4 if g is None else int((g.flatten(1).amax(1) == 0).sum())
    assert 30 <= empty <= 70  # of 100


@pytest.mark.parametrize("bad", [{"share": 1.5}, {"most": 0}])
def test_bad_click_plans_are_refused(bad: dict) -> None:
    with pytest.raises(ValueError):
        ClickPlan(**bad)
    with pytest.raises(ValueError, match="clicks"):
        TrainConfig(clicks=2.0).validate()
    with pytest.raises(ValueError, match="encoding"):
        TrainConfig(click_encoding="star").validate()


def test_a_new_interactive_model_records_the_chosen_encoding(carvana_dir: Path, tmp_path: Path) -> None:
    layout, tr, va = _split(carvana_dir)
    out = tmp_path / "d.safetensors"
    train(tr, va, layout.classes, TrainConfig(arch="unet-tiny", size_hw=(64, 96), epochs=1, device="cpu", clicks=1.0,
                                              click_encoding="distance"), out, dataset_kind=layout.kind)
    meta = read_metadata(out)
    assert meta.interactive and meta.guides is not None and meta.guides.kind == "distance"


def _split(carvana_dir: Path):
    layout = detect_layout(carvana_dir)
    examples = examples_from_layout(layout, layout.pairs()[0])
    tr, va = split_by_group(examples, [e.group for e in examples], 0.34, seed=0)
    return layout, tr, va


def test_training_with_clicks_writes_an_interactive_checkpoint(tiny_click_model: Path) -> None:
    meta = read_metadata(tiny_click_model)
    assert meta.interactive and meta.training["clicks"] == 0.5
    assert meta.training["best_val_dice"] > 0.6  # the automatic mode still learns


def test_an_automatic_model_becomes_interactive_when_fine_tuned_with_clicks(carvana_dir: Path, tiny_model: Path,
                                                                             tmp_path: Path) -> None:
    layout, tr, va = _split(carvana_dir)
    out = tmp_path / "ft.safetensors"
    train(tr, va, layout.classes, TrainConfig(arch="unet-tiny", epochs=1, device="cpu", clicks=0.5), out,
          init=tiny_model, dataset_kind=layout.kind)
    assert read_metadata(out).interactive
    again = tmp_path / "ft2.safetensors"  # clicks unset: an interactive model keeps training with clicks
    train(tr, va, layout.classes, TrainConfig(arch="unet-tiny", epochs=1, device="cpu"), again, init=out,
          dataset_kind=layout.kind)
    meta = read_metadata(again)
    assert meta.interactive and meta.training["clicks"] == 0.5
    plain = tmp_path / "plain.safetensors"  # and an automatic one stays automatic
    train(tr, va, layout.classes, TrainConfig(arch="unet-tiny", epochs=1, device="cpu"), plain, init=tiny_model,
          dataset_kind=layout.kind)
    assert not read_metadata(plain).interactive


def test_a_click_changes_only_its_window_and_its_class(tiny_click_model: Path, carvana_dir: Path) -> None:
    layout = detect_layout(carvana_dir)
    pair = layout.pairs()[0][0]
    image, truth = read_image(pair.image), read_mask(pair.mask, layout.mask_format)
    predictor = Predictor.from_checkpoint(tiny_click_model, device="cpu")
    clicker = ClickPredictor(predictor)
    mask = np.zeros_like(truth)
    ys, xs = np.nonzero(truth == 1)
    click = Click(float(ys[len(ys) // 2]), float(xs[len(xs) // 2]), True)
    result = clicker.run(image, mask, 1, [click])
    w = result.window
    assert result.labels.shape == w.shape and 0 <= w.y0 < w.y1 <= truth.shape[0] and 0 <= w.x0 < w.x1 <= truth.shape[1]
    before = mask.copy()
    result.apply(mask)
    assert mask[int(click.y), int(click.x)] == 1  # the clicked pixel now holds the class
    outside = np.ones_like(mask, bool)
    outside[w.y0 : w.y1, w.x0 : w.x1] = False
    assert np.array_equal(mask[outside], before[outside])


def test_an_automatic_model_cannot_take_clicks(tiny_model: Path) -> None:
    with pytest.raises(ValueError, match="--clicks"):
        ClickPredictor(Predictor.from_checkpoint(tiny_model, device="cpu"))


def test_windows_hold_the_object_and_stay_inside_the_image() -> None:
    mask = np.zeros((1000, 1500), np.uint8)
    mask[400:500, 600:800] = 1
    w = choose_window(mask, 1, [Click(450, 700, True)], (128, 192), scale=0.5, zoom=1.0)
    assert w.y0 <= 400 and w.y1 >= 500 and w.x0 <= 600 and w.x1 >= 800
    assert w.working()[0] <= 128 and w.working()[1] <= 192 and w.scale == pytest.approx(0.5, rel=0.02)
    whole = choose_window(mask, 1, [Click(10, 10, False)], (128, 192), scale=0.1)
    assert (whole.y0, whole.x0, whole.y1, whole.x1) == (0, 0, 1000, 1500)  # 0.1 x the image fits the input
    with pytest.raises(ValueError, match="no clicks"):
        choose_window(mask, 1, [], (128, 192), 0.5)


class _Oracle:
    """A clicker that paints the truth in a disk around each click (the person's loop, not the model, is tested)."""

    def __init__(self, truth: np.ndarray, radius: int = 12) -> None:
        self.truth, self.radius = truth, radius

    def run(self, image: np.ndarray, mask: np.ndarray, cls: int, clicks: list[Click]) -> ClickResult:
        h, w = mask.shape
        yy, xx = np.mgrid[0:h, 0:w]
        labels = mask.copy()
        for c in clicks:
            near = (yy - c.y) ** 2 + (xx - c.x) ** 2 <= self.radius**2
            labels[near] = self.truth[near]
        return ClickResult(Window(0, 0, h, w, 1.0), labels)


def test_the_clicking_person_stops_at_the_target_and_traces_every_click() -> None:
    truth = np.zeros((60, 80), np.uint8)
    truth[10:40, 20:60] = 1
    truth[45:55, 5:25] = 2
    run = click_correct(_Oracle(truth), np.zeros((60, 80, 3), np.uint8), np.zeros_like(truth), truth, 3,  # type: ignore[arg-type]
                        target=0.95, most=30)
    dice = [d for _, _, d in run.trace]
    assert run.trace[0] == (0, 0.0, dice[0]) and dice[-1] >= 0.95 and all(d < 0.95 for d in dice[:-1])
    assert run.clicks == len(run.trace) - 1 and run.switches >= 1  # both classes needed clicks
    assert run.seconds == pytest.approx(1.5 * run.clicks + 0.5 * run.switches)
    capped = click_correct(_Oracle(truth, 2), np.zeros((60, 80, 3), np.uint8), np.zeros_like(truth), truth, 3,  # type: ignore[arg-type]
                           target=0.99, most=3)
    assert capped.clicks == 3 and capped.trace[-1][2] < 0.99


def test_the_person_stops_clicking_when_clicks_stop_helping_and_the_smart_tools_finish() -> None:
    from unet_core.sim.effort import click_then_smart
    from unet_core.sim.smart import SmartConfig

    truth = np.zeros((60, 80), np.uint8)
    truth[5:55, 5:75] = 1  # 3,500 pixels: one more pixel is worth < 0.001 Dice
    image = np.zeros((60, 80, 3), np.uint8)
    image[truth == 1] = (200, 60, 60)
    useless = _Oracle(truth, radius=0)  # a click fixes its own pixel only
    run = click_correct(useless, image, np.zeros_like(truth), truth, 2, target=0.99, most=20, stall=0.002)  # type: ignore[arg-type]
    assert run.clicks == 2  # two clicks that gained almost nothing: the person stops
    effort = click_then_smart("x", np.zeros_like(truth), truth, 2, image, None, SmartConfig(), useless)  # type: ignore[arg-type]
    assert effort.counts["click"] == 2 and effort.dice_end >= 0.99 and effort.actions > 2
    assert effort.trace[2][0] == 2 and effort.seconds > run.seconds


def test_simulated_passes_leave_batchnorm_alone_and_unchosen_samples_empty() -> None:
    torch.manual_seed(0)
    model = UNet(UNetConfig.preset("unet-tiny", 2, guide_channels=5)).train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x, y = _batch()
    guides = simulate_guides(model, x, y, ClickPlan(share=0.5, most=3), np.random.default_rng(3))
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # running stats too
    assert guides is not None
    empty = guides.flatten(1).amax(1) == 0
    assert 0 < int(empty.sum()) < 4  # with this seed: some samples chosen, some not


def test_clicks_stay_inside_the_image_not_in_a_crops_padding() -> None:
    model = UNet(UNetConfig.preset("unet-tiny", 2, guide_channels=5))
    x, y = _batch()
    y[:, :, 36:] = 1  # the true class fills the padding on the right...
    weight = torch.ones(4, 32, 48)
    weight[:, :, 36:] = 0  # ...which is not part of the image
    for seed in range(5):
        g = simulate_guides(model, x, y, ClickPlan(share=1.0, most=3), np.random.default_rng(seed), weight=weight)
        assert g is not None
        assert float(g[:, :, :, 36:].abs().sum()) == 0.0  # no click there, an empty mask channel there


def test_a_click_fixes_the_object_it_is_on_not_another_of_its_class(tiny_click_model: Path, carvana_dir: Path) -> None:
    layout = detect_layout(carvana_dir)
    pair = layout.pairs()[0][0]
    image, truth = read_image(pair.image), read_mask(pair.mask, layout.mask_format)
    clicker = ClickPredictor(Predictor.from_checkpoint(tiny_click_model, device="cpu"))
    mask = np.zeros_like(truth)
    mask[2:8, 2:8] = 1  # a false blob in a corner, far from the car and not clicked
    ys, xs = np.nonzero(truth == 1)
    result = clicker.run(image, mask, 1, [Click(float(ys[len(ys) // 2]), float(xs[len(ys) // 2]), True)])
    out = mask.copy()
    result.apply(out)
    assert (out[2:8, 2:8] == 1).all()  # the other object is left as it was
    with pytest.raises(ValueError, match="object class"):
        clicker.run(image, mask, 0, [Click(3.0, 3.0, True)])


def test_resuming_a_run_that_made_an_automatic_model_interactive_keeps_its_clicks(carvana_dir: Path, tiny_model: Path,
                                                                                   tmp_path: Path) -> None:
    from unet_core.training.resume import last_path_for

    layout, tr, va = _split(carvana_dir)
    out = tmp_path / "r.safetensors"
    cfg = TrainConfig(arch="unet-tiny", epochs=1, device="cpu", clicks=0.5, click_encoding="distance")
    train(tr, va, layout.classes, cfg, out, init=tiny_model, dataset_kind=layout.kind)
    assert last_path_for(out).is_file()
    again = TrainConfig(arch="unet-tiny", epochs=2, device="cpu")  # neither --clicks nor the encoding given
    train(tr, va, layout.classes, again, out, init=tiny_model, resume=True, dataset_kind=layout.kind)
    meta = read_metadata(out)
    assert meta.interactive and meta.guides is not None and meta.guides.kind == "distance"


def test_clicks_start_at_their_share_of_the_run() -> None:
    plan = ClickPlan(share=0.5, start=0.5)
    assert not plan.active(0.0) and not plan.active(0.49) and plan.active(0.5) and plan.active(0.99)
    assert ClickPlan(share=0.5).active(0.0) and not ClickPlan(share=0.0).active(0.7)
    with pytest.raises(ValueError, match="start"):
        ClickPlan(start=1.0)


def test_the_checkpoint_says_when_clicks_began(tiny_click_model: Path, carvana_dir: Path, tmp_path: Path) -> None:
    assert read_metadata(tiny_click_model).training["clicks_from"] == SCRATCH_START  # from scratch
    layout, tr, va = _split(carvana_dir)
    out = tmp_path / "f.safetensors"
    train(tr, va, layout.classes, TrainConfig(arch="unet-tiny", epochs=1, device="cpu"), out, init=tiny_click_model,
          dataset_kind=layout.kind)
    assert read_metadata(out).training["clicks_from"] == 0.0  # a fine-tune: from the first step


def test_a_click_keeps_only_the_changes_it_touches() -> None:
    region = np.zeros((40, 60), np.uint8)
    region[10:30, 10:50] = 1
    labels = region.copy()
    labels[10:30, 50:54] = 1  # the model also grows the right edge ...
    labels[30:33, 10:20] = 1  # ... and the bottom edge, far from the click
    labels[5:8, 40:44] = 2  # and flips a speck of another class near nothing
    out = changes_near(labels, region, [(20, 52)], reach=2.0)
    assert (out[10:30, 50:54] == 1).all()  # the part the click is on is kept
    assert np.array_equal(out[30:, :], region[30:, :]) and np.array_equal(out[:10, :], region[:10, :])
    assert np.array_equal(changes_near(region, region, [(20, 52)], 2.0), region)  # nothing changed: nothing moves
    near = changes_near(labels, region, [(20, 57)], reach=4.0)  # a click beside a change reaches it
    assert (near[10:30, 50:54] == 1).all()
    assert np.array_equal(changes_near(labels, region, [(20, 59)], reach=1.0), region)  # too far: nothing
