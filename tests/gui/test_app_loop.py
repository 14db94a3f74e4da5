"""The user's loop in the real window: open, paint, undo/redo, autosave, switch, fine-tune, stop, re-predict."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from app.panels.train_form import TrainSettings
from tests.gui.app_helpers import (
    correct_outside_validation,
    make_window,
    paint_stroke,
    wait_for,
    window_with_model,
)
from unet_core.store.project import ProjectStore

pytestmark = pytest.mark.slow



def test_open_paint_undo_redo_switch_and_persist(qtbot, folder: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    w = make_window(qtbot, tmp_path)
    assert w.open_folder(folder)
    wait_for(qtbot, lambda: w.ws.loaded is not None)
    assert w.files.visible_count() == 12
    first = w.ws.current
    mask = w.ws.working_mask()
    original = mask.copy()
    w.select_class(1)
    w.set_tool("brush")
    w.canvas.set_brush_radius(6)
    paint_stroke(qtbot, w, [(20, 20), (60, 22), (100, 25)])
    assert (mask != original).sum() > 100
    assert mask[22, 60] == 1
    painted = mask.copy()
    assert w.undo_group.canUndo()
    w.actions_by_name["undo"].trigger()
    assert np.array_equal(mask, original)
    w.actions_by_name["redo"].trigger()
    assert np.array_equal(mask, painted)

    # autosave within 2 s, without switching
    store_mask = folder / ".maskloop" / "corrections" / f"{w.ws.records[first].stem}.png"
    wait_for(qtbot, store_mask.exists, timeout=2500)

    # switch away and back: the edit is there and on disk
    qtbot.keyClick(w, Qt.Key.Key_D)
    wait_for(qtbot, lambda: w.ws.current != first)
    w.ws.flush()
    w.show_row(first)
    assert np.array_equal(w.ws.working_mask(), painted)
    with ProjectStore(folder / ".maskloop") as store:
        assert np.array_equal(store.load_mask(w.ws.records[first].stem), painted)
        assert store.state(w.ws.records[first].stem).status.value == "corrected"
    # originals untouched
    assert not any(p.name.endswith(".png") for p in (folder / "train_masks").iterdir())
    w.close()


def test_model_predicts_and_accept_prediction_is_one_undo_step(qtbot, folder: Path, tiny_model: Path,
                                                              tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    w = window_with_model(qtbot, tmp_path, folder, tiny_model)
    row = w.ws.current
    wait_for(qtbot, lambda: w.ws.model.labels(row) is not None)
    pred = w.ws.model.labels(row)
    assert pred.shape == w.ws.loaded.image.shape[:2]
    assert w.ws.records[row].uncertainty is not None
    # the working mask starts from the prediction; paint, then accept the prediction back in one step
    mask = w.ws.working_mask()
    assert np.array_equal(mask, pred)
    w.select_class(1)
    paint_stroke(qtbot, w, [(5, 5), (40, 5)])
    edited = mask.copy()
    w.accept_prediction()
    assert np.array_equal(mask, pred)
    w.actions_by_name["undo"].trigger()
    assert np.array_equal(mask, edited)
    # difference view shows changed pixels read-only
    w.set_view_mode("difference")
    assert not w.canvas.is_editable()
    assert w.canvas.mask().sum() == (edited != pred).sum()
    w.set_view_mode("corrected")
    assert w.canvas.is_editable()
    # predict all with progress
    w.predict_all()
    wait_for(qtbot, lambda: all(r.status != "unlabelled" for r in w.ws.records), timeout=60000)
    w.close()


def test_finetune_plots_points_registers_version_and_repredicts(qtbot, folder: Path, tiny_model: Path,
                                                              tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    w = window_with_model(qtbot, tmp_path, folder, tiny_model)
    first_version = w.ws.model.version
    correct_outside_validation(qtbot, w)
    w.train_ctl.refresh_availability()
    assert w.training.finetune_button.isEnabled()
    w.train_ctl.choice_use_new = True  # keep the new model even if Dice did not improve
    w.training.forms["finetune"].set_values(TrainSettings("finetune", None, 2, None, 3e-4, "cpu", 0.3, "unet-tiny"))
    qtbot.mouseClick(w.training.finetune_button, Qt.MouseButton.LeftButton)
    wait_for(qtbot, lambda: w.training.is_busy(), timeout=5000)
    # the GUI stays usable while training: switch images and paint
    w.next_image()
    paint_stroke(qtbot, w, [(10, 10), (30, 10)])
    with qtbot.waitSignal(w.train_ctl.runFinished, timeout=120000) as blocker:
        pass
    result = blocker.args[0]
    assert result.epochs == 2 and result.initial_val_dice is not None
    assert len(w.training.plots.loss.data()[0]) > 0 and len(w.training.plots.dice.data()[0]) == 2
    wait_for(qtbot, lambda: w.ws.model.version != first_version and w.ws.model.predictor is not None)
    versions = w.ws.store.models()
    assert versions[-1].parent == first_version
    assert "Round" in w.training.summary.text()
    # predictions refresh with the new version
    row = w.ws.current
    wait_for(qtbot, lambda: w.ws.model.labels(row) is not None, timeout=30000)
    w.close()


def test_stop_is_honoured_and_close_during_training_loses_nothing(qtbot, folder: Path, tiny_model: Path,
                                                                 tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    w = window_with_model(qtbot, tmp_path, folder, tiny_model)
    rows = correct_outside_validation(qtbot, w)
    w.training.forms["finetune"].set_values(TrainSettings("finetune", None, 50, None, 3e-4, "cpu", 0.3, "unet-tiny"))
    w.finetune_now()
    wait_for(qtbot, lambda: len(w.training.plots.loss.data()[0]) >= 1, timeout=60000)
    with qtbot.waitSignal(w.train_ctl.runFinished, timeout=60000) as blocker:
        qtbot.mouseClick(w.training.stop_button, Qt.MouseButton.LeftButton)
    assert blocker.args[0].stop_reason == "stopped"
    # start again, paint, and close the window mid-run: training stops, the edit is on disk
    w.finetune_now()
    wait_for(qtbot, lambda: w.train_ctl.is_running(), timeout=10000)
    w.show_row(rows[0])
    mask = w.ws.working_mask()
    paint_stroke(qtbot, w, [(150, 100), (200, 110)])
    snapshot = mask.copy()
    stem = w.ws.records[rows[0]].stem
    w.close()
    assert not w.train_ctl.is_running()
    with ProjectStore(folder / ".maskloop") as store:
        assert np.array_equal(store.load_mask(stem), snapshot)
