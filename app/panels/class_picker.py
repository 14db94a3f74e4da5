"""A searchable class picker: a popup with a filter field over the class list (type a name, Enter picks)."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QEvent, QObject, QPoint, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QFrame, QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from app.panels.classes_panel import swatch_icon


def matches(query: str, class_id: int, name: str) -> bool:
    """Whether a class fits the typed filter: every word is part of its name, or the filter is its id."""
    q = query.strip().lower()
    if not q:
        return True
    if q.isdigit():
        return str(class_id).startswith(q)
    return all(word in name.lower() for word in q.split())


class ClassPicker(QFrame):
    """Popup listing the classes; typing filters them, Up/Down move, Enter or a click picks, Esc closes.

    ``picked(class_id)`` reports the choice.
    """

    picked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Popup)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAccessibleName("Pick a class")
        self.field = QLineEdit(self)
        self.field.setPlaceholderText("Class name or number…")
        self.field.setAccessibleName("Class filter")
        self.field.setClearButtonEnabled(True)
        self.list = QListWidget(self)
        self.list.setAccessibleName("Matching classes")
        self.list.setUniformItemSizes(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addWidget(self.field)
        layout.addWidget(self.list)
        self.field.textChanged.connect(self._filter)
        self.field.installEventFilter(self)
        self.list.itemActivated.connect(self._pick_item)
        self.list.itemClicked.connect(self._pick_item)
        self.resize(260, 320)

    def open_at(self, names: Sequence[str], colors: Sequence[tuple[int, int, int]], active: int,
                pos: QPoint) -> None:
        """Show the classes with ``active`` highlighted, the popup's top-left at global ``pos``."""
        self.list.clear()
        for cid, (name, rgb) in enumerate(zip(names, colors, strict=True)):
            item = QListWidgetItem(swatch_icon(tuple(int(c) for c in rgb[:3])), f"{cid}  {name}")  # type: ignore[arg-type]
            item.setData(Qt.ItemDataRole.UserRole, cid)
            item.setData(Qt.ItemDataRole.UserRole + 1, str(name))
            self.list.addItem(item)
        self.field.clear()
        if 0 <= active < self.list.count():
            self.list.setCurrentRow(active)
        self.move(pos)
        self.show()
        self.field.setFocus(Qt.FocusReason.PopupFocusReason)

    def visible_ids(self) -> list[int]:
        """The class ids the filter leaves, in order."""
        return [int(self.list.item(i).data(Qt.ItemDataRole.UserRole)) for i in range(self.list.count())
                if not self.list.item(i).isHidden()]

    def _filter(self, text: str) -> None:
        """Hide the classes that do not match; the best match (a name with a word starting with the text,
        else the first match) becomes current, so Enter picks it."""
        first = best = None
        q = text.strip().lower()
        for i in range(self.list.count()):
            item = self.list.item(i)
            name = str(item.data(Qt.ItemDataRole.UserRole + 1))
            ok = matches(text, int(item.data(Qt.ItemDataRole.UserRole)), name)
            item.setHidden(not ok)
            if ok and first is None:
                first = i
            if ok and best is None and q and any(word.startswith(q.split()[0]) for word in name.lower().split()):
                best = i
        pick = best if best is not None else first
        if pick is not None:
            self.list.setCurrentRow(pick)

    def _step(self, delta: int) -> None:
        rows = [i for i in range(self.list.count()) if not self.list.item(i).isHidden()]
        if not rows:
            return
        now = self.list.currentRow()
        pos = rows.index(now) if now in rows else -1
        self.list.setCurrentRow(rows[min(max(pos + delta, 0), len(rows) - 1)])

    def _pick_item(self, item: QListWidgetItem) -> None:
        if item is not None and not item.isHidden():
            self.hide()
            self.picked.emit(int(item.data(Qt.ItemDataRole.UserRole)))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Up/Down/PgUp/PgDn in the filter field move through the list; Enter picks."""
        if watched is self.field and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            key = event.key()
            steps = {Qt.Key.Key_Down: 1, Qt.Key.Key_Up: -1, Qt.Key.Key_PageDown: 8, Qt.Key.Key_PageUp: -8}
            if key in steps:
                self._step(steps[key])
                return True
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                item = self.list.currentItem()
                if item is not None and not item.isHidden():
                    self._pick_item(item)
                return True
            if key == Qt.Key.Key_Escape:
                self.hide()
                return True
        return super().eventFilter(watched, event)
