"""The click tool on the canvas with real mouse events: left adds, right removes, one undo step per object."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PySide6.QtCore import Qt

from tests.gui.test_canvas_smart_tools import H, W, click, settle, vpos
from tests.gui.test_canvas_smart_tools import canvas as smart_canvas  # noqa: F401 (a fixture)
from unet_core.clicks.predict import ClickPredictor, ClickResult, Window
from unet_core.data.classes import ClassTable
from unet_core.data.guides import Click
from unet_core.model.checkpoint import CheckpointMeta
from unet_core.model.predictor import Predictor
from unet_core.model.unet import UNet, UNetConfig


class DiskClicker(ClickPredictor):
    """Stands in for the interactive model: a positive click gives the class to the true object under it
    within ``radius``, a negative click takes it away there (what the canvas does with it is tested; the
    canvas's job, :meth:`ClickPredictor.selection`, is the core's own)."""

    def __init__(self, truth: np.ndarray, radius: int = 12) -> None:  # no model: run() is replaced
        self.truth, self.radius = truth, radius
        self.calls: list[tuple[int, list[Click]]] = []

    def run(self, image: np.ndarray, mask: np.ndarray, cls: int, clicks: list[Click]) -> ClickResult:  # type: ignore[override]
        self.calls.append((cls, list(clicks)))
        h, w = mask.shape
        yy, xx = np.mgrid[0:h, 0:w]
        labels = mask.copy()
        for c in clicks:
            near = (yy - c.y) ** 2 + (xx - c.x) ** 2 <= self.radius**2
            if c.positive:
                labels[near & (self.truth == cls)] = cls
            else:
                labels[near & (labels == cls)] = 0
        return ClickResult(Window(0, 0, h, w, 1.0), labels)


@pytest.fixture
def canvas(smart_canvas):  # type: ignore[no-untyped-def]  # noqa: F811 (the imported fixture)
    """The smart tools' canvas (a disc of class 1, a box of class 2) with the click tool chosen."""
    view, mask, truth = smart_canvas
    view.set_tool("click")
    return view, mask, truth


def right_click(qtbot, view, x, y) -> None:  # type: ignore[no-untyped-def]
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.RightButton, Qt.KeyboardModifier.NoModifier, vpos(view, x, y))


def test_clicks_on_one_object_are_one_undo_step_and_right_clicks_remove(canvas, qtbot) -> None:  # type: ignore[no-untyped-def]
    view, mask, truth = canvas
    mask[5:15, 5:15] = 1  # a false blob of class 1
    view.refresh_overlay()
    before = mask.copy()
    clicker = DiskClicker(truth)
    view.set_clicker(clicker)
    click(qtbot, view, 55, 60)
    settle(qtbot, view)
    click(qtbot, view, 40, 45)
    settle(qtbot, view)
    right_click(qtbot, view, 9, 9)
    settle(qtbot, view)
    assert [len(c) for _, c in clicker.calls] == [1, 2, 3]  # each run sees all of the object's clicks
    assert [c.positive for c in clicker.calls[-1][1]] == [True, True, False]
    assert (mask[5:15, 5:15][truth[5:15, 5:15] == 0] == 0).all()  # the right click removed the blob
    near = truth[55:66, 50:61] == 1  # around the first click (x 55, y 60)
    assert near.sum() > 50 and (mask[55:66, 50:61][near] == 1).all()
    marks = view._smart.clicks.marks
    assert marks.isVisible() and len(view._smart.clicks.clicks) == 3
    assert view.undo_stack().count() == 1  # one object: one step
    view.undo_stack().undo()
    assert np.array_equal(mask, before) and not view._smart.clicks.clicks  # the undo ended the group


def test_enter_or_another_class_starts_a_new_object(canvas, qtbot) -> None:  # type: ignore[no-untyped-def]
    view, mask, truth = canvas
    view.set_clicker(DiskClicker(truth))
    click(qtbot, view, 55, 60)
    settle(qtbot, view)
    qtbot.keyClick(view, Qt.Key.Key_Return)
    assert not view._smart.clicks.marks.isVisible()
    click(qtbot, view, 45, 50)
    settle(qtbot, view)
    view.set_active_class(2)
    click(qtbot, view, 120, 60)
    settle(qtbot, view)
    assert view.undo_stack().count() == 3
    assert (mask[55:66, 115:126] == 2).all()


