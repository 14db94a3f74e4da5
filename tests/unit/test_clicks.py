"""Clicks: guide maps, the click simulator, the UNet's guide channels and interactive checkpoints."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from unet_core.clicks.simulator import next_click, pick_class
from unet_core.data.classes import CARVANA_CLASSES
from unet_core.data.guides import Click, GuideEncoding, guide_maps
from unet_core.errors import CheckpointError
from unet_core.model.checkpoint import CheckpointMeta, load_checkpoint, read_metadata, save_checkpoint
from unet_core.model.unet import UNet, UNetConfig, with_guide_channels


def _square(h: int = 40, w: int = 60) -> np.ndarray:
    truth = np.zeros((h, w), np.uint8)
    truth[10:30, 20:44] = 1
    return truth


# -- guide maps --------------------------------------------------------------------------------------------------
def test_disk_maps_put_mask_positive_and_negative_clicks_in_their_channels() -> None:
    mask = _square() == 1
    g = guide_maps((40, 60), [Click(20, 30, True), Click(5, 5, False)], mask, GuideEncoding("disk", 3), 1, 3)
    assert g.shape == (7, 40, 60) and g.dtype == np.float32  # mask, 3 positive maps, 3 negative maps
    assert np.array_equal(g[0], mask.astype(np.float32))
    pos, neg = g[1 + 1], g[1 + 3 + 1]  # class 1's maps
    assert pos[20, 30] == 1 and pos[20, 33] == 1 and pos[20, 34] == 0  # radius 3
    assert neg[5, 5] == 1 and pos[5, 5] == 0
    assert pos.sum() == pytest.approx(29)  # the 29 pixel centres within 3 px
    assert g[[1, 3, 4, 6]].sum() == 0  # the other classes' maps stay empty
    other = guide_maps((40, 60), [Click(20, 30, True)], None, GuideEncoding("disk", 3), 2, 3)
    assert other[1 + 2].sum() == pytest.approx(29) and other[1 + 1].sum() == 0  # a click says its class


def test_distance_maps_fall_from_the_click_to_zero_at_four_radii() -> None:
    g = guide_maps((40, 60), [Click(20, 30, True)], None, GuideEncoding("distance", 2), 1, 2)
    assert g[2, 20, 30] == 1.0
    assert g[2, 20, 34] == pytest.approx(0.5)
    assert g[2, 20, 38] == 0.0 and g[0].sum() == 0 and g[4].sum() == 0


def test_clicks_outside_the_frame_draw_nothing_and_overlaps_keep_the_larger_value() -> None:
    g = guide_maps((10, 10), [Click(-50, 4, True), Click(4, 4, True), Click(4, 5, True)], None,
                   GuideEncoding("distance", 2), 1, 2)
    assert g[2].max() == 1.0 and g[2, 4, 4] == 1.0 and g[2, 4, 5] == 1.0


@pytest.mark.parametrize("bad", [{"kind": "gauss"}, {"radius": 0}, {"radius": 1e9}, {"radius": "x"}])
def test_bad_encodings_are_refused_with_a_message(bad: dict) -> None:
    with pytest.raises(ValueError, match="click"):
        GuideEncoding.from_dict(bad)


def test_a_mask_of_another_size_is_refused() -> None:
    with pytest.raises(ValueError, match="mask"):
        guide_maps((10, 10), [], np.zeros((5, 5), bool), GuideEncoding(), 1, 2)
    with pytest.raises(ValueError, match="class"):
        guide_maps((10, 10), [], None, GuideEncoding(), 2, 2)


# -- the click simulator -----------------------------------------------------------------------------------------
def test_a_missed_object_gets_a_positive_click_at_its_centre() -> None:
    truth = _square()
    click = next_click(truth, np.zeros_like(truth), 1)
    assert click is not None and click.positive
    assert 17 <= click.y <= 22 and 29 <= click.x <= 34  # deepest: the middle of the 20 x 24 square


def test_a_false_region_deeper_than_the_miss_gets_a_negative_click() -> None:
    truth = _square()
    current = truth.copy()
    current[32:40, 0:60] = 1  # a band wrongly given to the class
    current[10:12, 20:44] = 0  # a thin miss
    click = next_click(truth, current, 1)
    assert click is not None and not click.positive and click.y >= 32


def test_no_click_when_the_class_is_right_and_jitter_stays_inside_the_region() -> None:
    truth = _square()
    assert next_click(truth, truth, 1) is None
    rng = np.random.default_rng(0)
    for _ in range(20):
        c = next_click(truth, np.zeros_like(truth), 1, rng)
        assert c is not None and truth[int(c.y), int(c.x)] == 1 and 14 <= c.y <= 25


def test_the_class_to_fix_is_the_one_at_the_deepest_error() -> None:
    truth = _square()
    truth[0:6, 0:60] = 2  # a thin strip of class 2 missed as well
    current = np.zeros_like(truth)
    assert pick_class(truth, current) == 1
    extra = truth.copy()
    extra[32:40, :] = 2  # class 2 painted over background: fix class 2
    assert pick_class(truth, extra) == 2
    assert pick_class(truth, truth) == 1  # nothing wrong: the deepest non-background class
    assert pick_class(np.zeros_like(truth), np.zeros_like(truth)) is None


def test_shapes_must_match() -> None:
    with pytest.raises(ValueError, match="truth"):
        next_click(np.zeros((4, 4), np.uint8), np.zeros((4, 5), np.uint8), 1)


# -- the model's guide channels ----------------------------------------------------------------------------------
def test_empty_guides_are_the_automatic_prediction_and_guides_change_it() -> None:
    torch.manual_seed(0)
    model = UNet(UNetConfig.preset("unet-tiny", 3, guide_channels=3)).eval()  # any count for the network itself
    x = torch.randn(2, 3, 40, 56)
    with torch.no_grad():
        auto = model(x)
        assert torch.equal(auto, model(x, torch.zeros(2, 3, 40, 56)))
        # a new model's guide weights start at zero: guides change nothing until clicks are trained
        assert torch.allclose(auto, model(x, torch.ones(2, 3, 40, 56)), atol=1e-4)
        first = model.encoder[0][0].weight
        assert float(first[:, 3:].abs().sum()) == 0.0 and float(first[:, :3].std()) > 0.1  # image weights as usual
        first[:, 3:].normal_(0.0, 0.2)  # as training leaves them (guides now add to every sum: float32 rounding
        # differs between the two memory layouts by more than 1e-5 at these logits, so the layouts are compared at 1e-4)
        assert not torch.equal(auto, model(x, torch.ones(2, 3, 40, 56)))
        cl = x.contiguous(memory_format=torch.channels_last)
        assert torch.allclose(model(cl, torch.ones(2, 3, 40, 56)), model(x, torch.ones(2, 3, 40, 56)), atol=1e-4)


def test_guides_of_the_wrong_shape_or_for_an_automatic_model_are_refused() -> None:
    interactive = UNet(UNetConfig.preset("unet-tiny", 2, guide_channels=3))
    with pytest.raises(ValueError, match="guide"):
        interactive(torch.randn(1, 3, 32, 32), torch.zeros(1, 2, 32, 32))
    with pytest.raises(ValueError, match="no interactive mode"):
        UNet(UNetConfig.preset("unet-tiny", 2))(torch.randn(1, 3, 32, 32), torch.zeros(1, 3, 32, 32))
    with pytest.raises(ValueError, match="guide_channels"):
        UNetConfig.preset("unet-tiny", 2, guide_channels=10_000)


def test_an_automatic_model_gains_guide_channels_that_change_nothing_until_trained() -> None:
    torch.manual_seed(0)
    auto = UNet(UNetConfig.preset("unet-tiny", 2)).eval()
    wide = with_guide_channels(auto, 3)
    assert wide.config.guide_channels == 3 and not wide.training
    x = torch.randn(1, 3, 48, 64)
    with torch.no_grad():
        assert torch.allclose(auto(x), wide(x, torch.rand(1, 3, 48, 64)), atol=1e-3)  # the same sums in another order
    assert with_guide_channels(wide, 3) is wide


# -- interactive checkpoints -------------------------------------------------------------------------------------
def _interactive(tmp_path: Path, encoding: GuideEncoding | None = None) -> Path:
    arch = UNetConfig.preset("unet-tiny", 2, guide_channels=5)
    path = tmp_path / "i.safetensors"
    save_checkpoint(path, UNet(arch), CheckpointMeta(arch=arch, classes=CARVANA_CLASSES, input_size=(64, 96),
                                                     scale=0.25, guides=encoding))
    return path


def test_an_interactive_checkpoint_records_its_mode_and_encoding(tmp_path: Path) -> None:
    path = _interactive(tmp_path, GuideEncoding("distance", 4))
    model, meta = load_checkpoint(path)
    assert meta.interactive and model.config.guide_channels == 5
    assert meta.guides == GuideEncoding("distance", 4)
    assert meta.summary()["interactive"] == {"kind": "distance", "radius": 4.0}


def test_an_automatic_checkpoint_stays_automatic(tiny_model: Path) -> None:
    meta = read_metadata(tiny_model)
    assert not meta.interactive and meta.guides is None and meta.summary()["interactive"] is None


def test_a_checkpoint_from_before_clicks_loads(tmp_path: Path, tiny_model: Path) -> None:
    """A file whose architecture has no guide_channels key (every checkpoint written before this mode)."""
    with safe_open(str(tiny_model), framework="pt") as fh:
        meta = dict(fh.metadata())
        tensors = {k: fh.get_tensor(k) for k in fh.keys()}  # noqa: SIM118 (safe_open is not iterable)
    arch = json.loads(meta["arch"])
    arch.pop("guide_channels", None)
    meta["arch"] = json.dumps(arch)
    old = tmp_path / "old.safetensors"
    save_file(tensors, str(old), metadata=meta)
    model, loaded = load_checkpoint(old)
    assert not loaded.interactive and model(torch.zeros(1, 3, 64, 96)).shape == (1, 2, 64, 96)


@pytest.mark.parametrize("change", [{"guide_channels": 2}, {"encoding": {"kind": "beam"}}])
def test_a_checkpoint_with_an_unknown_guide_is_refused(tmp_path: Path, change: dict) -> None:
    path = _interactive(tmp_path)
    with safe_open(str(path), framework="pt") as fh:
        meta = dict(fh.metadata())
        tensors = {k: fh.get_tensor(k) for k in fh.keys()}  # noqa: SIM118 (safe_open is not iterable)
    if "guide_channels" in change:
        arch = json.loads(meta["arch"])
        arch["guide_channels"] = change["guide_channels"]
        meta["arch"] = json.dumps(arch)
    else:
        inp = json.loads(meta["input"])
        inp["guides"] = change["encoding"]
        meta["input"] = json.dumps(inp)
    bad = tmp_path / "bad.safetensors"
    save_file(tensors, str(bad), metadata=meta)
    with pytest.raises(CheckpointError, match=r"guide|click"):
        load_checkpoint(bad)


def test_automatic_checkpoints_stay_readable_by_versions_from_before_clicks(tmp_path: Path, tiny_model: Path) -> None:
    with safe_open(str(tiny_model), framework="pt") as fh:
        meta = fh.metadata()
    assert "guide_channels" not in json.loads(meta["arch"]) and meta["format_version"] == "1"
    with safe_open(str(_interactive(tmp_path)), framework="pt") as fh:
        meta = fh.metadata()
    assert json.loads(meta["arch"])["guide_channels"] == 5 and meta["format_version"] == "2"  # older: "upgrade"


def test_a_huge_or_odd_radius_in_a_file_is_a_clean_error() -> None:
    for bad in (10**400, True, "5", None, float("inf")):
        with pytest.raises(ValueError, match="radius"):
            GuideEncoding(radius=bad)  # type: ignore[arg-type]


def test_merged_patches_undo_to_before_the_first_and_redo_to_after_the_last() -> None:
    from unet_core.edit.patches import PatchRecorder, merge_patches

    mask = np.zeros((20, 30), np.uint8)
    before = mask.copy()
    patches = []
    for (y0, y1, x0, x1, v) in ((2, 6, 3, 9, 1), (4, 12, 7, 20, 2), (15, 18, 25, 29, 3)):  # overlapping, disjoint
        rec = PatchRecorder(mask)
        rec.before_write((x0, y0, x1, y1))
        mask[y0:y1, x0:x1] = v
        patch = rec.finish()
        assert patch is not None
        patches.append(patch)
    merged = patches[0]
    for p in patches[1:]:
        merged = merge_patches(mask, merged, p)
    after = mask.copy()
    merged.undo(mask)
    assert np.array_equal(mask, before)
    merged.redo(mask)
    assert np.array_equal(mask, after)
