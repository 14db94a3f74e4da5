"""Fine-tune becomes available as soon as a correction is saved, without leaving the image."""

from __future__ import annotations

from pathlib import Path

from tests.gui.app_helpers import paint_stroke, wait_for, window_with_model
from unet_core.loop.corrections import validation_stems


def test_fine_tune_is_offered_once_the_first_correction_is_saved(qtbot, folder: Path, tiny_model: Path,  # type: ignore[no-untyped-def]
                                                                 tmp_path: Path) -> None:
    w = window_with_model(qtbot, tmp_path, folder, tiny_model)
    val = validation_stems(w.ws.layout, w.ws.records, w.ws.groups)
    row = next(i for i, r in enumerate(w.ws.records) if r.stem not in val)
    w.show_row(row)
    wait_for(qtbot, lambda: w.ws.current == row and w.ws.loaded is not None)
    w.train_ctl.refresh_availability()
    assert not w.training.finetune_button.isEnabled()
    w.select_class(1)
    paint_stroke(qtbot, w, [(100, 60), (130, 70)])
    # the autosave lands about a second later; the panel must notice without the user leaving the image
    wait_for(qtbot, lambda: w.training.finetune_button.isEnabled(), timeout=10000)
    assert w.ws.current == row
