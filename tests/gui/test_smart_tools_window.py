"""The smart tools in the real window: keys, buttons, hints, the model's probabilities, snapping and scissors on a car."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication, QToolBar, QToolButton

from tests.gui.app_helpers import (
    activate,
    image_to_viewport,
    make_window,
    paint_stroke,
    wait_for,
    window_with_model,
)

pytestmark = pytest.mark.slow

KEYS = {"wand": Qt.Key.Key_W, "snap": Qt.Key.Key_S, "region": Qt.Key.Key_F, "scissors": Qt.Key.Key_I,
        "superpixel": Qt.Key.Key_X, "cleanup": Qt.Key.Key_K, "refine": Qt.Key.Key_J,
        "edge": Qt.Key.Key_T, "click": Qt.Key.Key_U}


def settle(qtbot, w) -> None:  # type: ignore[no-untyped-def]
    smart = w.canvas._smart
    wait_for(qtbot, lambda: not smart.busy, 15000)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max(1, (a | b).sum()))


def test_every_smart_tool_has_a_key_a_button_and_a_hint(qtbot, folder: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    w = make_window(qtbot, tmp_path)
    assert w.open_folder(folder)
    wait_for(qtbot, lambda: w.ws.loaded is not None)
    activate(qtbot, w)
    palette = w.findChild(QToolBar, "toolbar_tools")
    for name, key in KEYS.items():
        qtbot.keyClick(w.canvas, key)
        assert w.canvas.tool() == name, f"{key} did not choose {name}"
        action = w.actions_by_name[f"tool_{name}"]
        assert action.isChecked() and not action.icon().isNull()
        assert f"({action.shortcut().toString()})" in action.toolTip()
        button = palette.widgetForAction(action)
        assert isinstance(button, QToolButton) and button.isVisible()
        assert w.status.hint.text().split(":")[0].lower().split()[0] in {
            "wand", "snapping", "region", "scissors", "superpixel", "cleanup", "refine", "edge-aware", "clicks"}
        settle(qtbot, w)
        qtbot.keyClick(w.canvas, Qt.Key.Key_Escape)
    for key, name in ((Qt.Key.Key_B, "brush"), (Qt.Key.Key_E, "eraser"), (Qt.Key.Key_G, "fill"),
                      (Qt.Key.Key_P, "polygon"), (Qt.Key.Key_V, "revert")):
        qtbot.keyClick(w.canvas, key)
        assert w.canvas.tool() == name  # the existing keys still choose their tools
    shortcuts = [s.toString() for a in w.actions() for s in a.shortcuts() if s.toString()]
    assert len(shortcuts) == len(set(shortcuts)), "two actions share a shortcut"
    assert w.grab().save(str(tmp_path / "tools.png"))
    w.files.setFocus()  # a file picked in the list: the tool chosen next takes the keys (Enter applies its preview)
    w.actions_by_name["tool_refine"].trigger()
    assert w.canvas.hasFocus() or QApplication.focusWidget() is w.canvas
    w.close()


def test_snap_stroke_and_scissors_follow_the_car_and_undo_exactly(qtbot, folder: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    w = make_window(qtbot, tmp_path)
    assert w.open_folder(folder)
    wait_for(qtbot, lambda: w.ws.loaded is not None)
    truth = w.ws.loaded.original_mask == 1
    mask = w.ws.working_mask()
    w.canvas.replace_mask_pixels(np.zeros_like(mask), "clear")
    cleared = mask.copy()
    w.select_class(1)
    ys, xs = np.nonzero(truth)
    cy, cx = int(ys.mean()), int(xs.mean())
    activate(qtbot, w)
    qtbot.keyClick(w.canvas, Qt.Key.Key_S)
    w.canvas.set_brush_radius(4)
    paint_stroke(qtbot, w, [(cx - 30, cy), (cx, cy - 8), (cx + 30, cy), (cx, cy + 8)])
    settle(qtbot, w)
    assert iou(mask == 1, truth) > 0.8, "the snapping stroke did not find the car"
    stack = w.undo_group.activeStack()
    assert stack.count() == 2
    qtbot.keyClick(w.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert np.array_equal(mask, cleared)

    qtbot.keyClick(w.canvas, Qt.Key.Key_I)  # scissors around the car's box, corners a little off it
    x0, x1, y0, y1 = xs.min() - 4, xs.max() + 4, ys.min() - 4, ys.max() + 4
    vp = w.canvas.viewport()
    for x, y in [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]:
        qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, pos=image_to_viewport(w, x, y))
        qtbot.mouseMove(vp, image_to_viewport(w, x, y) + QPoint(2, 2))
    settle(qtbot, w)
    qtbot.keyClick(w.canvas, Qt.Key.Key_Return)
    settle(qtbot, w)
    assert (mask == 1).sum() >= truth.sum() * 0.9 and stack.count() == 2
    qtbot.keyClick(w.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert np.array_equal(mask, cleared)
    w.close()


def test_the_models_probabilities_reach_the_tools(qtbot, folder: Path, tiny_model: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    w = window_with_model(qtbot, tmp_path, folder, tiny_model)
    row = w.ws.current
    wait_for(qtbot, lambda: w.ws.model.probabilities(row) is not None)
    wait_for(qtbot, lambda: w.canvas.probabilities() is not None)
    probs = w.canvas.probabilities()
    h, wd = w.ws.loaded.image.shape[:2]
    assert probs.size_hw == (h, wd) and probs.num_classes == 2
    mask = w.ws.working_mask()
    ys, xs = np.nonzero(mask == 1)
    assert ys.size
    before = mask.copy()
    activate(qtbot, w)
    qtbot.keyClick(w.canvas, Qt.Key.Key_F)
    vp = w.canvas.viewport()
    y, x = int(ys[ys.size // 2]), int(xs[ys.size // 2])
    qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier, image_to_viewport(w, x, y))
    settle(qtbot, w)
    assert mask[y, x] == 0, "Shift+click did not switch the car blob to the model's second choice"
    assert w.undo_group.activeStack().count() == 1
    qtbot.keyClick(w.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert np.array_equal(mask, before)
    w.ws.model._probs.clear()  # as after a restart: the store's prediction has labels, no probabilities
    w.canvas.set_probabilities(None)
    qtbot.keyClick(w.canvas, Qt.Key.Key_B)
    assert w.canvas.probabilities() is None
    qtbot.keyClick(w.canvas, Qt.Key.Key_W)  # a tool that reads them: the image is predicted again for them
    wait_for(qtbot, lambda: w.canvas.probabilities() is not None)
    assert np.array_equal(mask, before) and not w.undo_group.canUndo()
    w.show_row(1)  # another image: the canvas drops this one's probabilities until its own arrive
    wait_for(qtbot, lambda: w.ws.current == 1 and w.ws.loaded is not None)
    probs1 = w.canvas.probabilities()
    assert probs1 is None or probs1 is w.ws.model.probabilities(1)
    w.close()


def test_superpixels_come_from_the_background_and_paint_whole_regions(qtbot, folder: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    w = make_window(qtbot, tmp_path)
    assert w.open_folder(folder)
    wait_for(qtbot, lambda: w.ws.loaded is not None)
    ran: list[object] = []
    runner = w.canvas._smart.labels_job.runner
    w.canvas._smart.labels_job.runner = lambda fn, done, err: (ran.append(fn), runner(fn, done, err))
    activate(qtbot, w)
    qtbot.keyClick(w.canvas, Qt.Key.Key_X)
    settle(qtbot, w)
    labels = w.canvas._smart.superpixel_labels()
    assert len(ran) == 1 and labels is not None and labels.shape == w.ws.working_mask().shape
    w.select_class(1)
    mask = w.ws.working_mask()
    before = mask.copy()
    w.canvas.set_brush_radius(1)
    paint_stroke(qtbot, w, [(20, 20), (24, 20)])
    changed = mask != before
    assert changed.any()
    for sp in np.unique(labels[changed]):
        inside = labels == sp
        assert (mask[inside] == 1).all()
    qtbot.keyClick(w.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert np.array_equal(mask, before)
    qtbot.keyClick(w.canvas, Qt.Key.Key_B)
    qtbot.keyClick(w.canvas, Qt.Key.Key_X)
    assert len(ran) == 1, "the same image's superpixels were computed twice"
    w.close()
