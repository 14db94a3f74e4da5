"""Helpers for driving the real main window in tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication

from app.window.main_window import MainWindow
from app.window.settings import make_settings
from unet_core.loop.corrections import validation_stems


def make_window(qtbot, tmp_path: Path) -> MainWindow:  # type: ignore[no-untyped-def]
    """A shown main window with settings in a temp INI file and dialogs off."""
    window = MainWindow(make_settings(tmp_path / "settings.ini"))
    window.setProperty("quiet_dialogs", True)
    window.train_ctl.ask_user = False
    qtbot.addWidget(window)
    window.resize(1300, 850)
    window.show()
    qtbot.waitExposed(window)
    return window


def activate(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    """Make ``window`` the active window with the canvas focused: a window's shortcuts (tool keys, digits)
    reach it only while it is active."""
    window.activateWindow()
    wait_for(qtbot, lambda: QApplication.activeWindow() is window, timeout=5000)
    window.canvas.setFocus()


def window_with_model(qtbot, tmp_path: Path, folder: Path, model: Path) -> MainWindow:  # type: ignore[no-untyped-def]
    """:func:`make_window` with ``folder`` open (its look-alike groups known) and ``model`` loaded."""
    window = make_window(qtbot, tmp_path)
    assert window.open_folder(folder)
    assert window.open_model(model)
    wait_for(qtbot, lambda: window.ws.model.predictor is not None and window.ws.groups is not None)
    return window


def wait_for(qtbot, condition: Callable[[], object], timeout: int = 30000) -> None:  # type: ignore[no-untyped-def]
    """Process events until ``condition()`` is truthy."""
    qtbot.waitUntil(lambda: bool(condition()), timeout=timeout)


def image_to_viewport(window: MainWindow, x: float, y: float) -> QPoint:
    """Viewport coordinates of image pixel (x, y) at the canvas's current zoom."""
    p = window.canvas.mapFromScene(x + 0.5, y + 0.5)
    return QPoint(p.x(), p.y())


def paint_stroke(qtbot, window: MainWindow, points: list[tuple[float, float]]) -> None:  # type: ignore[no-untyped-def]
    """Press, drag through ``points`` (image coordinates) and release with the left button."""
    vp = window.canvas.viewport()
    first = image_to_viewport(window, *points[0])
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=first)
    for pt in points[1:]:
        qtbot.mouseMove(vp, image_to_viewport(window, *pt))
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=image_to_viewport(window, *points[-1]))


def correct_outside_validation(qtbot, w) -> list[int]:  # type: ignore[no-untyped-def]
    """Paint a stroke of class 1 on the first 3 images outside the validation split; returns their rows."""
    val = validation_stems(w.ws.layout, w.ws.records, w.ws.groups)
    rows = [i for i, r in enumerate(w.ws.records) if r.stem not in val][:3]
    for row in rows:
        w.show_row(row)
        wait_for(qtbot, lambda row=row: w.ws.current == row and w.ws.loaded is not None)
        w.select_class(1)
        paint_stroke(qtbot, w, [(100, 60), (130, 70)])
    w.ws.flush()
    return rows
