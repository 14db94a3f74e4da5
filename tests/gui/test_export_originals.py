"""Export Masks into a dataset's own folders asks first and backs the originals up before replacing; the dialog."""

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
    with qtbot.waitSignal(w.exportFinished) as finished:
        assert not w.export_to(data)  # native: into data/train_masks/, the dataset's own masks
    assert finished.args == [-1] and asked == [1]
    assert tree_hashes(data) == before
    assert "nothing was written" in w.status.currentMessage()


def test_export_into_the_dataset_mask_folder_after_yes_keeps_a_backup(qtbot, tmp_path: Path,
                                                                      carvana_dir: Path) -> None:
    w, data = _window_with_a_correction(qtbot, tmp_path, carvana_dir)
    stem = w.ws.store.corrected_stems()[0]
    original = (data / "train_masks" / f"{stem}_mask.gif").read_bytes()
    w.confirm_replace_originals = lambda count, folder: True
    with qtbot.waitSignal(w.exportFinished, timeout=10000) as finished:
        assert w.export_to(data)
    assert finished.args == [1] and "backed up" in w.status.currentMessage()
    backup = list((w.ws.store.root / "originals-backup").glob(f"*/train_masks/{stem}_mask.gif"))
    assert len(backup) == 1 and backup[0].read_bytes() == original
    assert (data / "train_masks" / f"{stem}_mask.gif").read_bytes() != original


def test_export_elsewhere_does_not_ask(qtbot, tmp_path: Path, carvana_dir: Path) -> None:
    w, _ = _window_with_a_correction(qtbot, tmp_path, carvana_dir)
    w.confirm_replace_originals = lambda count, folder: (_ for _ in ()).throw(AssertionError("asked"))
    for _ in range(2):  # a second export replaces our own earlier files freely
        with qtbot.waitSignal(w.exportFinished, timeout=10000) as finished:
            assert w.export_to(tmp_path / "exported")
        assert finished.args == [1]
    assert len(list((tmp_path / "exported" / "train_masks").glob("*_mask.gif"))) == 1


def test_the_export_dialog_writes_the_chosen_format_and_remembers_it(qtbot, tmp_path: Path, carvana_dir: Path) -> None:
    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtWidgets import QApplication, QDialogButtonBox

    from app.window.export_dialog import ExportDialog
    from unet_core.formats.coco import read_coco

    w, _ = _window_with_a_correction(qtbot, tmp_path, carvana_dir)
    target = tmp_path / "for_coco"

    def fill() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, ExportDialog):
            QTimer.singleShot(50, fill)
            return
        ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
        assert not ok.isEnabled()  # no folder yet
        dialog.folder.setText(str(target))
        dialog.format.setCurrentIndex(dialog.format.findData("coco"))
        assert dialog.what.currentData() == "all"  # the default: every mask as shown
        dialog.what.setCurrentIndex(dialog.what.findData("corrections"))
        predictions = dialog.what.model().item(dialog.what.findData("predictions"))
        assert not predictions.isEnabled()  # no model in this folder yet
        assert "annotations.json" in dialog.hint.text()
        qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)

    QTimer.singleShot(50, fill)
    with qtbot.waitSignal(w.exportFinished, timeout=10000) as finished:
        w.actions_by_name["export"].trigger()
    assert finished.args == [1]
    assert len(read_coco(target / "annotations.json")["annotations"]) >= 1
    assert w.settings.value("export/format") == "coco" and w.settings.value("export/folder") == str(target)


def test_the_export_dialog_greys_out_kaggle_csv_for_more_than_two_classes(qtbot) -> None:
    from app.window.export_dialog import ExportDialog

    many = ExportDialog("out", "kaggle-csv", classes=4)
    qtbot.addWidget(many)
    item = many.format.model().item(many.format.findData("kaggle-csv"))
    assert not item.isEnabled() and "4 classes" in item.toolTip()
    assert many.format.currentData() == "index"  # the remembered choice cannot be used here
    two = ExportDialog("out", "kaggle-csv", classes=2)
    qtbot.addWidget(two)
    assert two.format.currentData() == "kaggle-csv"
