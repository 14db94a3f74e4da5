"""The main window: composes the canvas, docks, menus and status bar; owns no business logic."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QUndoGroup, QUndoStack
from PySide6.QtWidgets import QDockWidget, QFileDialog, QMainWindow, QMessageBox, QVBoxLayout, QWidget

from app.canvas import CanvasView
from app.canvas.mask_commands import COMMANDS
from app.document.workspace import READ_ONLY_NOTICE, Workspace
from app.panels.class_picker import ClassPicker
from app.panels.classes_panel import ClassesPanel
from app.panels.file_list import FileListPanel
from app.panels.image_adjust import ImageAdjustPanel
from app.panels.training_panel import TrainingPanel
from app.window.actions import build_actions
from app.window.class_shares import ClassShares
from app.window.commands import TRAINING_BLOCKS_OPEN, WindowCommands
from app.window.editing import EditingCommands
from app.window.keys import CanvasKeys
from app.window.queue import QueueCommands
from app.window.settings import add_recent_folder, get_float, get_int, recent_folders
from app.window.status_widgets import StatusBar
from app.window.training_controller import TrainingController
from app.window.view_modes import DIFF_COLORS, LABELS, mask_for_mode

PROBABILITY_TOOLS = frozenset({"wand", "snap", "region"})  # the smart tools that read the model's probabilities


class MainWindow(WindowCommands, QueueCommands, EditingCommands, QMainWindow):
    """Maskloop's window: file list | canvas | classes + training."""

    exportFinished = Signal(int)  # masks written by File › Export Masks (-1: nothing was written)
    importFinished = Signal(int)  # masks stored by File › Import Masks (-1: nothing was imported)
    classesMoved = Signal(bool)  # Edit Classes moved classes: True when the store was rewritten, False if not

    def __init__(self, settings: QSettings) -> None:
        super().__init__()
        self.settings = settings
        self.setWindowTitle("Maskloop")
        self.setObjectName("maskloop_main")
        self.ws = Workspace(self)
        self.canvas = CanvasView(self)
        self.canvas.setAccessibleName("Image and mask")
        self.setCentralWidget(self.canvas)
        self.undo_group = QUndoGroup(self)
        self.stacks: dict[int, QUndoStack] = {}
        self.view_mode = "corrected"
        self.files = FileListPanel()
        self.classes_panel = ClassesPanel()
        self.image_adjust = ImageAdjustPanel()
        self.class_picker = ClassPicker(self)
        self.training = TrainingPanel()
        self.train_ctl = TrainingController(self.ws, self.training, self)
        self._importing = False  # File › Import Masks is writing the store: no training, no class edit meanwhile
        self.train_ctl.blocked = lambda: "masks are being imported" if self._importing else None
        display = QWidget()  # the classes, then the image's brightness and contrast
        column = QVBoxLayout(display)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.classes_panel, 1)
        column.addWidget(self.image_adjust)
        self._docks = (self._dock("Files", self.files, Qt.DockWidgetArea.LeftDockWidgetArea),
                       self._dock("Classes", display, Qt.DockWidgetArea.RightDockWidgetArea),
                       self._dock("Training", self.training, Qt.DockWidgetArea.RightDockWidgetArea))
        self.status = StatusBar()
        self.setStatusBar(self.status)
        self.actions_by_name = build_actions(self)
        for dock in self.findChildren(QDockWidget):
            self.docks_menu.addAction(dock.toggleViewAction())
        self._wire()
        self._restore()
        self.status.set_hint(self.canvas.tool_hint())
        self.shares = ClassShares(self.canvas, self.classes_panel, lambda: self.view_mode != "difference", self)
        self._radius_for_folder = False  # the first image of a newly opened folder rescales the brush
        self.canvas_keys = CanvasKeys(self, self.canvas)
        self.canvas_keys.install()
        self.refresh_recent_menu()
        self._update_titles()

    def _dock(self, title: str, widget: object, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock_{title.lower()}")
        dock.setWidget(widget)  # type: ignore[arg-type]
        self.addDockWidget(area, dock)
        return dock

    # -- wiring ----------------------------------------------------------------------------------
    def _wire(self) -> None:
        ws, c = self.ws, self.canvas
        ws.datasetOpened.connect(self._on_dataset_opened)
        ws.currentChanged.connect(self._on_current_changed)
        ws.recordChanged.connect(self._on_record_changed)
        ws.maskReplaced.connect(self._on_mask_replaced)
        ws.maskDropped.connect(self._drop_undo)
        ws.predictionReady.connect(self._on_prediction_ready)
        ws.modelChanged.connect(self._on_model_changed)
        ws.groupsReady.connect(self._refresh_versions_menu)  # the validation split may change with the groups
        ws.message.connect(lambda m: self.status.showMessage(m, 6000))
        ws.problem.connect(self.show_problem)
        ws.model.batchProgress.connect(self.status.set_progress)
        ws.model.batchFinished.connect(self._on_batch_finished)
        self.status.cancelRequested.connect(self.cancel_predictions)
        self.files.imageActivated.connect(self.show_row)
        self.files.filterLeft.connect(lambda: self.canvas.setFocus(Qt.FocusReason.OtherFocusReason))
        c.maskEdited.connect(lambda _r: self._on_canvas_edit())
        c.strokeFinished.connect(self.ws.note_stroke)
        c.editRefused.connect(self._explain_no_edit)
        c.cursorMoved.connect(self._on_cursor)
        c.zoomChanged.connect(lambda z: self.status.zoom.setText(f"{z * 100:.0f} %"))
        c.brushRadiusChanged.connect(self._on_radius)
        c.toolChanged.connect(self._on_tool_changed)
        c.hintChanged.connect(self.status.set_hint)
        c.set_background_runner(ws.run_in_background)
        self.brush_spin.valueChanged.connect(c.set_brush_radius)
        self.mode_combo.currentIndexChanged.connect(lambda i: self.set_view_mode(self.mode_combo.itemData(i)))
        self.classes_panel.activeClassChanged.connect(c.set_active_class)
        self.classes_panel.visibilityChanged.connect(c.set_class_visible)
        self.classes_panel.opacityChanged.connect(self._on_opacity)
        self.classes_panel.lockChanged.connect(lambda c, on: self.set_class_locked(c, on))
        self.classes_panel.editRequested.connect(self.edit_classes)
        self.paint_over_combo.currentIndexChanged.connect(lambda _i: self._on_paint_over())
        self.class_picker.picked.connect(self.select_class)
        self.image_adjust.changed.connect(c.set_image_adjustment)
        self.train_ctl.runFinished.connect(self._after_training)
        ws.model.loaded.connect(self._on_model_loaded)
        ws.model.loaded.connect(lambda: self.canvas.set_clicker(self.ws.model.clicker()))

    # -- dataset and images ----------------------------------------------------------------------
    def _on_dataset_opened(self) -> None:
        ws = self.ws
        self.canvas.set_clicker(ws.model.clicker())  # None until the folder's model is loaded
        self._radius_for_folder = True
        self.undo_group.setActiveStack(None)
        for stack in self.stacks.values():
            stack.deleteLater()
        self.stacks.clear()
        self.files.set_records(ws.records)
        for cid in self.classes_panel.locked_classes():  # locks and paint over belong to the folder
            self.classes_panel.set_class_locked(cid, False)
        self.paint_over_combo.setCurrentIndex(0)
        self.actions_by_name["edit_classes"].setEnabled(ws.classes_editable())
        self.classes_panel.edit_button.setVisible(ws.classes_editable())
        self._apply_classes()
        assert ws.layout is not None
        add_recent_folder(self.settings, ws.layout.root)
        self.refresh_recent_menu()
        self._refresh_versions_menu()
        self._update_titles()
        if ws.records:
            last = self.settings.value(f"last_image/{ws.layout.root}", "")
            self.show_row(ws.row_of.get(str(last), 0))
        else:
            self.status.showMessage("This folder has no images", 8000)
        if ws.layout.kind == "images" and ws.store is not None and not ws.store.imported_stems():
            layout = ws.layout  # labelme keeps its files beside the photos: look for them off the GUI thread

            def hint(found: bool) -> None:
                if found and ws.layout is layout:
                    self.status.showMessage("This folder has .json files (labelme?): File › Import Masks… "
                                            "(Ctrl+I) takes their masks", 15000)

            ws.run_in_background(lambda: any(layout.image_dir.glob("*.json")), hint, lambda _m: None)

    def _apply_classes(self) -> None:
        classes = self.ws.classes
        self.classes_panel.set_classes(classes.names, classes.colors)
        self.refresh_paint_over()
        if self.view_mode != "difference":
            self.canvas.set_classes(classes.colors)
        active = self.classes_panel.active_class()
        if active == 0 and classes.num_classes > 1:
            active = 1  # paint the first real class by default, not background
        self.select_class(active)

    def show_row(self, row: int) -> None:
        """Switch to image ``row`` (list order is the file list's business)."""
        if self.ws.current == row and self.ws.loaded is not None:
            return
        self.ws.set_current(row)

    def _on_current_changed(self, row: int) -> None:
        ws = self.ws
        self.files.select_row(row)
        stack = self.stacks.get(row)
        if stack is None:
            stack = QUndoStack(self.undo_group)
            # any push / undo / redo changed this image's working mask, whatever the view shows
            stack.indexChanged.connect(lambda _i, r=row: self._on_stack_changed(r))
            self.stacks[row] = stack
        self.canvas.set_undo_stack(stack)
        self.undo_group.setActiveStack(stack)
        if ws.loaded is None:  # unreadable: no stale image of the previous row, say which file
            name = ws.records[row].image_path.name
            self.canvas.clear(f"{name} cannot be opened\n{ws.records[row].error or ''}".strip())
            self.shares.schedule(now=True)
            self.status.image.setText(f"{name}: unreadable")
            return
        self.canvas.set_image(ws.loaded.image)
        if self._radius_for_folder:
            self._radius_for_folder = False
            self._scale_radius(*ws.loaded.image.shape[:2])
        self._show_mask()
        h, w = ws.loaded.image.shape[:2]
        self.status.image.setText(f"{ws.records[row].image_path.name}  {row + 1}/{len(ws.records)}  {w}×{h}")
        if ws.layout is not None:
            self.settings.setValue(f"last_image/{ws.layout.root}", ws.records[row].stem)
        QTimer.singleShot(0, lambda: self.ws.prefetch(self.files.next_row(row)))

    def _show_mask(self) -> None:
        ws, row = self.ws, self.ws.current
        if row is None or ws.loaded is None:
            return
        prediction = ws.model.labels(row)
        shown = mask_for_mode(self.view_mode, ws.working_mask(), prediction, ws.loaded.original_mask)
        colors = DIFF_COLORS if shown.diff_palette else self.ws.classes.colors
        self.canvas.set_classes(colors)
        self.canvas.set_mask(shown.mask, editable=shown.editable and not ws.read_only)
        self.canvas.set_reference_mask(prediction if prediction is not None else ws.loaded.original_mask)
        self.canvas.set_probabilities(ws.model.probabilities(row))
        self._want_probabilities()
        self.shares.schedule(now=True)
        if shown.note:
            self.status.showMessage(f"{LABELS[self.view_mode]}: {shown.note}", 5000)

    def _explain_no_edit(self) -> None:
        """A click with a painting tool changed nothing: say why."""
        if self.ws.read_only:
            self.status.showMessage("This window can look but not edit", 6000)  # the red notice says why
        else:
            self.status.showMessage(f"{LABELS[self.view_mode]} is for looking: switch to "
                                    f"{LABELS['corrected']} (Alt+1) to edit", 6000)

    def _on_canvas_edit(self) -> None:
        self.ws.note_edit()
        self.shares.schedule()

    def _scale_radius(self, h: int, w: int) -> None:
        """Keep the brush the same share of the image across folders: a radius chosen on 1918-px images
        shrinks for 640-px ones (the long side it was set for is remembered with it)."""
        side = max(h, w)
        ref = get_int(self.settings, "tools/radius_side", 0)
        if ref > 0 and ref != side:
            self.canvas.set_brush_radius(max(1, round(self.canvas.brush_radius() * side / ref)))
        self.settings.setValue("tools/radius_side", side)

    def _on_stack_changed(self, row: int) -> None:
        self.ws.note_edit(row)
        if row == self.ws.current and self.view_mode != "corrected":
            self._show_mask()  # e.g. undo while the difference view is shown

    def _on_mask_replaced(self, row: int) -> None:
        if row == self.ws.current:
            self._show_mask()

    def _on_prediction_ready(self, row: int) -> None:
        if row == self.ws.current:
            self._show_mask()

    def _on_record_changed(self, row: int) -> None:
        self.files.record_changed(row)

    def _drop_undo(self, row: int) -> None:
        stack = self.stacks.pop(row, None)
        if stack is not None:
            stack.clear()
            stack.deleteLater()

    def _on_model_changed(self) -> None:
        self.files.model.set_active_version(self.ws.model.version)
        self._apply_classes()
        self._show_mask()
        self._update_titles()
        self._refresh_versions_menu()

    def _on_batch_finished(self, completed: bool) -> None:
        self.status.set_progress(0, 0)
        self.files.records_changed()
        if not completed:
            self.status.showMessage("Predictions cancelled", 5000)
        elif self.files.sort_key() == "uncertainty":
            calibration = self._calibration()
            if self.queue_ranks_by_uncertainty(calibration):
                self.status.showMessage("Predicted all images; the list is ranked most uncertain first — "
                                        "Q goes to the next image of the queue", 8000)
            else:
                self.status.showMessage("Predicted all images; the list is sorted by uncertainty, but Q takes a "
                                        "shuffled order: " + self._why_shuffled(calibration), 8000)
        else:
            self.status.showMessage("Predicted all images", 5000)

    def _on_cursor(self, x: int, y: int, cls: int) -> None:
        names = self.ws.classes.names
        name = names[cls] if 0 <= cls < len(names) and self.view_mode != "difference" else None
        self.status.set_pixel(x, y, name)

    def _on_radius(self, r: int) -> None:
        if self.brush_spin.value() != r:
            self.brush_spin.setValue(r)
        self.settings.setValue("tools/radius", r)

    def _on_opacity(self, value: float) -> None:
        self.canvas.set_opacity(value)
        self.settings.setValue("tools/opacity", value)

    def _on_tool_changed(self, name: str) -> None:
        action = self.actions_by_name.get(f"tool_{name}")
        if action is not None:
            action.setChecked(True)
        self.status.set_hint(self.canvas.tool_hint())
        self.settings.setValue("tools/tool", name)
        self._want_probabilities()

    def _want_probabilities(self) -> None:
        """The wand, snapping stroke and region click use the model's probabilities: a prediction read
        from the store has none, so the shown image is predicted again (in the background) for them."""
        if self.canvas.tool() in PROBABILITY_TOOLS and self.canvas.probabilities() is None:
            self.ws.model.request_probabilities(self.ws.current)

    def _update_titles(self) -> None:
        ws = self.ws
        folder = ws.layout.root.name if ws.layout is not None else "no folder"
        self.setWindowTitle(f"{folder}{' [read-only]' if ws.read_only else ''} — Maskloop")
        self.status.set_read_only(READ_ONLY_NOTICE if ws.read_only else None)
        elsewhere = ws.store is not None and ws.layout is not None and \
            ws.store.root.parent.resolve() != ws.layout.root.resolve()
        self.status.set_store_place(str(ws.store.root) if elsewhere and ws.store is not None else None)
        if ws.model.predictor is not None:
            self.status.device.setText(f"device: {ws.model.predictor.device.type}")
            self.status.model.setText(f"model {ws.model.version}")
        else:
            import torch  # already loaded by the core

            self.status.device.setText("device: cuda" if torch.cuda.is_available() else "device: cpu")
            self.status.model.setText("no model")

    # -- held keys -------------------------------------------------------------------------------
    def changeEvent(self, event: QEvent) -> None:
        """Losing activation (a dialog, another app) lets go of held Space / H: their releases go elsewhere."""
        if event.type() == QEvent.Type.ActivationChange and not self.isActiveWindow():
            self.canvas_keys.release_all()
        super().changeEvent(event)

    # -- persistence -----------------------------------------------------------------------------
    def _restore(self) -> None:
        s = self.settings
        geometry = s.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1400, 900)
        state = s.value("window/state")
        if state is not None:
            self.restoreState(state)
        else:  # first start: room for file names, the class list and the plots
            QTimer.singleShot(0, self._default_dock_sizes)
        radius = get_int(s, "tools/radius", 12)
        self.canvas.set_brush_radius(radius)
        self.brush_spin.setValue(radius)
        opacity = get_float(s, "tools/opacity", 0.5)
        self.classes_panel.set_opacity(opacity)
        self.canvas.set_opacity(opacity)
        tool = str(s.value("tools/tool", "brush"))
        self.set_tool(tool if f"tool_{tool}" in self.actions_by_name and tool not in COMMANDS else "brush")
        self.training.restore_settings(s)

    def _default_dock_sizes(self) -> None:
        files, classes, training = self._docks
        self.resizeDocks([files, classes], [400, 440], Qt.Orientation.Horizontal)
        self.resizeDocks([classes, training], [320, 530], Qt.Orientation.Vertical)

    def closeEvent(self, event: QCloseEvent) -> None:
        """Stop training cleanly, write every edit, remember the window. While a run trains, the user is asked
        first (quitting stops it and keeps no new version)."""
        if self.train_ctl.is_running() and self.isVisible() and not self.property("quiet_dialogs"):
            answer = QMessageBox.question(
                self, "Stop training and quit?",
                "A training run is still working. Quitting stops it, and its model is not kept as a new version.",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
            if answer != QMessageBox.StandardButton.Yes:
                event.ignore()
                return
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        self.training.save_settings(self.settings)
        self.train_ctl.shutdown()
        self.files.shutdown()
        self.ws.shutdown()
        self.settings.sync()
        event.accept()

    def show_problem(self, message: str) -> None:
        """A problem the user must see (non-blocking for tests: a modal box only when visible)."""
        self.status.showMessage(message, 10000)
        if self.isVisible() and not self.property("quiet_dialogs"):
            QMessageBox.warning(self, "Maskloop", message)

    def choose_folder(self) -> None:
        """File → Open Folder (refused before the folder is chosen while a run trains on the open one)."""
        if self.train_ctl.is_running():
            self.show_problem(TRAINING_BLOCKS_OPEN)
            return
        start = (recent_folders(self.settings) or [str(Path.home())])[0]
        folder = QFileDialog.getExistingDirectory(self, "Open dataset folder", start)
        if folder:
            self.open_folder(folder)
