"""Error paths in the real window: corrupt files, two windows on one folder, unknown layouts, bad models."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.gui.app_helpers import make_window, paint_stroke, wait_for
from unet_core.store.project import ProjectStore

pytestmark = pytest.mark.slow



def test_corrupt_image_is_marked_and_the_rest_keeps_working(qtbot, folder: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    images = sorted((folder / "train").glob("*.jpg"))
    images[1].write_bytes(images[1].read_bytes()[:200])  # truncated JPEG
    masks = sorted((folder / "train_masks").glob("*.gif"))
    masks[2].write_bytes(b"GIF89a broken")  # unreadable original mask
    w = make_window(qtbot, tmp_path)
    assert w.open_folder(folder)
    wait_for(qtbot, lambda: w.ws.loaded is not None)
    w.show_row(1)
    rec = w.ws.records[1]
    assert rec.error and "truncated" in rec.error
    assert w.ws.loaded is None and w.canvas.mask() is None
    w.show_row(2)  # image fine, mask broken: opens, says why
    assert w.ws.loaded is not None and w.ws.loaded.original_mask is None
    assert w.ws.records[2].error and masks[2].name in w.ws.records[2].error
    w.show_row(3)
    paint_stroke(qtbot, w, [(30, 30), (60, 30)])
    assert w.ws.working_mask()[30, 45] == w.canvas.active_class()
    w.close()
    with ProjectStore(folder / ".maskloop") as store:
        assert store.state(rec.stem).error and "truncated" in store.state(rec.stem).error
        assert store.has_mask(w.ws.records[3].stem) if w.ws.records else True


def test_second_window_on_one_folder_is_read_only_and_says_so(qtbot, folder: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Two windows on one folder used to overwrite each other's edits silently (the last save won): the
    second window is read-only, shows it, does not let the user edit (a stroke there says why instead of
    painting edits that could never be saved) and saves nothing."""
    a = make_window(qtbot, tmp_path / "a")
    b = make_window(qtbot, tmp_path / "b")
    problems: list[str] = []
    b.ws.problem.connect(problems.append)
    assert a.open_folder(folder) and b.open_folder(folder)
    assert not a.ws.read_only and b.ws.read_only
    notice = "Read-only: another Maskloop window is editing this folder"
    assert b.status.read_only.isVisible() and notice in b.status.read_only.text()
    assert not a.status.read_only.isVisible() and "read-only" in b.windowTitle().lower()
    b.train_ctl.refresh_availability()  # training could not keep its model: both buttons say why
    assert b.train_ctl.panel._can == {"finetune": False, "scratch": False}
    assert notice in b.train_ctl.panel._reasons["scratch"]
    wait_for(qtbot, lambda: a.ws.loaded is not None and b.ws.loaded is not None)
    for w in (a, b):
        w.show_row(7)
    paint_stroke(qtbot, a, [(10, 100), (40, 100)])
    before_b = b.ws.working_mask().copy()
    paint_stroke(qtbot, b, [(10, 120), (40, 120)])
    assert np.array_equal(b.ws.working_mask(), before_b)  # nothing painted: nothing that could be lost
    assert "can look but not edit" in b.status.currentMessage()
    b.show_row(5)
    b.accept_prediction()
    b.mark_reviewed()
    assert "can look but not edit" in b.status.currentMessage()
    mask_a = a.ws.working_mask().copy()
    assert a.ws.flush() and b.ws.flush()
    assert not problems
    stems = [r.stem for r in a.ws.records]
    a.close()
    b.close()
    with ProjectStore(folder / ".maskloop") as store:
        assert np.array_equal(store.load_mask(stems[7]), mask_a)  # the writer's edit survived
        assert store.load_mask(stems[5]) is None and store.state(stems[7]).strokes == 1


def test_unknown_layout_and_bad_model_get_clear_messages(qtbot, tmp_path: Path, carvana_dir: Path) -> None:  # type: ignore[no-untyped-def]
    w = make_window(qtbot, tmp_path)
    problems: list[str] = []
    w.ws.problem.connect(problems.append)
    odd = tmp_path / "odd"
    (odd / "pictures").mkdir(parents=True)
    assert not w.open_folder(odd)
    assert "expected" in w.statusBar().currentMessage() and "train/" in w.statusBar().currentMessage()
    data = tmp_path / "data"
    shutil.copytree(carvana_dir, data)
    assert w.open_folder(data)
    fake = tmp_path / "model.pt"
    fake.write_bytes(b"\x80\x04not a checkpoint")
    assert not w.open_model(fake)
    assert "pickle" in w.statusBar().currentMessage()
    assert w.ws.model.predictor is None and not w.ws.store.models()
    w.close()


def test_holding_h_hides_the_overlay_only_while_held(qtbot, folder: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtCore import Qt

    w = make_window(qtbot, tmp_path)
    assert w.open_folder(folder)
    wait_for(qtbot, lambda: w.ws.loaded is not None)
    w.canvas.setFocus()
    overlay = w.canvas._overlay  # the overlay item (no public getter needed elsewhere)
    assert overlay.isVisible()
    qtbot.keyPress(w.canvas, Qt.Key.Key_H)
    assert not overlay.isVisible()
    qtbot.keyRelease(w.canvas, Qt.Key.Key_H)
    assert overlay.isVisible()
    w.close()


def test_painting_on_a_reference_view_says_how_to_edit(qtbot, folder: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    w = make_window(qtbot, tmp_path)
    assert w.open_folder(folder)
    wait_for(qtbot, lambda: w.ws.loaded is not None and w.ws.loaded.original_mask is not None)
    w.set_view_mode("original")
    before = w.ws.working_mask().copy()
    paint_stroke(qtbot, w, [(10, 30), (60, 30)])
    assert np.array_equal(w.ws.working_mask(), before)
    assert "(Alt+1) to edit" in w.status.currentMessage()


def test_quitting_while_training_asks_first(qtbot, tmp_path: Path) -> None:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    w = make_window(qtbot, tmp_path)
    w.setProperty("quiet_dialogs", False)
    w.train_ctl.is_running = lambda: True  # a run is working
    asked: list[str] = []

    def answer(button: QMessageBox.StandardButton) -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(50, lambda: answer(button))
            return
        asked.append(box.text())
        box.button(button).click()

    QTimer.singleShot(50, lambda: answer(QMessageBox.StandardButton.No))
    w.close()
    assert asked and "Quitting stops it" in asked[0] and w.isVisible()  # No: the window and the run stay
    QTimer.singleShot(50, lambda: answer(QMessageBox.StandardButton.Yes))
    w.close()
    assert len(asked) == 2 and not w.isVisible()


def test_open_folder_is_refused_before_the_file_dialog_while_training(qtbot, tmp_path: Path) -> None:
    w = make_window(qtbot, tmp_path)
    w.train_ctl.is_running = lambda: True
    w.choose_folder()  # returns at once: no dialog to fill in only to be refused
    assert "Training is running" in w.status.currentMessage()
