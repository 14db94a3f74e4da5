"""The main window's commands (menu and shortcut targets), kept apart from its layout and wiring."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QMessageBox,
    QTextBrowser,
    QVBoxLayout,
)

from app.window.keys import is_text_entry
from app.window.settings import recent_folders
from app.window.view_modes import LABELS, MODES
from unet_core.errors import MaskloopError
from unet_core.fsutil import atomic_copy
from unet_core.model.checkpoint_header import check_checkpoint_output
from unet_core.store.state import ImageStatus

if TYPE_CHECKING:
    from app.window.main_window import MainWindow

SHORTCUTS = """<table cellspacing=6>
<tr><td><b>Ctrl+O</b></td><td>open folder</td><td><b>Ctrl+M</b></td><td>open model</td></tr>
<tr><td><b>B E G P V</b></td><td>brush, eraser, fill, polygon, revert-to-prediction</td>
<td><b>[ ]</b></td><td>brush radius (wand: tolerance; cleanup: size; refine: reach)</td></tr>
<tr><td><b>0–9</b></td><td>active class (its id; digits typed quickly: 1 2 = class 12)</td><td><b>hold H</b></td><td>hide overlay</td></tr>
<tr><td><b>C / Ctrl+K</b></td><td>pick a class by name</td><td><b>L</b></td><td>lock / unlock the class under the pointer</td></tr>
<tr><td><b>O</b></td><td>paint over background only / all classes</td><td><b>Ctrl+Alt+0</b></td><td>reset brightness and contrast</td></tr>
<tr><td><b>Space+drag, middle drag</b></td><td>pan</td><td><b>wheel</b></td><td>zoom at cursor</td></tr>
<tr><td><b>Ctrl+0 / Ctrl+1</b></td><td>fit / 1:1</td><td><b>Alt+1…4</b></td><td>corrected / prediction / original / difference</td></tr>
<tr><td><b>Ctrl+Z / Ctrl+Shift+Z</b></td><td>undo / redo (one stroke each)</td><td><b>Ctrl+Enter</b></td><td>accept prediction</td></tr>
<tr><td><b>D / A, PgDn / PgUp</b></td><td>next / previous image</td><td><b>N</b></td><td>next not reviewed</td></tr>
<tr><td><b>Q</b></td><td>next in queue (most uncertain first)</td><td><b>Ctrl+Shift+Q</b></td><td>rank the queue by uncertainty</td></tr>
<tr><td><b>R</b></td><td>mark reviewed</td><td><b>Ctrl+P / Ctrl+Shift+P</b></td><td>predict image / all</td></tr>
<tr><td><b>Ctrl+T</b></td><td>fine-tune on corrections</td><td><b>Ctrl+F</b></td><td>filter the file list</td></tr>
<tr><td><b>Polygon</b></td><td>click points; double-click or a click on the first point closes, then drag points; Enter applies; Esc cancels</td><td></td><td></td></tr>
<tr><td><b>W</b></td><td>magic wand (drag sideways / Ctrl+wheel: tolerance)</td><td><b>S</b></td><td>snapping stroke (Shift: remove)</td></tr>
<tr><td><b>F</b></td><td>region click (Shift: model's second choice)</td><td><b>I</b></td><td>intelligent scissors</td></tr>
<tr><td><b>X</b></td><td>superpixel brush</td><td><b>K</b></td><td>clean up holes and specks (Enter applies)</td></tr>
<tr><td><b>T</b></td><td>edge-aware brush (Shift: erase)</td><td><b>Enter / Esc</b></td><td>apply / cancel a preview</td></tr>
<tr><td><b>U</b></td><td>click tool (interactive model): left click the class, right click not it; Enter: next object</td>
<td><b>Ctrl+Shift+K</b></td><td>edit classes (add, rename, recolour, move: Ctrl+Up/Down)</td></tr>
<tr><td><b>Ctrl+I / Ctrl+E</b></td><td>import / export masks (COCO, labelme, VOC, Kaggle CSV, ...)</td>
<td><b>J</b></td><td>refine edges: the active class's outline onto the image's edges (Enter applies)</td></tr>
</table>"""


TRAINING_BLOCKS_OPEN = ("Training is running on this folder: stop it or let it finish before opening another "
                        "folder.")


class WindowCommands:
    """Mixed into :class:`MainWindow`; every method is a user command."""

    # -- files -----------------------------------------------------------------------------------
    def open_folder(self: MainWindow, folder: str | Path) -> bool:
        """Open a dataset folder, saying what was expected when the layout is unknown.

        Refused while a training run works on the open folder: its model belongs to that folder's store.
        """
        if self.train_ctl.is_running():
            self.show_problem(TRAINING_BLOCKS_OPEN)
            return False
        try:
            self.ws.open_folder(folder)
        except MaskloopError as err:
            self.show_problem(f"Cannot open this folder.\n\n{err}")
            return False
        return True

    def open_model(self: MainWindow, path: str | Path) -> bool:
        """Load a checkpoint into the open folder's store as a new version."""
        if self.ws.store is None:
            self.show_problem("Open a dataset folder before loading a model.")
            return False
        try:
            self.ws.model.import_model(path)
        except (MaskloopError, ValueError, OSError) as err:
            text = str(err).replace(str(Path(path).absolute()), Path(path).name).replace(str(path), Path(path).name)
            self.show_problem(" ".join(f"Cannot load this model: {text}".split()))  # one line, naming the file
            return False
        return True

    def choose_model(self: MainWindow) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open model", "", "Maskloop checkpoints (*.safetensors)")
        if path:
            self.open_model(path)

    def save_model_as(self: MainWindow) -> None:
        src = self.ws.model.path
        if src is None:
            self.show_problem("There is no model to save yet.")
            return
        path, _ = QFileDialog.getSaveFileName(self, "Save model as", f"{self.ws.model.version}.safetensors",
                                              "Maskloop checkpoints (*.safetensors)")
        if not path:
            return
        try:
            check_checkpoint_output(path)  # never over a dataset's file or anything but a checkpoint
            atomic_copy(src, path)  # a WriteError names the file: disk full, read-only folder
        except MaskloopError as err:
            self.show_problem(f"Cannot save the model.\n\n{err}")
            return
        self.status.showMessage(f"Saved {self.ws.model.version} to {path}", 6000)

    def choose_export(self: MainWindow) -> None:
        """File › Export Masks: a folder, a format and which masks; the writing runs in the background."""
        from app.window.export_dialog import ExportDialog

        ws = self.ws
        if ws.store is None or ws.layout is None:
            return
        last = self.settings
        dialog = ExportDialog(str(last.value("export/folder", "")), str(last.value("export/format", "native")),
                              str(last.value("export/what", "all")), self, has_model=ws.store.current_model() is not None,
                              native=ws.layout.kind != "images", classes=ws.classes.num_classes)
        if dialog.exec() != ExportDialog.DialogCode.Accepted:
            return
        out, fmt, what = dialog.choice()
        for key, value in (("folder", str(out)), ("format", fmt), ("what", what)):
            last.setValue(f"export/{key}", value)
        self.export_to(out, fmt, what)

    def export_to(self: MainWindow, out: Path, fmt: str = "native", what: str = "corrections") -> bool:
        """Export the chosen masks to ``out`` in ``fmt`` (explicit; :func:`unet_core.formats.export.export_masks`)
        on a background thread; :attr:`exportFinished` carries the count (-1: nothing was written). Returns
        whether it started.

        Original files of a dataset (a native export into the dataset's own folder) are replaced only after the
        user confirms a question naming how many, and only after they are copied into the project store.
        """
        from unet_core.data.originals import backup_files
        from unet_core.formats.export import chosen_masks, export_masks, export_originals, export_targets
        from unet_core.loop.truth import record_pairs

        ws = self.ws
        assert ws.store is not None and ws.layout is not None
        ws.flush()
        store, layout, classes = ws.store, ws.layout, ws.classes
        try:
            pairs = record_pairs(ws.records)  # what the window holds: no folder scan on the GUI thread
            stems = [stem for stem, _ in chosen_masks(layout, store, pairs, what)]
            originals = export_originals(layout, export_targets(layout, Path(out), fmt, stems).values(),
                                         [p.image for p in pairs])
        except (MaskloopError, OSError, ValueError) as err:
            self.show_problem(f"Export failed: {err}")
            self.exportFinished.emit(-1)
            return False
        if originals and not self.confirm_replace_originals(len(originals), Path(out)):
            self.status.showMessage("Export cancelled: nothing was written", 8000)
            self.exportFinished.emit(-1)
            return False
        self.status.showMessage(f"Exporting {len(stems)} mask(s) to {out}…")

        def work() -> tuple[int, Path | None]:
            backup = backup_files(originals, store.root) if originals else None
            # only what was asked about: the images checked here, and the originals the user agreed to replace
            result = export_masks(layout, store, Path(out), fmt, what, classes, replace_originals=originals,
                                  stems=set(stems))
            return result.count, backup

        def done(result: tuple[int, Path | None]) -> None:
            count, backup = result
            kept = f"; the {len(originals)} original(s) replaced are backed up in {backup}" if backup else ""
            self.status.showMessage(f"Exported {count} mask(s) ({what}, {fmt}) to {out}{kept}", 10000)
            self.exportFinished.emit(count)

        def failed(message: str) -> None:
            self.show_problem(f"Export failed: {message}")
            self.exportFinished.emit(-1)

        ws.run_in_background(work, done, failed)
        return True

    def choose_import(self: MainWindow) -> None:
        """File › Import Masks: a file or folder of another tool's masks becomes what the images start from."""
        from app.window.import_dialog import ImportDialog

        if self.ws.store is None or self.ws.layout is None:
            return
        dialog = ImportDialog(str(self.settings.value("import/source", "")), self)
        if dialog.exec() != ImportDialog.DialogCode.Accepted:
            return
        source, fmt = dialog.choice()
        self.settings.setValue("import/source", str(source))
        self.import_from(source, fmt)

    def import_from(self: MainWindow, source: Path, fmt: str | None = None) -> bool:
        """Import ``source`` into the open folder's store on a background thread, then reopen the folder so
        the images show their imported masks (and any classes added); :attr:`importFinished` carries the count
        (-1: nothing was imported). Refused while training runs or when this window only reads the folder."""
        from unet_core.formats.importer import import_masks

        ws = self.ws
        if ws.store is None or ws.layout is None:
            return False
        if self.train_ctl.is_running() or ws.read_only:  # a run reads the store; a read-only window cannot write
            why = "training is running" if self.train_ctl.is_running() else "another window writes this folder"
            self.show_problem(f"Cannot import now: {why}.")
            self.importFinished.emit(-1)
            return False
        if self._importing:
            self.status.showMessage("An import is already running", 5000)
            return False
        ws.flush()
        store, layout, root = ws.store, ws.layout, ws.layout.root
        self.status.showMessage(f"Importing masks from {source}…")
        self._importing = True

        def done(outcome: tuple[Any, Any]) -> None:
            self._importing = False
            result, _ = outcome
            parts = [f"Imported {result.count} mask(s) from {Path(source).name}"]
            if result.added_classes:
                parts.append(f"classes added: {', '.join(result.added_classes)}")
            if result.skipped:
                parts.append(f"{len(result.skipped)} skipped (e.g. {next(iter(result.skipped))}: "
                             f"{next(iter(result.skipped.values()))})")
            if result.unmatched:
                parts.append(f"{len(result.unmatched)} match no image")
            if result.count or result.added_classes:
                self.open_folder(root)  # records, classes and base masks as imported
            self.status.showMessage("; ".join(parts), 15000)
            self.importFinished.emit(result.count)

        def failed(message: str) -> None:
            self._importing = False
            self.show_problem(f"Import failed: {message}")
            self.importFinished.emit(-1)

        ws.run_in_background(lambda: import_masks(layout, store, Path(source), fmt), done, failed)
        return True

    def confirm_replace_originals(self: MainWindow, count: int, folder: Path) -> bool:
        """Ask before an export replaces ``count`` original files in ``folder``; the default is No."""
        answer = QMessageBox.question(
            self, "Replace original masks?",
            f"{folder} is a dataset's own folder: exporting here replaces {count} original mask file(s).\n\n"
            "Copies of them are kept in the project store (originals-backup) first. Replace them?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def refresh_recent_menu(self: MainWindow) -> None:
        self.recent_menu.clear()
        folders = recent_folders(self.settings)
        for folder in folders:
            self.recent_menu.addAction(folder, lambda f=folder: self.open_folder(f))
        self.recent_menu.setEnabled(bool(folders))

    def _refresh_versions_menu(self: MainWindow) -> None:
        menu = self.versions_menu
        menu.clear()
        store = self.ws.store
        versions = store.models() if store is not None else []
        split = self._app_split()
        for mv in reversed(versions):
            dice = f"Dice {mv.val_dice:.3f}" if mv.val_dice is not None else "Dice n/a"
            comparable = mv.val_dice is None or (split is not None and self.ws.model.version_split(mv.path) == split)
            if not comparable:  # measured on another split (e.g. the CLI's own): never ranked against ours
                dice += " (other split: not comparable)"
            act = menu.addAction(f"{mv.id} · {dice} · {mv.note}", lambda v=mv.id: self.ws.model.set_version(v))
            act.setCheckable(True)
            act.setChecked(mv.id == self.ws.model.version)
            act.setData(comparable)
        menu.setEnabled(bool(versions))

    def _app_split(self: MainWindow) -> str | None:
        """The id of the validation split this folder's training runs measure Dice on."""
        from unet_core.loop.corrections import split_id, validation_stems

        ws = self.ws
        if ws.layout is None or not ws.records:
            return None
        return split_id(validation_stems(ws.layout, ws.records, ws.groups))

    # -- editing ---------------------------------------------------------------------------------
    def accept_prediction(self: MainWindow) -> None:
        if self.ws.read_only:
            self._explain_no_edit()
            return
        row = self.ws.current
        pred = self.ws.model.labels(row)
        if row is None or pred is None:
            self.status.showMessage("No prediction for this image yet (Ctrl+P predicts it)", 5000)
            return
        if self.view_mode != "corrected":
            self.set_view_mode("corrected")
        if not self.canvas.replace_mask_pixels(pred, "Accept prediction"):
            self.status.showMessage("The mask already equals the prediction", 4000)

    def mark_reviewed(self: MainWindow) -> None:
        if self.ws.read_only:
            self._explain_no_edit()
            return
        ws = self.ws
        row = ws.current
        if row is None:
            return
        if ws.records[row].status == ImageStatus.REVIEWED.value:  # R again: a stray key press is undone
            ws.mark_reviewed(False)
            self.status.showMessage(f"No longer reviewed: {ws.records[row].status}", 4000)
            return
        ws.mark_reviewed(True)
        self.status.showMessage("Marked reviewed (R again to undo)", 4000)

    def set_tool(self: MainWindow, name: str) -> None:
        self.canvas.set_tool(name)
        if not is_text_entry(QApplication.focusWidget()):  # a tool chosen from the file list, a menu or the
            self.canvas.setFocus()  # toolbar: its Enter, Esc and Backspace go to the canvas

    def select_class(self: MainWindow, class_id: int) -> None:
        if class_id < self.ws.classes.num_classes:
            self.classes_panel.set_active_class(class_id)
            self.canvas.set_active_class(class_id)

    def set_view_mode(self: MainWindow, mode: Any) -> None:
        if mode not in MODES:
            return
        self.view_mode = mode
        self.actions_by_name[f"mode_{mode}"].setChecked(True)
        idx = self.mode_combo.findData(mode)
        if self.mode_combo.currentIndex() != idx:
            self.mode_combo.setCurrentIndex(idx)
        self._show_mask()
        self.status.showMessage(f"View: {LABELS[mode]}", 2000)

    # -- navigation ------------------------------------------------------------------------------
    def next_image(self: MainWindow) -> None:
        self._go(self.files.next_row(self.ws.current) if self.ws.current is not None else 0)

    def previous_image(self: MainWindow) -> None:
        self._go(self.files.previous_row(self.ws.current) if self.ws.current is not None else 0)

    def next_not_reviewed(self: MainWindow) -> None:
        cur = self.ws.current if self.ws.current is not None else -1
        self._go(self.files.next_row(cur, not_reviewed=True))

    def _go(self: MainWindow, row: int | None) -> None:
        if row is None:
            self.status.showMessage("No more images in this direction", 3000)
            return
        self.show_row(row)

    # -- model -----------------------------------------------------------------------------------
    def predict_current(self: MainWindow) -> None:
        if self.ws.model.predictor is None:
            self.status.showMessage("Load a model (Ctrl+M) or train one first", 5000)
        elif self.ws.current is not None:
            self.ws.model.request_prediction(self.ws.current, urgent=True)

    def predict_all(self: MainWindow) -> None:
        n = self.ws.model.predict_all()
        self.status.showMessage(f"Predicting {n} image(s)…" if n else "Every image is already predicted", 5000)
        if n:
            self.status.set_progress(0, n)

    def cancel_predictions(self: MainWindow) -> None:
        self.ws.model.cancel()
        self.status.set_progress(0, 0)

    def finetune_now(self: MainWindow) -> None:
        self.train_ctl.start_finetune(self.training.settings("finetune"))

    # -- help ------------------------------------------------------------------------------------
    def show_shortcuts(self: MainWindow) -> None:
        """The shortcut list in a dialog that fits the screen (it scrolls when the screen is short)."""
        dialog = QDialog(self)
        dialog.setWindowTitle("Keyboard shortcuts")
        text = QTextBrowser(dialog)
        text.setHtml(SHORTCUTS)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok, dialog)
        buttons.accepted.connect(dialog.accept)
        layout = QVBoxLayout(dialog)
        layout.addWidget(text)
        layout.addWidget(buttons)
        doc = text.document()
        doc.setTextWidth(760)
        screen = (self.screen() or dialog.screen()).availableGeometry()
        height = min(int(doc.size().height()) + 90, int(screen.height() * 0.85))
        dialog.resize(min(800, int(screen.width() * 0.9)), height)
        dialog.exec()

    def show_about(self: MainWindow) -> None:
        from unet_core import __version__

        QMessageBox.about(self, "About Maskloop", f"<b>Maskloop {__version__}</b><br>Predict, correct, fine-tune: "
                          "semantic-segmentation masks with a from-scratch UNet.")
