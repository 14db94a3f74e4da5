"""Export Corrections into a dataset's own mask folder asks first, and backs the originals up before replacing."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.gui.app_helpers import make_window, paint_stroke, wait_for
from tests.tree_hash import tree_hashes


def _window_with_a_correction(qtbot, tmp_path: Path, carvana_dir: Path):  # type: ignore[no-untyped-def]
    data = Path(shutil.copytree(carvana_dir, tmp_path / "data"))
    w = make_window(qtbot, tmp_path)
    assert w.open_folder(data)
    wait_for(qtbot, lambda: w.ws.loaded is not None)
    w.select_class(1)
    paint_stroke(qtbot, w, [(20, 20), (60, 40)])
    w.ws.flush()
    wait_for(qtbot, lambda: w.ws.store.corrected_stems())
    return w, data


def test_export_into_the_dataset_mask_folder_asks_and_no_writes_nothing(qtbot, tmp_path: Path,
                                                                        carvana_dir: Path) -> None:
    w, data = _window_with_a_correction(qtbot, tmp_path, carvana_dir)
    before = tree_hashes(data)
    asked: list[int] = []
    w.confirm_replace_originals = lambda count, folder: asked.append(count) or False
    assert w.export_to(data / "train_masks") == 0
    assert asked == [1]
    assert tree_hashes(data) == before
    assert "nothing was written" in w.status.currentMessage()


def test_export_into_the_dataset_mask_folder_after_yes_keeps_a_backup(qtbot, tmp_path: Path,
                                                                      carvana_dir: Path) -> None:
    w, data = _window_with_a_correction(qtbot, tmp_path, carvana_dir)
    stem = w.ws.store.corrected_stems()[0]
    original = (data / "train_masks" / f"{stem}_mask.gif").read_bytes()
    w.confirm_replace_originals = lambda count, folder: True
    assert w.export_to(data / "train_masks") == 1
    backup = list((w.ws.store.root / "originals-backup").glob(f"*/train_masks/{stem}_mask.gif"))
    assert len(backup) == 1 and backup[0].read_bytes() == original
    assert (data / "train_masks" / f"{stem}_mask.gif").read_bytes() != original


def test_export_elsewhere_does_not_ask(qtbot, tmp_path: Path, carvana_dir: Path) -> None:
    w, _ = _window_with_a_correction(qtbot, tmp_path, carvana_dir)
    w.confirm_replace_originals = lambda count, folder: (_ for _ in ()).throw(AssertionError("asked"))
    assert w.export_to(tmp_path / "exported") == 1
    assert w.export_to(tmp_path / "exported") == 1  # a second export replaces our own earlier files freely
