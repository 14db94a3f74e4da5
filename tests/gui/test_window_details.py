"""Small truths of the window: the Share column, the brush radius label and scale, the demo's training time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from tests.gui.app_helpers import make_window, paint_stroke, wait_for

pytestmark = pytest.mark.slow


def _share(w, cid: int) -> float:  # type: ignore[no-untyped-def]
    text = w.classes_panel.share_text(cid)
    assert text.endswith(" %"), repr(text)
    return float(text.split()[0].lstrip("<"))


def test_share_column_follows_the_shown_mask(qtbot, folder: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    w = make_window(qtbot, tmp_path)
    assert w.open_folder(folder)
    wait_for(qtbot, lambda: w.ws.loaded is not None)
    mask = w.ws.working_mask()
    wait_for(qtbot, lambda: w.classes_panel.share_text(1) != "", timeout=3000)
    car = 100.0 * np.count_nonzero(mask == 1) / mask.size
    assert abs(_share(w, 1) - car) < 0.06 and abs(_share(w, 0) - (100 - car)) < 0.06
    w.select_class(1)
    w.set_tool("brush")
    w.canvas.set_brush_radius(15)
    paint_stroke(qtbot, w, [(10, 10), (60, 12), (110, 15)])  # paint car over background
    car_after = 100.0 * np.count_nonzero(mask == 1) / mask.size
    assert car_after > car + 1
    wait_for(qtbot, lambda: abs(_share(w, 1) - car_after) < 0.06, timeout=3000)
    w.set_view_mode("difference")
    wait_for(qtbot, lambda: w.classes_panel.share_text(1) == "", timeout=3000)  # no class ids shown
    w.set_view_mode("corrected")
    wait_for(qtbot, lambda: w.classes_panel.share_text(1) != "", timeout=3000)
    assert w.grab().save(str(tmp_path / "share_column.png"))
    w.close()


def test_brush_size_is_labelled_a_radius_and_scales_with_the_folder(qtbot, carvana_dir: Path, carla_dir: Path,
                                                                    tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    w = make_window(qtbot, tmp_path)
    labels = [lab.text().strip() for lab in w.findChildren(QLabel)]
    assert "Radius" in labels and "Size" not in labels
    assert w.brush_spin.suffix() == " px" and "radius" in w.brush_spin.toolTip().lower()
    assert w.open_folder(carvana_dir)  # 240 px wide
    wait_for(qtbot, lambda: w.ws.loaded is not None)
    w.canvas.set_brush_radius(24)
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow, timeout=3000)
    w.canvas.setFocus()
    qtbot.keyClick(w.canvas, Qt.Key.Key_BracketRight)  # ] grows the radius, the spin box says so
    grown = w.canvas.brush_radius()
    assert grown > 24 and w.brush_spin.value() == grown and w.canvas._brush_cursor._radius == grown
    assert w.open_folder(carla_dir)  # 160 px wide: the brush keeps its share of the image
    wait_for(qtbot, lambda: w.ws.loaded is not None and w.ws.layout.kind == "carla")
    assert w.canvas.brush_radius() == round(grown * 160 / 240)
    assert w.brush_spin.value() == w.canvas.brush_radius()
    w.close()


def test_demo_hint_states_the_real_training_time(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from app.main import no_model_message

    w = make_window(qtbot, tmp_path)
    limit = w.training.settings("scratch").time_limit_s
    assert limit == 300.0
    text = no_model_message(w)
    assert "5 minutes" in text and "about a minute" not in text
    w.close()


def test_the_shortcut_list_fits_the_screen_with_its_ok_button(qtbot, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QDialog, QDialogButtonBox

    w = make_window(qtbot, tmp_path)
    seen: list[tuple[int, int, bool]] = []

    def check() -> None:
        dialog = next(d for d in QApplication.topLevelWidgets() if isinstance(d, QDialog) and d.isVisible())
        screen = w.screen().availableGeometry()
        buttons = dialog.findChild(QDialogButtonBox)
        seen.append((dialog.height(), screen.height(), buttons is not None and buttons.isVisible()))
        dialog.accept()

    QTimer.singleShot(200, check)
    w.show_shortcuts()
    height, screen_height, ok_shown = seen[0]
    assert height <= screen_height and ok_shown
