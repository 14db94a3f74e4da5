"""The click tool in the real window with an interactive model: real clicks, one undo step, the store keeps it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from tests.gui.app_helpers import activate, image_to_viewport, wait_for, window_with_model

pytestmark = pytest.mark.slow


def test_clicks_with_an_interactive_model_correct_the_car(qtbot, folder: Path, tiny_click_model: Path,  # type: ignore[no-untyped-def]
                                                          tmp_path: Path) -> None:
    w = window_with_model(qtbot, tmp_path, folder, tiny_click_model)
    wait_for(qtbot, lambda: w.canvas.clicker() is not None)
    wait_for(qtbot, lambda: w.ws.loaded is not None and w.ws.model.has_labels(w.ws.current))
    qtbot.wait(50)  # the prediction is shown
    activate(qtbot, w)
    qtbot.keyClick(w.canvas, Qt.Key.Key_U)
    assert w.canvas.tool() == "click" and w.status.hint.text().startswith("Clicks")
    mask = w.ws.working_mask()
    mask[:] = 0  # the user starts from nothing: clicks must draw the car
    mask[0:6, 0:6] = 1  # and a false blob of car in the corner, to be clicked away
    w.canvas.refresh_overlay()
    before = mask.copy()
    truth = w.ws.layout.read_pair(w.ws.layout.pairs()[0][w.ws.current])[1]
    ys, xs = np.nonzero(truth == 1)
    vp = w.canvas.viewport()
    for i in (len(ys) // 2, len(ys) // 3):
        qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, pos=image_to_viewport(w, int(xs[i]), int(ys[i])))
        wait_for(qtbot, lambda: not w.canvas._smart.busy, 15000)
    qtbot.mouseClick(vp, Qt.MouseButton.RightButton, pos=image_to_viewport(w, 2, 2))
    wait_for(qtbot, lambda: not w.canvas._smart.busy, 15000)
    assert len(w.canvas._smart.clicks.clicks) == 3
    assert (mask == 1).sum() > 0 and mask[2, 2] == 0  # the right click removed the blob it was on
    assert w.undo_group.activeStack().count() == 1  # three clicks on one object: one step
    assert w.grab().save(str(tmp_path / "clicks.png"))
    qtbot.keyClick(w.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert np.array_equal(mask, before)
    w.close()


def test_an_automatic_model_gives_no_clicker(qtbot, folder: Path, tiny_model: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    w = window_with_model(qtbot, tmp_path, folder, tiny_model)
    assert w.canvas.clicker() is None
    activate(qtbot, w)
    qtbot.keyClick(w.canvas, Qt.Key.Key_U)
    qtbot.mouseClick(w.canvas.viewport(), Qt.MouseButton.LeftButton, pos=image_to_viewport(w, 50, 50))
    assert "interactive model" in w.status.hint.text() and w.undo_group.activeStack().count() == 0
    w.close()
