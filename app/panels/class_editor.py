"""ClassEditor: the dialog where a user adds, renames, recolours and reorders a folder's classes."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QColorDialog,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.panels.classes_panel import swatch_icon
from app.panels.dialog_buttons import ok_cancel
from unet_core.data.classes import ClassTable, spare_colors
from unet_core.limits import MAX_CLASSES
from unet_core.loop.classes import name_problem
from unet_core.loop.reorder import Order, identity, order_problem

COL_ID, COL_COLOR, COL_NAME = range(3)
OLD_ID_ROLE = Qt.ItemDataRole.UserRole + 1  # the id a row's class had when the dialog opened (-1: added)


class ClassEditor(QDialog):
    """The folder's classes as a table: names are edited in place, a colour is changed by double-clicking
    its swatch (or the *Colour…* button), *Add Class* appends one, *Move Up* / *Move Down* (Ctrl+Up /
    Ctrl+Down) change a class's place, and so its id (background stays first). No class is removed: masks
    store ids. OK stays disabled, with the reason shown, while the table is not valid."""

    def __init__(self, classes: ClassTable, parent: QWidget | None = None, no_moving: str = "") -> None:
        """``no_moving``: why classes cannot change places now (training runs, the folder's own masks store
        ids); Move Up / Move Down are then disabled and say it."""
        super().__init__(parent)
        self._no_moving = no_moving
        self.setWindowTitle("Edit Classes")
        self.setAccessibleName("Edit classes")
        self._original = classes
        self._colors: list[tuple[int, int, int]] = list(classes.colors)
        self.table = QTableWidget(0, 3, self)
        self.table.setHorizontalHeaderLabels(["#", "Colour", "Name"])
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(COL_ID, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COL_COLOR, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COL_NAME, QHeaderView.ResizeMode.Stretch)
        self.add_button = QPushButton("&Add Class")
        self.add_button.setToolTip("Append a class (its id is the next number)")
        self.color_button = QPushButton("&Colour…")
        self.color_button.setToolTip("Choose the selected class's colour")
        self.up_button = QPushButton("Move &Up")
        self.up_button.setToolTip("Give the selected class the id above (Ctrl+Up)")
        self.down_button = QPushButton("Move &Down")
        self.down_button.setToolTip("Give the selected class the id below (Ctrl+Down)")
        if no_moving:
            for button in (self.up_button, self.down_button):
                button.setToolTip(f"Classes cannot be moved now: {no_moving}")
        self.problem = QLabel()
        self.problem.setStyleSheet("color: #b00020")
        self.problem.setWordWrap(True)
        note = QLabel("Add, rename, recolour and move classes. A class that moves takes its pixels, "
                      "predictions and model outputs with it (the project's stored masks and models are "
                      "rewritten to the new ids); the next fine-tune teaches the model the new classes.")
        note.setWordWrap(True)
        self.buttons = ok_cancel(self)
        row = QHBoxLayout()
        row.addWidget(self.add_button)
        row.addWidget(self.color_button)
        row.addWidget(self.up_button)
        row.addWidget(self.down_button)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(note)
        layout.addWidget(self.table, 1)
        layout.addLayout(row)
        layout.addWidget(self.problem)
        layout.addWidget(self.buttons)
        for cid, name in enumerate(classes.names):
            self._append_row(cid, name, cid)
        self.add_button.clicked.connect(self.add_class)
        self.up_button.clicked.connect(lambda: self.move_class(self.table.currentRow(), -1))
        self.down_button.clicked.connect(lambda: self.move_class(self.table.currentRow(), 1))
        for key, step in (("Ctrl+Up", -1), ("Ctrl+Down", 1)):
            QShortcut(QKeySequence(key), self, lambda s=step: self.move_class(self.table.currentRow(), s))
        self.table.currentCellChanged.connect(lambda *_: self._validate())
        self.color_button.clicked.connect(lambda: self.choose_color(self.table.currentRow()))
        self.table.cellDoubleClicked.connect(lambda r, c: self.choose_color(r) if c == COL_COLOR else None)
        self.table.itemChanged.connect(lambda _item: self._validate())
        self.resize(420, 420)
        self._validate()

    def _append_row(self, cid: int, name: str, old_id: int | None) -> None:
        self.table.blockSignals(True)
        try:
            r = self.table.rowCount()
            self.table.insertRow(r)
            ident = QTableWidgetItem(str(cid))
            ident.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
            ident.setData(OLD_ID_ROLE, -1 if old_id is None else old_id)
            swatch = QTableWidgetItem()
            swatch.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
            swatch.setIcon(swatch_icon(self._colors[cid], 18))
            swatch.setToolTip("Double-click to choose a colour")
            self.table.setItem(r, COL_ID, ident)
            self.table.setItem(r, COL_COLOR, swatch)
            self.table.setItem(r, COL_NAME, QTableWidgetItem(name))
        finally:
            self.table.blockSignals(False)

    def move_class(self, row: int, step: int) -> None:
        """Move the class in ``row`` one place up (``step`` -1) or down (+1); background stays first."""
        other = row + step
        if self._no_moving or not (1 <= row < self.table.rowCount() and 1 <= other < self.table.rowCount()):
            return
        self._commit_typing()  # Ctrl+Up while a name is being typed: the name moves with its class
        self.table.blockSignals(True)
        try:
            for col in (COL_COLOR, COL_NAME):
                a, b = self.table.takeItem(row, col), self.table.takeItem(other, col)
                self.table.setItem(row, col, b)
                self.table.setItem(other, col, a)
            a_old = self.table.item(row, COL_ID).data(OLD_ID_ROLE)
            self.table.item(row, COL_ID).setData(OLD_ID_ROLE, self.table.item(other, COL_ID).data(OLD_ID_ROLE))
            self.table.item(other, COL_ID).setData(OLD_ID_ROLE, a_old)
            self._colors[row], self._colors[other] = self._colors[other], self._colors[row]
        finally:
            self.table.blockSignals(False)
        self._label_ids()
        self.table.setCurrentCell(other, COL_NAME)
        self._validate()

    def _commit_typing(self) -> None:
        """Store the name being typed in its cell and close the editor."""
        delegate = self.table.itemDelegate()
        for editor in self.table.viewport().findChildren(QLineEdit):  # the open cell editor, if any
            if editor.isVisible():
                delegate.commitData.emit(editor)
                delegate.closeEditor.emit(editor)

    def _label_ids(self) -> None:
        """Each row's id, and the id it had before when it moved."""
        for r in range(self.table.rowCount()):
            item = self.table.item(r, COL_ID)
            old = int(item.data(OLD_ID_ROLE))
            item.setText(str(r) if old in (-1, r) else f"{r} (was {old})")

    def order(self) -> Order:
        """For each id in the table, the id its class had when the dialog opened (``None``: added)."""
        old = (int(self.table.item(r, COL_ID).data(OLD_ID_ROLE)) for r in range(self.table.rowCount()))
        return [None if j < 0 else j for j in old]

    def moves(self) -> bool:
        """Whether a class that existed changes its id (the project's masks and models are rewritten)."""
        return not identity(self.order(), self._original.num_classes)

    def add_class(self) -> None:
        """Append a class named ``class N`` in a colour no other class has, and start editing its name."""
        n = self.table.rowCount()
        if n >= MAX_CLASSES:
            return
        self._colors.append(spare_colors(self._colors, 1)[0])
        self._append_row(n, f"class {n}", None)
        self.table.setCurrentCell(n, COL_NAME)
        self.table.editItem(self.table.item(n, COL_NAME))
        self._validate()

    def set_color(self, row: int, rgb: tuple[int, int, int]) -> None:
        """Give class ``row`` the colour ``rgb``."""
        if 0 <= row < len(self._colors):
            self._colors[row] = rgb
            self.table.item(row, COL_COLOR).setIcon(swatch_icon(rgb, 18))
            self._validate()

    def choose_color(self, row: int) -> None:
        """Ask for class ``row``'s colour (the system's colour dialog)."""
        if not 0 <= row < len(self._colors):
            return
        chosen = QColorDialog.getColor(QColor(*self._colors[row]), self, f"Colour of class {row}")
        if chosen.isValid():
            self.set_color(row, (chosen.red(), chosen.green(), chosen.blue()))

    def names(self) -> list[str]:
        """The names as typed, in id order."""
        return [self.table.item(r, COL_NAME).text() for r in range(self.table.rowCount())]

    def result_table(self) -> ClassTable | None:
        """The edited classes, or ``None`` while they are not valid (:attr:`problem` says why)."""
        return None if self._problem() else ClassTable(tuple(n.strip() for n in self.names()), tuple(self._colors))

    def changed(self) -> bool:
        """Whether anything differs from the classes the dialog opened with."""
        return (tuple(self.names()) != self._original.names or tuple(self._colors) != self._original.colors
                or self.moves())

    def reject(self) -> None:
        """Cancel (Esc, the Cancel button, closing): asks first when there are edits to lose."""
        if self.changed() and not self.property("quiet_dialogs"):
            answer = QMessageBox.question(self, "Discard the changes?", "Discard the changes to the classes?",
                                          QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
                                          QMessageBox.StandardButton.Cancel)
            if answer != QMessageBox.StandardButton.Discard:
                return
        super().reject()

    def _problem(self) -> str:
        """Why the table cannot be saved as it is ("" when it can), in the words of the table."""
        names = self.names()
        problem = name_problem(names)  # first: a table cannot even be made of an empty name
        if problem:
            return problem
        return order_problem(self._original, ClassTable(tuple(n.strip() for n in names), tuple(self._colors)),
                             self.order())

    def _validate(self) -> None:
        message = self._problem()
        self.problem.setText(message)
        self.problem.setVisible(bool(message))
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(not message)
        self.add_button.setEnabled(self.table.rowCount() < MAX_CLASSES)
        row = self.table.currentRow()
        self.up_button.setEnabled(row >= 2 and not self._no_moving)
        self.down_button.setEnabled(1 <= row < self.table.rowCount() - 1 and not self._no_moving)


__all__ = ["ClassEditor"]
