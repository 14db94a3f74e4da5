"""ClassEditor: the dialog where a user adds, renames and recolours a folder's classes."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QColorDialog,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.panels.classes_panel import swatch_icon
from unet_core.data.classes import ClassTable, spare_colors
from unet_core.limits import MAX_CLASSES
from unet_core.loop.classes import check_edit, name_problem

COL_ID, COL_COLOR, COL_NAME = range(3)


class ClassEditor(QDialog):
    """The folder's classes as a table: names are edited in place, a colour is changed by double-clicking
    its swatch (or the *Colour…* button), *Add Class* appends one. Ids never change, so no class is removed
    or moved: masks store ids. OK stays disabled, with the reason shown, while the table is not valid."""

    def __init__(self, classes: ClassTable, parent: QWidget | None = None) -> None:
        super().__init__(parent)
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
        self.problem = QLabel()
        self.problem.setStyleSheet("color: #b00020")
        self.problem.setWordWrap(True)
        note = QLabel("Classes can be added, renamed and recoloured. Ids stay as they are: painted masks keep "
                      "their meaning, and the next fine-tune teaches the model the new classes.")
        note.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        row = QHBoxLayout()
        row.addWidget(self.add_button)
        row.addWidget(self.color_button)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(note)
        layout.addWidget(self.table, 1)
        layout.addLayout(row)
        layout.addWidget(self.problem)
        layout.addWidget(self.buttons)
        for cid, name in enumerate(classes.names):
            self._append_row(cid, name)
        self.add_button.clicked.connect(self.add_class)
        self.color_button.clicked.connect(lambda: self.choose_color(self.table.currentRow()))
        self.table.cellDoubleClicked.connect(lambda r, c: self.choose_color(r) if c == COL_COLOR else None)
        self.table.itemChanged.connect(lambda _item: self._validate())
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.resize(420, 420)
        self._validate()

    def _append_row(self, cid: int, name: str) -> None:
        self.table.blockSignals(True)
        try:
            r = self.table.rowCount()
            self.table.insertRow(r)
            ident = QTableWidgetItem(str(cid))
            ident.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
            swatch = QTableWidgetItem()
            swatch.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
            swatch.setIcon(swatch_icon(self._colors[cid], 18))
            swatch.setToolTip("Double-click to choose a colour")
            self.table.setItem(r, COL_ID, ident)
            self.table.setItem(r, COL_COLOR, swatch)
            self.table.setItem(r, COL_NAME, QTableWidgetItem(name))
        finally:
            self.table.blockSignals(False)

    def add_class(self) -> None:
        """Append a class named ``class N`` in a colour no other class has, and start editing its name."""
        n = self.table.rowCount()
        if n >= MAX_CLASSES:
            return
        self._colors.append(spare_colors(self._colors, 1)[0])
        self._append_row(n, f"class {n}")
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
        return tuple(self.names()) != self._original.names or tuple(self._colors) != self._original.colors

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
        problem = name_problem(names)
        if problem:
            return problem
        try:
            check_edit(self._original, ClassTable(tuple(n.strip() for n in names), tuple(self._colors)))
        except ValueError as exc:
            return str(exc)
        return ""

    def _validate(self) -> None:
        message = self._problem()
        self.problem.setText(message)
        self.problem.setVisible(bool(message))
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(not message)
        self.add_button.setEnabled(self.table.rowCount() < MAX_CLASSES)


__all__ = ["ClassEditor"]
