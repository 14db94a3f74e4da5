"""A folder of plain images in the window: it opens, its classes are made in the app, painted and kept."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QLineEdit

from app.panels.class_editor import COL_NAME, ClassEditor
from app.panels.train_form import TrainSettings
from tests.gui.app_helpers import activate, make_window, paint_stroke, wait_for
from unet_core.data.io import write_image
from unet_core.store.project import ProjectStore


def _photos(folder: Path, n: int = 4) -> Path:
    rng = np.random.default_rng(0)
    for i in range(n):
        image = rng.integers(0, 80, (120, 160, 3), dtype=np.uint8)
        image[30:90, 40:120] += 120
        write_image(folder / f"photo{i}.jpg", image)
    return folder


def _open_photos(qtbot, tmp_path: Path, n: int):  # type: ignore[no-untyped-def]
    """A window on a new folder of ``n`` photos."""
    folder = _photos(tmp_path / "photos", n)
    w = make_window(qtbot, tmp_path)
    assert w.open_folder(folder)
    return w, folder


def _painting_photos(qtbot, tmp_path: Path, n: int):  # type: ignore[no-untyped-def]
    """A window on ``n`` new photos, the first one shown, painting class 1."""
    w, _ = _open_photos(qtbot, tmp_path, n)
    activate(qtbot, w)
    wait_for(qtbot, lambda: w.ws.loaded is not None)
    w.select_class(1)
    return w


def _add_class(qtbot, w, name: str) -> None:  # type: ignore[no-untyped-def]
    """Add a class named ``name`` through the class editor (Add Class, type the name, OK)."""

    def add(editor: ClassEditor) -> None:
        qtbot.mouseClick(editor.add_button, Qt.MouseButton.LeftButton)
        editor.table.item(editor.table.rowCount() - 1, COL_NAME).setText(name)
        qtbot.mouseClick(editor.buttons.button(QDialogButtonBox.StandardButton.Ok), Qt.MouseButton.LeftButton)

    _drive_editor(qtbot, add)
    w.edit_classes()


def _drive_editor(qtbot, steps) -> list[str]:  # type: ignore[no-untyped-def]
    """Run ``steps(editor)`` on the class editor once it is open; it returns after the dialog closes."""
    seen: list[str] = []

    def run() -> None:
        editor = QApplication.activeModalWidget()
        if not isinstance(editor, ClassEditor):
            QTimer.singleShot(50, run)
            return
        seen.append(steps(editor) or "")

    QTimer.singleShot(50, run)
    return seen


def test_a_folder_of_photos_opens_gets_classes_and_keeps_them(qtbot, tmp_path: Path) -> None:
    folder = _photos(tmp_path / "photos")
    w = make_window(qtbot, tmp_path)
    assert w.open_folder(folder)
    assert w.ws.layout.kind == "images" and len(w.ws.records) == 4
    assert w.classes_panel.class_count() == 2 and w.actions_by_name["edit_classes"].isEnabled()

    def add_sky(editor: ClassEditor) -> str:
        ok = editor.buttons.button(QDialogButtonBox.StandardButton.Ok)
        qtbot.mouseClick(editor.add_button, Qt.MouseButton.LeftButton)
        assert editor.table.rowCount() == 3
        editor.table.item(2, COL_NAME).setText("object")  # the same name twice: refused, OK disabled
        refused = editor.problem.text()
        assert not ok.isEnabled()
        editor.table.item(2, COL_NAME).setText("sky")
        editor.set_color(2, (0, 120, 255))
        assert ok.isEnabled()
        qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
        return refused

    seen = _drive_editor(qtbot, add_sky)
    assert w.classes_panel.edit_button.isVisible()
    qtbot.mouseClick(w.classes_panel.edit_button, Qt.MouseButton.LeftButton)  # the panel's button opens it
    assert seen and "class 1 ('object') and class 2 ('object') have the same name" in seen[0]
    assert w.ws.classes.names == ("background", "object", "sky")
    assert w.classes_panel.class_count() == 3
    store_file = w.ws.store.root / "classes.json"
    assert store_file.is_file()

    activate(qtbot, w)
    wait_for(qtbot, lambda: w.ws.loaded is not None)
    w.select_class(2)
    paint_stroke(qtbot, w, [(50, 50), (90, 60)])
    w.ws.flush()
    stem = w.ws.records[w.ws.current].stem
    root = w.ws.store.root
    assert sorted(p.name for p in folder.iterdir()) == [".maskloop"] + [f"photo{i}.jpg" for i in range(4)]
    w.close()

    with ProjectStore(root, read_only=True) as store:
        mask = store.load_mask(stem)
    assert mask is not None and (mask == 2).sum() > 50
    again = make_window(qtbot, tmp_path / "again")
    assert again.open_folder(folder)
    assert again.ws.classes.names == ("background", "object", "sky") and again.classes_panel.class_count() == 3


def test_cancelling_the_editor_changes_nothing(qtbot, tmp_path: Path) -> None:
    w, _ = _open_photos(qtbot, tmp_path, 2)

    def cancel(editor: ClassEditor) -> None:
        qtbot.mouseClick(editor.add_button, Qt.MouseButton.LeftButton)
        editor.table.item(2, COL_NAME).setText("")
        assert editor.problem.text() == "class 2 needs a name"
        asked: list[str] = []

        def answer() -> None:  # Esc with edits asks before throwing them away; the first answer keeps them
            box = QApplication.activeModalWidget()
            asked.append(box.text())
            box.reject()

        QTimer.singleShot(100, answer)
        qtbot.keyClick(editor, Qt.Key.Key_Escape)
        assert asked == ["Discard the changes to the classes?"] and editor.isVisible()
        editor.setProperty("quiet_dialogs", True)
        editor.reject()

    seen = _drive_editor(qtbot, cancel)
    w.actions_by_name["edit_classes"].trigger()  # the menu's action (Ctrl+Shift+K)
    assert seen and w.ws.classes.num_classes == 2 and not (w.ws.store.root / "classes.json").exists()


def test_a_carvana_folder_keeps_its_classes(qtbot, tmp_path: Path, carvana_dir: Path) -> None:
    w = make_window(qtbot, tmp_path)
    assert w.open_folder(shutil.copytree(carvana_dir, tmp_path / "carvana"))  # the session's folder stays bare
    assert not w.actions_by_name["edit_classes"].isEnabled() and not w.classes_panel.edit_button.isVisible()
    w.edit_classes()  # from a shortcut or a stale menu: a message, no dialog
    assert "fixed" in w.status.currentMessage()


@pytest.mark.slow
def test_from_photos_to_a_first_model_and_a_class_added_after_it(qtbot, tmp_path: Path) -> None:
    """Paint a few photos with classes made in the app, train the first model with one click, then add a
    class: the next fine-tune grows the model instead of asking for a restart."""
    folder = _photos(tmp_path / "photos", 6)
    w = make_window(qtbot, tmp_path)
    assert w.open_folder(folder)
    w.train_ctl.refresh_availability()
    assert not w.training.train_button.isEnabled()  # nothing painted yet

    def rename(editor: ClassEditor) -> None:
        editor.table.item(1, COL_NAME).setText("box")
        qtbot.mouseClick(editor.buttons.button(QDialogButtonBox.StandardButton.Ok), Qt.MouseButton.LeftButton)

    _drive_editor(qtbot, rename)
    w.edit_classes()
    activate(qtbot, w)
    for row in range(len(w.ws.records)):
        w.show_row(row)
        wait_for(qtbot, lambda row=row: w.ws.current == row and w.ws.loaded is not None)
        w.select_class(1)
        paint_stroke(qtbot, w, [(50, 45), (110, 45), (110, 75), (50, 75)])
    w.ws.flush()
    w.train_ctl.refresh_availability()
    assert w.training.train_button.isEnabled()
    w.train_ctl.choice_use_new = True
    w.training.forms["scratch"].set_values(TrainSettings("scratch", None, 2, None, 3e-3, "cpu", 0.0, "unet-tiny"))
    said: list[str] = []
    w.ws.message.connect(said.append)
    qtbot.mouseClick(w.training.train_button, Qt.MouseButton.LeftButton)
    assert "Training from scratch for 2 epochs… (Settings › From scratch changes it)" in said
    with qtbot.waitSignal(w.train_ctl.runFinished, timeout=120000):
        pass
    wait_for(qtbot, lambda: w.ws.model.predictor is not None)
    assert w.ws.model.meta.classes.names == ("background", "box")
    assert w.training.summary.text().startswith("Round 1 ")  # the first model is round 1 ...
    _add_class(qtbot, w, "lid")
    assert w.ws.classes.names == ("background", "box", "lid") and w.classes_panel.class_count() == 3
    activate(qtbot, w)
    for row in range(len(w.ws.records)):
        w.show_row(row)
        wait_for(qtbot, lambda row=row: w.ws.current == row and w.ws.loaded is not None)
        w.select_class(2)
        paint_stroke(qtbot, w, [(60, 35), (100, 35)])
    w.ws.flush()
    w.train_ctl.refresh_availability()
    assert w.training.finetune_button.isEnabled()
    w.training.forms["finetune"].set_values(TrainSettings("finetune", None, 2, None, 3e-4, "cpu", 0.0, "unet-tiny"))
    old = w.ws.model.version
    qtbot.mouseClick(w.training.finetune_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(w.train_ctl.runFinished, timeout=120000) as blocker:
        pass
    assert blocker.args[0].epochs == 2
    wait_for(qtbot, lambda: w.ws.model.version != old and w.ws.model.predictor is not None)
    assert w.ws.model.meta.classes.names == ("background", "box", "lid")
    assert w.ws.model.meta.arch.num_classes == 3
    assert w.training.summary.text().startswith("Round 2 ")  # ... and the fine-tune after it round 2
    w.close()


def test_importing_labelme_files_shows_their_masks_and_classes(qtbot, tmp_path: Path) -> None:
    import json

    folder = _photos(tmp_path / "photos", 3)
    labels = tmp_path / "labelme"
    labels.mkdir()
    for i in range(2):
        doc = {"imagePath": f"../photos/photo{i}.jpg", "imageHeight": 120, "imageWidth": 160,
               "shapes": [{"label": "box", "shape_type": "rectangle", "points": [[40, 30], [119, 89]]},
                          {"label": "lid", "shape_type": "rectangle", "points": [[40, 30], [119, 40]]}]}
        (labels / f"photo{i}.json").write_text(json.dumps(doc))
    w = make_window(qtbot, tmp_path)
    assert w.open_folder(folder)
    with qtbot.waitSignal(w.importFinished, timeout=15000) as finished:
        assert w.import_from(labels)
    assert finished.args == [2]
    assert w.ws.classes.names == ("background", "box", "lid") and w.classes_panel.class_count() == 3
    assert "Imported 2 mask(s)" in w.status.currentMessage()
    w.show_row(w.ws.row_of["photo1"])
    wait_for(qtbot, lambda: w.ws.loaded is not None and w.ws.current == w.ws.row_of["photo1"])
    mask = w.ws.working_mask()
    assert mask[60, 80] == 1 and mask[35, 80] == 2 and mask[10, 10] == 0
    assert w.ws.records[w.ws.row_of["photo2"]].mask_path is None
    assert sorted(p.name for p in folder.iterdir()) == [".maskloop"] + [f"photo{i}.jpg" for i in range(3)]


def test_a_bad_import_source_is_reported_and_changes_nothing(qtbot, tmp_path: Path) -> None:
    folder = _photos(tmp_path / "photos", 2)
    (tmp_path / "notes.txt").write_text("hello")
    w = make_window(qtbot, tmp_path)
    assert w.open_folder(folder)
    problems: list[str] = []
    w.show_problem = problems.append
    with qtbot.waitSignal(w.importFinished, timeout=15000) as finished:
        w.import_from(tmp_path / "notes.txt")
    assert finished.args == [-1] and problems and "cannot tell the format" in problems[0]
    assert w.ws.classes.num_classes == 2 and not (w.ws.store.root / "imported").exists()


def test_undoing_every_stroke_on_an_image_without_a_prediction_leaves_no_correction(qtbot, tmp_path: Path) -> None:
    w = _painting_photos(qtbot, tmp_path, 2)
    paint_stroke(qtbot, w, [(50, 50), (90, 60)])
    paint_stroke(qtbot, w, [(60, 80), (100, 80)])
    w.ws.flush()
    wait_for(qtbot, lambda: w.ws.store.corrected_stems() == ["photo0"])
    assert w.ws.records[0].status == "corrected"
    w.actions_by_name["undo"].trigger()
    w.actions_by_name["undo"].trigger()
    assert not w.ws.working_mask().any()
    w.next_image()  # leaving the image saves it
    w.ws.flush()
    wait_for(qtbot, lambda: w.ws.store.corrected_stems() == [])
    assert w.ws.records[0].status == "unlabelled"


def test_an_empty_mask_is_kept_as_truth_when_marked_reviewed(qtbot, tmp_path: Path) -> None:
    """Painted from nothing and erased again is no correction (undone); a photo with nothing in it is labelled
    by marking it reviewed, which keeps its empty mask as the truth."""
    w = _painting_photos(qtbot, tmp_path, 2)
    paint_stroke(qtbot, w, [(50, 50), (90, 50)])
    w.set_tool("eraser")
    w.canvas.set_brush_radius(30)
    paint_stroke(qtbot, w, [(40, 50), (100, 50)])
    assert not w.ws.working_mask().any()
    w.actions_by_name["reviewed"].trigger()
    w.ws.flush()
    wait_for(qtbot, lambda: w.ws.store.corrected_stems() == ["photo0"])
    assert w.ws.records[0].status == "reviewed" and not w.ws.store.load_mask("photo0").any()
    w.actions_by_name["reviewed"].trigger()  # R again: a stray key press is undone, nothing is kept
    w.ws.flush()
    wait_for(qtbot, lambda: w.ws.store.corrected_stems() == [])
    assert w.ws.records[0].status == "unlabelled" and "No longer reviewed" in w.status.currentMessage()


def test_moving_a_class_in_the_editor_moves_its_pixels_and_keeps_the_image_open(qtbot, tmp_path: Path) -> None:
    w, _ = _open_photos(qtbot, tmp_path, 3)
    _add_class(qtbot, w, "sky")
    activate(qtbot, w)
    w.show_row(1)
    wait_for(qtbot, lambda: w.ws.current == 1 and w.ws.loaded is not None)
    w.select_class(1)
    paint_stroke(qtbot, w, [(50, 45), (110, 45)])  # "object" pixels, not yet saved when the editor opens
    stem = w.ws.records[1].stem

    def move_sky_up(editor: ClassEditor) -> list[str]:
        editor.table.setCurrentCell(2, COL_NAME)
        assert not editor.down_button.isEnabled() and editor.up_button.isEnabled()
        qtbot.keyClick(editor.table, Qt.Key.Key_Up, Qt.KeyboardModifier.ControlModifier)
        ids = [editor.table.item(r, 0).text() for r in range(3)]
        assert not editor.up_button.isEnabled()  # nothing goes above background
        qtbot.mouseClick(editor.up_button, Qt.MouseButton.LeftButton)  # (refused: row 1 cannot move up)
        qtbot.mouseClick(editor.buttons.button(QDialogButtonBox.StandardButton.Ok), Qt.MouseButton.LeftButton)
        return ids

    seen = _drive_editor(qtbot, move_sky_up)
    with qtbot.waitSignal(w.classesMoved, timeout=20_000) as moved:
        w.edit_classes()
    assert moved.args == [True] and seen == [["0", "1 (was 2)", "2 (was 1)"]]
    assert w.ws.classes.names == ("background", "sky", "object")
    assert w.classes_panel.class_count() == 3 and w.ws.current == 1
    assert w.canvas.active_class() == 2  # "object" was being painted: it still is, under its new id
    wait_for(qtbot, lambda: w.ws.loaded is not None)
    with ProjectStore(w.ws.store.root, read_only=True) as store:
        mask = store.load_mask(stem)
    assert mask is not None and (mask == 2).sum() > 50 and not (mask == 1).any()  # object's pixels are id 2 now
    assert (w.ws.working_mask(1) == 2).sum() == (mask == 2).sum()  # and the open image shows them as object


def test_the_editor_says_why_classes_cannot_move_and_keeps_them_in_place(qtbot) -> None:
    from unet_core.data.classes import ClassTable

    table = ClassTable(("background", "car", "road"), ((0, 0, 0), (255, 0, 0), (0, 255, 0)))
    editor = ClassEditor(table, no_moving="training is running")
    qtbot.addWidget(editor)
    editor.table.setCurrentCell(2, COL_NAME)
    assert not editor.up_button.isEnabled() and "training is running" in editor.up_button.toolTip()
    editor.move_class(2, -1)  # a shortcut: refused as well
    assert editor.names() == ["background", "car", "road"] and not editor.moves()
    free = ClassEditor(table)
    free.setProperty("quiet_dialogs", True)  # closing it at the end asks nothing
    qtbot.addWidget(free)
    free.table.setCurrentCell(2, COL_NAME)
    free.move_class(2, -1)
    assert free.names() == ["background", "road", "car"] and free.order() == [0, 2, 1] and free.moves()
    free.move_class(1, -1)  # nothing goes above background
    assert free.names()[0] == "background"
    free.show()
    free.activateWindow()
    qtbot.waitActive(free)
    free.table.setCurrentCell(1, COL_NAME)
    free.table.editItem(free.table.item(1, COL_NAME))
    editor = free.table.viewport().findChild(QLineEdit)
    assert editor is not None and editor.isVisible()
    editor.setText("asphalt")  # typing a new name ...
    free.move_class(1, 1)  # ... then Ctrl+Down (or Move Down) before pressing Enter
    assert free.names() == ["background", "car", "asphalt"] and free.order() == [0, 1, 2]


def test_labelme_files_beside_the_photos_are_pointed_out_when_the_folder_opens(qtbot, tmp_path: Path) -> None:
    folder = _photos(tmp_path / "photos", 2)
    (folder / "photo0.json").write_text('{"shapes": [], "imagePath": "photo0.jpg"}')
    w = make_window(qtbot, tmp_path)
    assert w.open_folder(folder)
    wait_for(qtbot, lambda: "Import Masks" in w.status.currentMessage(), timeout=5000)
    assert len(w.ws.records) == 2  # the .json files are not taken for images
