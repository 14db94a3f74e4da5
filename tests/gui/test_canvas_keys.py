"""Space-pan and hold-H work whenever the pointer is over the canvas, wherever keyboard focus is."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication, QToolButton, QWidget

from tests.gui.app_helpers import image_to_viewport, make_window, wait_for

pytestmark = pytest.mark.slow


def _focus(qtbot, widget: QWidget) -> None:  # type: ignore[no-untyped-def]
    widget.setFocus(Qt.FocusReason.MouseFocusReason)
    wait_for(qtbot, lambda: QApplication.focusWidget() is widget, timeout=2000)


def _space_drag(qtbot, w, focus: QWidget) -> None:  # type: ignore[no-untyped-def]
    """Pointer over the canvas, Space pressed on the focused widget, left-drag on the canvas, release."""
    vp = w.canvas.viewport()
    a, b = image_to_viewport(w, 120, 80), image_to_viewport(w, 60, 50)
    qtbot.mouseMove(vp, a)
    qtbot.keyPress(focus, Qt.Key.Key_Space)
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=a)
    for t in (0.25, 0.5, 0.75, 1.0):
        qtbot.mouseMove(vp, QPoint(round(a.x() + (b.x() - a.x()) * t), round(a.y() + (b.y() - a.y()) * t)))
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=b)
    qtbot.keyRelease(focus, Qt.Key.Key_Space)


@pytest.mark.parametrize("where", ["file list", "classes table", "after a dialog"])
def test_space_drag_pans_and_h_hides_with_focus_elsewhere(qtbot, folder: Path, tmp_path: Path, where: str) -> None:  # type: ignore[no-untyped-def]
    w = make_window(qtbot, tmp_path)
    assert w.open_folder(folder)
    wait_for(qtbot, lambda: w.ws.loaded is not None)
    w.set_tool("brush")
    w.select_class(1)
    w.canvas.zoom_by(4.0)
    mask = w.ws.working_mask()
    before = mask.copy()
    if where == "file list":
        focus = w.files.view
    elif where == "classes table":
        focus = w.classes_panel.tree
    else:
        from PySide6.QtWidgets import QMessageBox

        w.files.view.setFocus()
        box = QMessageBox(QMessageBox.Icon.Information, "Maskloop", "A dialog", parent=w)
        box.open()
        qtbot.waitExposed(box)
        box.accept()
        wait_for(qtbot, lambda: not box.isVisible())
        focus = QApplication.focusWidget() or w
    if where != "after a dialog":
        _focus(qtbot, focus)
    visible_before = [w.classes_panel.is_class_visible(c) for c in range(w.classes_panel.class_count())]
    h_bar, v_bar = w.canvas.horizontalScrollBar(), w.canvas.verticalScrollBar()
    start = (h_bar.value(), v_bar.value())
    _space_drag(qtbot, w, focus)
    assert (h_bar.value(), v_bar.value()) != start, "Space-drag did not pan"
    assert np.array_equal(mask, before), "Space-drag painted"
    assert not w.undo_group.canUndo()
    # Space over the canvas is the canvas's: it did not toggle a class or change the image
    assert [w.classes_panel.is_class_visible(c) for c in range(w.classes_panel.class_count())] == visible_before

    overlay = w.canvas._overlay
    qtbot.mouseMove(w.canvas.viewport(), image_to_viewport(w, 100, 70))
    qtbot.keyPress(focus, Qt.Key.Key_H)
    assert not overlay.isVisible(), "holding H did not hide the overlay"
    assert w.grab().save(str(tmp_path / f"hold_h_{where.replace(' ', '_')}.png"))
    qtbot.keyRelease(focus, Qt.Key.Key_H)
    assert overlay.isVisible()
    w.close()


def test_space_held_before_entering_the_canvas_never_paints(qtbot, folder: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    w = make_window(qtbot, tmp_path)
    assert w.open_folder(folder)
    wait_for(qtbot, lambda: w.ws.loaded is not None)
    w.set_tool("brush")
    w.canvas.zoom_by(3.0)
    mask = w.ws.working_mask()
    before = mask.copy()
    _focus(qtbot, w.files.view)
    qtbot.mouseMove(w.files.view.viewport(), QPoint(20, 20))  # Space goes down away from the canvas ...
    qtbot.keyPress(w.files.view, Qt.Key.Key_Space)
    vp = w.canvas.viewport()
    a, b = image_to_viewport(w, 120, 80), image_to_viewport(w, 80, 60)
    qtbot.mouseMove(vp, a)  # ... and stays down while the pointer moves onto the canvas
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=a)
    qtbot.mouseMove(vp, b)
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=b)
    qtbot.keyRelease(w.files.view, Qt.Key.Key_Space)
    assert np.array_equal(mask, before)
    # typing in the name filter is untouched: a space goes into the text even with the pointer on the canvas
    w.files.focus_filter()
    qtbot.mouseMove(vp, a)
    qtbot.keyClicks(w.files.filter_edit, "a h")
    assert w.files.filter_edit.text() == "a h"
    assert w.canvas._overlay.isVisible()
    qtbot.keyClick(w.files.filter_edit, Qt.Key.Key_Escape)  # Esc: the filter is cleared and keys go back
    assert w.files.filter_edit.text() == "" and w.canvas.hasFocus()
    w.files.focus_filter()
    qtbot.keyClicks(w.files.filter_edit, "x")
    clear = w.files.filter_edit.findChild(QToolButton)
    qtbot.mouseClick(clear, Qt.MouseButton.LeftButton)  # the ✕ in the filter
    assert w.files.filter_edit.text() == "" and w.canvas.hasFocus()
    w.close()
