"""Only real corrections count: an undone, reverted or accepted-back mask is not "corrected" and is not stored."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from tests.gui.app_helpers import make_window, paint_stroke, wait_for, window_with_model
from unet_core.loop.corrections import count_usable

pytestmark = pytest.mark.slow


def _stored(w, row: int) -> bool:  # type: ignore[no-untyped-def]
    return w.ws.store.has_mask(w.ws.records[row].stem)


def test_undoing_the_only_stroke_is_not_a_correction(qtbot, folder: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    w = make_window(qtbot, tmp_path)
    assert w.open_folder(folder)
    wait_for(qtbot, lambda: w.ws.loaded is not None)
    row = w.ws.current
    before = w.ws.records[row].status
    w.select_class(1)
    w.set_tool("brush")
    paint_stroke(qtbot, w, [(20, 20), (80, 30)])
    wait_for(qtbot, lambda: _stored(w, row), timeout=3000)  # autosaved: a correction for now
    assert w.ws.records[row].status == "corrected"
    w.canvas.setFocus()
    qtbot.keyClick(w.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert np.array_equal(w.ws.working_mask(), w.ws.loaded.original_mask)
    assert w.ws.flush()
    wait_for(qtbot, lambda: w.ws.records[row].status == before, timeout=3000)
    assert not _stored(w, row)
    assert w.ws.store.state(w.ws.records[row].stem).status.value == before
    assert row not in w.ws.corrected_rows()
    assert count_usable(w.ws.layout, w.ws.store, w.ws.records)[:2] == (0, 0)
    assert w.files.model.counts().get("corrected", 0) == 0
    # redo brings the correction back
    qtbot.keyClick(w.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert w.ws.flush()
    assert _stored(w, row) and w.ws.records[row].status == "corrected"
    assert w.grab().save(str(tmp_path / "undo_not_corrected.png"))
    w.close()


def test_reverting_with_v_and_accepting_the_prediction_are_not_corrections(qtbot, folder: Path, tiny_model: Path,
                                                                         tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    w = window_with_model(qtbot, tmp_path, folder, tiny_model)
    row = w.ws.current
    wait_for(qtbot, lambda: w.ws.model.labels(row) is not None)
    wait_for(qtbot, lambda: w.ws.records[row].status == "predicted")
    pred = w.ws.model.labels(row).copy()
    mask = w.ws.working_mask()
    assert np.array_equal(mask, pred)
    w.select_class(1)
    w.set_tool("brush")
    w.canvas.set_brush_radius(5)
    paint_stroke(qtbot, w, [(30, 30), (70, 40)])
    assert not np.array_equal(mask, pred)
    assert w.ws.flush() and _stored(w, row)
    # revert the painted region with V (revert-to-prediction), a wide brush over the same path
    w.canvas.setFocus()
    qtbot.keyClick(w.canvas, Qt.Key.Key_V)
    assert w.canvas.tool() == "revert"
    w.canvas.set_brush_radius(20)
    paint_stroke(qtbot, w, [(30, 30), (70, 40)])
    assert np.array_equal(mask, pred)
    assert w.ws.flush()
    wait_for(qtbot, lambda: w.ws.records[row].status == "predicted", timeout=3000)
    assert not _stored(w, row)
    assert w.ws.store.state(w.ws.records[row].stem).status.value == "predicted"

    # paint again, then Accept Prediction (Ctrl+Enter): back to the prediction, not a correction
    qtbot.keyClick(w.canvas, Qt.Key.Key_B)
    w.canvas.set_brush_radius(5)
    paint_stroke(qtbot, w, [(30, 30), (70, 40)])
    assert not np.array_equal(mask, pred)
    assert w.ws.flush() and _stored(w, row)
    qtbot.keyClick(w.canvas, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert np.array_equal(mask, pred)
    assert w.ws.flush()
    wait_for(qtbot, lambda: w.ws.records[row].status == "predicted", timeout=3000)
    assert not _stored(w, row)

    # Accept Prediction on an untouched image: nothing becomes corrected
    w.next_image()
    other = w.ws.current
    wait_for(qtbot, lambda: w.ws.model.labels(other) is not None and w.ws.loaded is not None)
    qtbot.keyClick(w.canvas, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert w.ws.flush()
    assert w.ws.records[other].status == "predicted" and not _stored(w, other)
    summary = w.train_ctl.round_summary(None, None)
    assert "0 images corrected so far" in summary
    assert w.grab().save(str(tmp_path / "revert_not_corrected.png"))
    w.close()


def test_an_unreadable_image_clears_the_canvas_and_names_the_file(qtbot, folder: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    images = sorted((folder / "train").glob("*.jpg"))
    images[1].write_bytes(b"this is not an image at all, just some text")
    w = make_window(qtbot, tmp_path)
    assert w.open_folder(folder)
    wait_for(qtbot, lambda: w.ws.loaded is not None and w.ws.current == 0)
    assert w.canvas._image_item.image_size() != (0, 0)
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow, timeout=3000)
    w.canvas.setFocus()
    qtbot.keyClick(w.canvas, Qt.Key.Key_D)  # next image: the unreadable one
    wait_for(qtbot, lambda: w.ws.current == 1)
    assert w.ws.loaded is None
    assert w.canvas._image_item.image_size() == (0, 0), "the previous image stayed on the canvas"
    assert w.canvas.mask() is None and not w.canvas.is_editable()
    message = w.statusBar().currentMessage()
    assert images[1].name in message and "\n" not in message
    assert "0x" not in message and "<" not in message, message
    assert "0x" not in (w.ws.records[1].error or "") and w.ws.records[1].error
    assert images[1].name in w.canvas.placeholder_text()
    assert w.grab().save(str(tmp_path / "unreadable_image.png"))
    qtbot.keyClick(w.canvas, Qt.Key.Key_D)  # the next readable image shows again
    wait_for(qtbot, lambda: w.ws.current == 2 and w.ws.loaded is not None)
    assert w.canvas._image_item.image_size() != (0, 0) and w.canvas.placeholder_text() == ""
    w.close()
