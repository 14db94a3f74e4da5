"""Editing aids in the real window: locks and paint over for every tool, typed class numbers, class picker, brightness."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from app.panels.classes_panel import COL_LOCK
from tests.gui.app_helpers import activate, image_to_viewport, make_window, paint_stroke, wait_for

pytestmark = pytest.mark.slow


@pytest.fixture()
def carla_window(qtbot, carla_dir: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    """A window on a private copy of the generated CARLA folder (23 classes), first image shown."""
    data = tmp_path / "carla"
    shutil.copytree(carla_dir, data)
    w = make_window(qtbot, tmp_path)
    assert w.open_folder(data)
    wait_for(qtbot, lambda: w.ws.loaded is not None)
    assert w.ws.classes.num_classes == 23
    activate(qtbot, w)
    yield w
    w.close()


def _halves(w, left: int, right: int) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Set the working mask to ``left`` | ``right`` halves (test set-up, outside the undo stack)."""
    mask = w.ws.working_mask()
    mask[:, : mask.shape[1] // 2] = left
    mask[:, mask.shape[1] // 2 :] = right
    w.canvas.refresh_overlay()
    return mask


def _click_lock(qtbot, w, class_id: int) -> None:  # type: ignore[no-untyped-def]
    tree = w.classes_panel.tree
    item = tree.topLevelItem(class_id)
    tree.scrollToItem(item)
    pos = tree.visualRect(tree.indexFromItem(item, COL_LOCK)).center()
    qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=pos)


def test_a_locked_class_survives_brush_fill_and_polygon_and_undo_restores(qtbot, carla_window) -> None:  # type: ignore[no-untyped-def]
    w = carla_window
    mask = _halves(w, 7, 10)  # road | vehicle
    before = mask.copy()
    _click_lock(qtbot, w, 10)  # a real click on the padlock
    assert w.classes_panel.is_class_locked(10) and w.canvas.locked_classes() == {10}
    qtbot.keyClick(w.canvas, Qt.Key.Key_4)  # pedestrian
    assert w.canvas.active_class() == 4
    w.set_tool("brush")
    w.canvas.set_brush_radius(4)
    paint_stroke(qtbot, w, [(20, 60), (80, 60), (140, 60)])
    changed = mask != before
    assert changed[:, :80].any(), "the stroke painted nothing on the unlocked half"
    assert not changed[:, 80:].any(), "the brush overwrote the locked class"
    assert set(np.unique(mask[:, :80])) == {4, 7}
    assert w.undo_group.activeStack().count() == 1
    w.set_tool("fill")
    qtbot.mouseClick(w.canvas.viewport(), Qt.MouseButton.LeftButton, pos=image_to_viewport(w, 120, 20))
    assert np.array_equal(mask[:, 80:], before[:, 80:]), "fill changed the locked class"
    w.set_tool("polygon")
    vp = w.canvas.viewport()
    for x, y in ((60, 90), (140, 90), (140, 110)):
        qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, pos=image_to_viewport(w, x, y))
    qtbot.keyClick(w.canvas, Qt.Key.Key_Return)
    assert (mask[95:105, 60:80] == 4).any(), "the polygon did not paint the unlocked part"
    assert np.array_equal(mask[:, 80:], before[:, 80:]), "the polygon changed the locked class"
    stack = w.undo_group.activeStack()
    while stack.canUndo():
        qtbot.keyClick(w.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert np.array_equal(mask, before), "undo did not restore the mask exactly"
    qtbot.mouseMove(w.canvas.viewport(), image_to_viewport(w, 120, 40))  # L over the vehicle unlocks it
    qtbot.keyClick(w.canvas, Qt.Key.Key_L)
    assert not w.classes_panel.is_class_locked(10) and w.canvas.locked_classes() == frozenset()


def test_paint_over_background_only_keeps_labels_for_brush_and_eraser(qtbot, carla_window) -> None:  # type: ignore[no-untyped-def]
    w = carla_window
    mask = _halves(w, 0, 7)  # unlabeled | road
    before = mask.copy()
    qtbot.keyClick(w.canvas, Qt.Key.Key_O)  # preserve labels: background only
    assert w.canvas.paint_over() == 0 and w.paint_over_combo.currentData() == 0
    assert w.actions_by_name["paint_background"].isChecked()
    qtbot.keyClick(w.canvas, Qt.Key.Key_5)
    w.set_tool("brush")
    w.canvas.set_brush_radius(5)
    paint_stroke(qtbot, w, [(10, 30), (150, 30)])
    assert (mask[:, :80] == 5).any() and np.array_equal(mask[:, 80:], before[:, 80:])
    w.set_paint_over(7)  # "road only": the eraser clears road and nothing else
    w.set_tool("eraser")
    paint_stroke(qtbot, w, [(100, 80), (150, 80)])
    assert (mask[:, 80:] == 0).any()
    assert set(np.unique(mask[:, :80])) <= {0, 5} and (mask[:, :80] == 5).sum() == (mask == 5).sum()
    qtbot.keyClick(w.canvas, Qt.Key.Key_O)  # back to every class
    assert w.canvas.paint_over() is None and w.paint_over_combo.currentData() == -1
    for _ in range(2):
        qtbot.keyClick(w.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert np.array_equal(mask, before)


def test_typed_numbers_choose_classes_beyond_nine(qtbot, carla_window, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    w = carla_window
    qtbot.keyClick(w.canvas, Qt.Key.Key_1)
    qtbot.keyClick(w.canvas, Qt.Key.Key_2)
    assert w.canvas.active_class() == 12 and w.classes_panel.active_class() == 12
    qtbot.keyClick(w.canvas, Qt.Key.Key_2)
    qtbot.keyClick(w.canvas, Qt.Key.Key_5)  # class 25 does not exist: 5 starts a new number
    assert w.canvas.active_class() == 5
    monkeypatch.setattr("app.window.editing.TYPING_S", 0.05)
    qtbot.keyClick(w.canvas, Qt.Key.Key_1)
    qtbot.wait(120)  # too slow: two numbers
    qtbot.keyClick(w.canvas, Qt.Key.Key_2)
    assert w.canvas.active_class() == 2


def test_class_picker_filters_by_name_and_enter_picks(qtbot, carla_window) -> None:  # type: ignore[no-untyped-def]
    w = carla_window
    qtbot.mouseMove(w.canvas.viewport(), image_to_viewport(w, 40, 40))
    qtbot.keyClick(w.canvas, Qt.Key.Key_C)
    picker = w.class_picker
    wait_for(qtbot, picker.isVisible, timeout=3000)
    assert picker.visible_ids() == list(range(23))
    qtbot.keyClicks(picker.field, "tr")  # "pedestrian" holds it too, but a name starting a word with it comes first
    assert picker.visible_ids() == [4, 12, 16, 18] and picker.list.currentItem().text().endswith("traffic sign")
    qtbot.keyClicks(picker.field, "affic")
    assert picker.visible_ids() == [12, 18]
    qtbot.keyClick(picker.field, Qt.Key.Key_Down)
    assert w.grab().save(str(Path(w.settings.fileName()).parent / "class_picker.png"))
    qtbot.keyClick(picker.field, Qt.Key.Key_Return)
    assert not picker.isVisible()
    assert w.canvas.active_class() == 18 and w.classes_panel.active_class() == 18  # traffic light
    qtbot.keyClick(w.canvas, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)  # Ctrl+K opens it too
    wait_for(qtbot, picker.isVisible, timeout=3000)
    qtbot.keyClicks(picker.field, "side")
    qtbot.keyClick(picker.field, Qt.Key.Key_Enter)
    assert w.canvas.active_class() == 8  # sidewalk
    qtbot.keyClick(w.canvas, Qt.Key.Key_C)
    wait_for(qtbot, picker.isVisible, timeout=3000)
    qtbot.keyClick(picker.field, Qt.Key.Key_Escape)
    assert not picker.isVisible() and w.canvas.active_class() == 8


def test_brightness_and_contrast_change_the_image_not_the_mask(qtbot, carla_window) -> None:  # type: ignore[no-untyped-def]
    w = carla_window
    mask = _halves(w, 0, 10)  # left: no overlay colour; right: vehicle blue
    before = mask.copy()
    w.classes_panel.set_opacity(1.0)
    w.canvas.set_opacity(1.0)
    QApplication.processEvents()
    left, right = image_to_viewport(w, 30, 60), image_to_viewport(w, 130, 60)

    def shown():  # type: ignore[no-untyped-def]
        QApplication.processEvents()
        img = w.canvas.viewport().grab().toImage()
        return img.pixelColor(left).getRgb()[:3], img.pixelColor(right).getRgb()[:3]

    image_before, overlay_before = shown()
    slider = w.image_adjust.brightness
    slider.setFocus()
    for _ in range(10):
        qtbot.keyClick(slider, Qt.Key.Key_Right)  # +50 brightness with real keys
    assert w.canvas.image_adjustment() == (50, 0)
    image_after, overlay_after = shown()
    assert sum(image_after) > sum(image_before) + 60, "the image did not get brighter"
    assert overlay_after == overlay_before, "the opaque mask overlay changed colour"
    assert np.array_equal(mask, before) and np.array_equal(w.ws.loaded.image, w.ws.loaded.image)
    qtbot.keyClick(w.canvas, Qt.Key.Key_0, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier)
    assert w.canvas.image_adjustment() == (0, 0) and w.image_adjust.values() == (0, 0)
    assert shown()[0] == image_before
    w.show_row(1)
    wait_for(qtbot, lambda: w.ws.current == 1 and w.ws.loaded is not None)
    w.set_image_adjustment(0, 60)
    assert w.canvas.image_adjustment() == (0, 60) and w.image_adjust.values() == (0, 60)
