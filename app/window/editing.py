"""The window's editing aids: class locks, paint over (preserve labels), typed class numbers, class picker, class table edits, brightness/contrast."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtWidgets import QProgressDialog

if TYPE_CHECKING:
    from app.window.main_window import MainWindow
    from unet_core.data.classes import ClassTable
    from unet_core.loop.reorder import Order

TYPING_S = 0.8  # digits typed within this time of each other build one class number (1 then 2 = 12)
ALL = -1  # the paint-over combo's data for "every class"


class EditingCommands:
    """Mixed into :class:`MainWindow`; the state lives per session (not in the settings)."""

    _typed: int | None = None
    _typed_at = 0.0

    # -- class locks and paint over ----------------------------------------------------------------
    def apply_protection(self: MainWindow) -> None:
        """Give the canvas the locked classes and the paint-over choice (every tool respects them)."""
        data = self.paint_over_combo.currentData()
        only = None if data is None or int(data) == ALL else int(data)
        self.canvas.set_protection(self.classes_panel.locked_classes(), only)

    def set_class_locked(self: MainWindow, class_id: int, locked: bool) -> None:
        """Lock (no tool overwrites it) or unlock one class."""
        if not 0 <= class_id < self.classes_panel.class_count():
            return
        self.classes_panel.set_class_locked(class_id, locked)
        self.apply_protection()
        name = self.ws.classes.names[class_id] if class_id < len(self.ws.classes.names) else str(class_id)
        self.status.showMessage(f"{name} {'locked: no tool overwrites it' if locked else 'unlocked'}", 4000)

    def toggle_lock_here(self: MainWindow) -> None:
        """Lock or unlock the class under the pointer (the active class when the pointer is elsewhere)."""
        cls = self.canvas.pointer_pixel()[2]
        if cls < 0 or not self.canvas.pointer_over():
            cls = self.canvas.active_class()
        self.set_class_locked(cls, not self.classes_panel.is_class_locked(cls))

    def refresh_paint_over(self: MainWindow) -> None:
        """Fill the paint-over combo from the class table, keeping the choice where it still exists."""
        combo = self.paint_over_combo
        keep = combo.currentData()
        names = self.ws.classes.names
        combo.blockSignals(True)
        combo.clear()
        combo.addItem("All classes", ALL)
        if names:
            combo.addItem(f"{names[0]} only" if names[0].lower() != "background" else "Background only", 0)
        for cid, name in enumerate(names[1:], 1):
            combo.addItem(f"{name} only", cid)
        index = combo.findData(keep) if keep is not None else 0
        combo.setCurrentIndex(max(index, 0))
        combo.blockSignals(False)
        self.apply_protection()

    def set_paint_over(self: MainWindow, only: int | None) -> None:
        """Preserve labels: edits change only pixels of class ``only`` (0 = background); ``None``: any class."""
        index = self.paint_over_combo.findData(ALL if only is None else int(only))
        if index >= 0:
            self.paint_over_combo.setCurrentIndex(index)  # applies through currentIndexChanged

    def cycle_paint_over(self: MainWindow) -> None:
        """All classes -> background only -> all classes (a single class chosen in the list -> all)."""
        data = self.paint_over_combo.currentData()
        self.set_paint_over(0 if data is None or int(data) == ALL else None)

    def _on_paint_over(self: MainWindow) -> None:
        self.apply_protection()
        only = self.canvas.paint_over()
        for key, value in (("paint_all", None), ("paint_background", 0)):
            self.actions_by_name[key].setChecked(only == value)
        self.status.showMessage(f"Paint over: {self.paint_over_combo.currentText().lower()}", 4000)

    # -- choosing a class --------------------------------------------------------------------------
    def type_class_digit(self: MainWindow, digit: int) -> None:
        """A number key: digits typed quickly one after the other form one class id (1, 2 -> 12) while
        that class exists; otherwise the digit starts a new number."""
        now = time.monotonic()
        count = self.ws.classes.num_classes
        typed = self._typed
        if typed and now - self._typed_at <= TYPING_S and typed * 10 + digit < count:
            value = typed * 10 + digit
        else:
            value = digit
        self._typed, self._typed_at = value, now
        self.select_class(value)
        if value >= 10 and value < count:
            self.status.showMessage(f"Class {value}: {self.ws.classes.names[value]}", 3000)

    def open_class_picker(self: MainWindow) -> None:
        """The searchable class list, under the pointer when it is over the canvas, else at the canvas's corner."""
        classes = self.ws.classes
        if not classes.names:
            return
        canvas = self.canvas
        local = canvas.mapFromGlobal(canvas.cursor().pos()) if canvas.pointer_over() else QPoint(24, 24)
        self.class_picker.open_at(classes.names, classes.colors, canvas.active_class(),
                                  canvas.mapToGlobal(local))

    def edit_classes(self: MainWindow) -> None:
        """Add, rename and recolour the folder's classes in a dialog; saved in the project store at once."""
        from app.panels.class_editor import ClassEditor
        from unet_core.store.project import StoreError

        ws = self.ws
        if self._importing:
            self.status.showMessage("Classes cannot be edited while masks are being imported", 5000)
            return
        if not ws.classes_editable():
            kind = ws.layout.kind if ws.layout is not None else None
            why = ("open a folder first" if kind is None else "this window opened the folder read-only"
                   if ws.store is not None and ws.store.read_only else f"a {kind} folder's classes are fixed by its masks' format")
            self.status.showMessage(f"Classes cannot be edited: {why}", 6000)
            return
        from unet_core.loop.reorder import own_masks

        no_moving = ("training is running" if self.train_ctl.is_running()
                     else "this folder's own masks store the ids" if ws.layout is not None and own_masks(ws.layout)
                     else "")
        dialog = ClassEditor(ws.classes, self, no_moving=no_moving)
        if dialog.exec() != ClassEditor.DialogCode.Accepted:
            return
        table = dialog.result_table()
        if table is None:
            return
        if dialog.moves():
            self.move_classes(table, dialog.order())
            return
        try:
            ws.edit_classes(table)
        except (ValueError, StoreError) as err:
            self.show_problem(f"The classes were not changed: {err}")
            return
        self._apply_classes()
        self.shares.schedule(now=True)  # the panel was rebuilt: its share column too
        self.status.showMessage(f"{table.num_classes} classes saved", 4000)

    def move_classes(self: MainWindow, table: ClassTable, order: Order) -> bool:
        """Give the folder ``table`` with its classes moved as ``order`` says: the folder is closed (everything
        saved, no worker writing), its store rewritten to the new ids in the background behind a progress
        dialog (Cancel before the end changes nothing), then opened again on the same image. Returns whether
        the rewrite started."""
        from app.document.background import run_in_background
        from unet_core.data.layouts import detect_layout
        from unet_core.loop.classes import project_layout
        from unet_core.loop.reorder import reorder_classes
        from unet_core.store.project import ProjectStore

        ws = self.ws
        if ws.layout is None or ws.store is None:
            return False
        if self.train_ctl.is_running() or self._importing:
            why = "training is running" if self.train_ctl.is_running() else "masks are being imported"
            self.show_problem(f"The classes were not moved: {why}.")
            return False
        root, store_root, row, shown = ws.layout.root, ws.store.root, ws.current, ws.classes  # what the dialog showed
        active = self.classes_panel.active_class()
        ws.close_folder()  # saves every edit; the writer, predictions and the store's lock stop here
        dialog = QProgressDialog("Moving classes: rewriting the project's masks, predictions and models…",
                                 "Cancel", 0, 0, self)
        dialog.setWindowTitle("Moving classes")
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setAutoClose(False)
        dialog.setAutoReset(False)
        dialog.setMinimumDuration(0)  # at once: the folder is closed until the rewrite ends
        dialog.show()
        seen = {"done": 0, "total": 0}
        stop = threading.Event()

        def progress(done: int, total: int) -> None:  # on the worker thread
            seen["done"], seen["total"] = done, total
            if stop.is_set():
                raise InterruptedError("cancelled")

        def work() -> int:
            with ProjectStore(store_root, dataset_dir=root) as store:
                reorder_classes(project_layout(detect_layout(root), store), store, table, order, progress, shown)
            return seen["total"]

        def cancel() -> None:  # the dialog stays up, saying so, until the worker has stopped
            stop.set()
            dialog.setLabelText("Cancelling: nothing will change…")
            dialog.setCancelButton(None)  # type: ignore[arg-type]
            dialog.show()

        timer = QTimer(dialog)
        timer.timeout.connect(lambda: (dialog.setMaximum(seen["total"]), dialog.setValue(seen["done"])))
        timer.start(100)
        dialog.canceled.connect(cancel)

        def reopen(message: str | None) -> None:
            timer.stop()
            dialog.close()
            dialog.deleteLater()
            if self.open_folder(root) and row is not None:
                self.show_row(row)
            if message is not None:
                self.show_problem(message)
            else:
                self._apply_classes()
                if active in order:  # the class being painted keeps being painted, under its new id
                    self.select_class(list(order).index(active))
                self.status.showMessage(f"Classes moved: {', '.join(table.names)}", 6000)
            self.classesMoved.emit(message is None)

        def failed(message: str) -> None:
            reopen("The classes were not moved (cancelled): nothing changed." if stop.is_set()
                   else f"The classes were not moved: {message}")

        run_in_background(work, lambda _total: reopen(None), failed)
        return True

    # -- image brightness and contrast ---------------------------------------------------------------
    def set_image_adjustment(self: MainWindow, brightness: int, contrast: int) -> None:
        """Brightness and contrast of the image layer (-100..100 each)."""
        self.image_adjust.set_values(brightness, contrast)
        self.canvas.set_image_adjustment(brightness, contrast)

    def reset_image_adjustment(self: MainWindow) -> None:
        """Show the image as it is in the file."""
        self.set_image_adjustment(0, 0)