def test_without_an_interactive_model_a_click_says_how_to_get_one(canvas, qtbot) -> None:  # type: ignore[no-untyped-def]
    view, mask, _truth = canvas
    hints: list[str] = []
    view.hintChanged.connect(hints.append)
    click(qtbot, view, 55, 60)
    settle(qtbot, view)
    assert "interactive model" in hints[-1] and view.undo_stack().count() == 0 and not mask.any()


def test_the_real_interactive_model_runs_on_an_rgba_image(canvas, qtbot) -> None:  # type: ignore[no-untyped-def]
    view, mask, _truth = canvas
    torch.manual_seed(0)
    arch = UNetConfig.preset("unet-tiny", 4, guide_channels=9)
    classes = ClassTable.from_dict({"names": ["ground", "disc", "box", "other"]})
    meta = CheckpointMeta(arch=arch, classes=classes, input_size=(64, 96), scale=0.5)
    clicker = ClickPredictor(Predictor(UNet(arch).eval(), meta, device="cpu"))
    view.set_clicker(clicker)
    image = view.image_array()
    assert image is not None
    rgba = np.dstack([image, np.full((H, W), 255, np.uint8)])
    view.set_image(rgba)
    view.set_mask(mask)
    view.set_tool("click")
    hints: list[str] = []
    view.hintChanged.connect(hints.append)
    click(qtbot, view, 55, 60)
    settle(qtbot, view)
    assert not any(h.startswith("failed") for h in hints), hints
    expected = clicker.selection(rgba, np.zeros_like(mask), 1, [Click(60.0, 55.0, True)])
    if expected is None:  # an untrained model may change nothing: then nothing was pushed
        assert view.undo_stack().count() == 0 and not mask.any()
    else:
        assert view.undo_stack().count() == 1 and np.array_equal(mask, expected.full(mask.shape) * 1)


def test_a_click_made_while_the_model_runs_is_run_with_the_groups_other_clicks(canvas, qtbot) -> None:  # type: ignore[no-untyped-def]
    view, _mask, truth = canvas
    clicker = DiskClicker(truth)
    view.set_clicker(clicker)
    click(qtbot, view, 55, 60)  # its job waits for the event loop
    click(qtbot, view, 40, 45)
    assert view._smart.clicks.job.busy
    settle(qtbot, view)
    assert [len(c) for _, c in clicker.calls] == [1, 2]  # the second run has both clicks
    assert view.undo_stack().count() == 1


def test_enter_while_the_model_runs_keeps_the_result_and_an_edit_meanwhile_drops_it(canvas, qtbot) -> None:  # type: ignore[no-untyped-def]
    view, mask, truth = canvas
    view.set_clicker(DiskClicker(truth))
    click(qtbot, view, 55, 60)
    qtbot.keyClick(view, Qt.Key.Key_Return)  # the object is done before its result came
    settle(qtbot, view)
    assert mask[60, 55] == 1 and view.undo_stack().count() == 1
    view.undo_stack().undo()
    assert not mask.any()
    click(qtbot, view, 55, 60)  # the same object again...
    view.set_active_class(2)
    view._editor.begin_stroke("brush", 5, 5)  # ...but another edit lands before its result: made for other
    view._editor.end_stroke()  # pixels, so it is dropped
    settle(qtbot, view)
    assert mask[60, 55] == 0 and (mask == 2).any() and not view._smart.clicks.clicks
    assert view.undo_stack().count() == 1 and view.undo_stack().text(0) == "Brush stroke"


def test_the_background_class_takes_no_clicks(canvas, qtbot) -> None:  # type: ignore[no-untyped-def]
    view, _mask, truth = canvas
    clicker = DiskClicker(truth)
    view.set_clicker(clicker)
    view.set_active_class(0)
    hints: list[str] = []
    view.hintChanged.connect(hints.append)
    click(qtbot, view, 55, 60)
    settle(qtbot, view)
    assert "background" in hints[-1] and not clicker.calls and view.undo_stack().count() == 0
