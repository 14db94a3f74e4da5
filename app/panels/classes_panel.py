"""ClassesPanel: class list (swatch, id, name, visibility, share), active class, overlay opacity."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QIcon, QKeyEvent, QMouseEvent, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSlider,
    QStackedLayout,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

COL_VISIBLE, COL_LOCK, COL_ID, COL_NAME, COL_KEY, COL_SHARE = range(6)
_HEADERS = ("", "", "#", "Class", "Key", "Share")
SWATCH = 14
LOCKED_ROLE = Qt.ItemDataRole.UserRole + 1


def shortcut_key(class_id: int) -> str | None:
    """The number typed to select ``class_id``: its id (digits typed quickly one after the other, e.g.
    1 then 2 for class 12; 0 = background), ``None`` for ids outside 0..255."""
    return str(class_id) if 0 <= class_id < 256 else None


def class_for_key(digit: int) -> int:
    """The class id the number key ``digit`` (0..9) selects: the same id (key 1 = class 1, key 0 = class 0)."""
    if not 0 <= digit <= 9:
        raise ValueError(f"number key must be 0..9, got {digit}")
    return digit


def lock_icon(locked: bool, size: int = SWATCH) -> QIcon:
    """A padlock: closed and dark when ``locked``, open and faint otherwise."""
    pix = QPixmap(size, size)
    pix.fill(Qt.GlobalColor.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    ink = QColor(40, 40, 40) if locked else QColor(150, 150, 150, 150)
    p.setPen(QPen(ink, 1.6))
    p.setBrush(Qt.BrushStyle.NoBrush)
    shackle = QRectF(size * 0.28, size * 0.08, size * 0.44, size * 0.5)
    if locked:
        p.drawArc(shackle, 0, 180 * 16)
        p.drawLine(QPointF(shackle.left(), size * 0.33), QPointF(shackle.left(), size * 0.5))
    else:
        p.drawArc(shackle.translated(size * 0.18, -size * 0.05), 0, 180 * 16)
    p.drawLine(QPointF(shackle.right(), size * 0.33), QPointF(shackle.right(), size * 0.5))
    p.setBrush(ink)
    p.drawRoundedRect(QRectF(size * 0.16, size * 0.46, size * 0.68, size * 0.48), 1.5, 1.5)
    p.end()
    return QIcon(pix)


def swatch_icon(rgb: tuple[int, int, int], size: int = SWATCH) -> QIcon:
    """A colour square; black (background, drawn transparent) is a checkerboard."""
    pix = QPixmap(size, size)
    pix.fill(Qt.GlobalColor.transparent)
    p = QPainter(pix)
    if tuple(rgb) == (0, 0, 0):
        cell = max(2, size // 4)
        for y in range(0, size, cell):
            for x in range(0, size, cell):
                light = ((x // cell) + (y // cell)) % 2 == 0
                p.fillRect(x, y, cell, cell, QColor("#ffffff" if light else "#b4b4b4"))
    else:
        p.fillRect(0, 0, size, size, QColor(*rgb))
    p.setPen(QColor("#606060"))
    p.drawRect(0, 0, size - 1, size - 1)
    p.end()
    return QIcon(pix)


class ClassesPanel(QWidget):
    """The dataset's classes: click a row to paint with that class, tick to show/hide it on the overlay,
    click the padlock to lock it (no edit overwrites a locked class).

    Setters (``set_active_class``, ``set_class_visible``, ``set_opacity``) never emit; the signals
    report user actions only, so the main window can wire both directions without loops.
    """

    activeClassChanged = Signal(int)
    visibilityChanged = Signal(int, bool)
    lockChanged = Signal(int, bool)  # class id, locked (user clicks only)
    opacityChanged = Signal(float)  # 0..1
    editRequested = Signal()  # the user asked to add, rename or recolour classes

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Classes")
        self._active = 0
        self._quiet = False
        self._build()
        self._show_empty(True)

    # ------------------------------------------------------------------ construction
    def _build(self) -> None:
        self.tree = QTreeWidget(self)
        self.tree.setAccessibleName("Class list")
        self.tree.setColumnCount(len(_HEADERS))
        self.tree.setHeaderLabels(list(_HEADERS))
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setAllColumnsShowFocus(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.tree.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.tree.header()
        header.setStretchLastSection(False)
        for col, width in ((COL_VISIBLE, 30), (COL_LOCK, 26), (COL_ID, 52), (COL_KEY, 36), (COL_SHARE, 60)):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Fixed)
            header.resizeSection(col, width)
        header.setSectionResizeMode(COL_NAME, QHeaderView.ResizeMode.Stretch)
        header.setMinimumSectionSize(24)
        hints = (
            "Shown on the overlay",
            "Locked: no tool overwrites it (click to lock or unlock; L locks the class under the pointer)",
            "Class id",
            "Class name (click to paint with it)",
            "Number to type (quickly, digit after digit)",
            "Share of the mask",
        )
        for col, tip in enumerate(hints):
            self.tree.headerItem().setToolTip(col, tip)
        self.tree.currentItemChanged.connect(self._on_current_changed)
        self.tree.itemChanged.connect(self._on_item_changed)
        self.tree.viewport().installEventFilter(self)
        self.tree.installEventFilter(self)

        self.empty_label = QLabel("No classes yet: open a folder to begin", self)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        self.empty_label.setStyleSheet("color: palette(mid);")

        self.show_all_button = QPushButton("Show all", self)
        self.show_all_button.setToolTip("Show every class on the overlay")
        self.show_all_button.clicked.connect(lambda: self._set_all_visible(True))
        self.hide_all_button = QPushButton("Hide all", self)
        self.hide_all_button.setToolTip("Hide every class on the overlay")
        self.hide_all_button.clicked.connect(lambda: self._set_all_visible(False))
        self.edit_button = QPushButton("Edit…", self)
        self.edit_button.setToolTip("Add, rename and recolour this folder's classes (Ctrl+Shift+K)")
        self.edit_button.clicked.connect(self.editRequested)
        self.edit_button.setVisible(False)

        self.opacity_slider = QSlider(Qt.Orientation.Horizontal, self)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setValue(50)
        self.opacity_slider.setPageStep(10)
        self.opacity_slider.setAccessibleName("Overlay opacity")
        self.opacity_slider.setToolTip("Opacity of the coloured mask overlay")
        self.opacity_slider.valueChanged.connect(self._on_slider)
        self.opacity_label = QLabel("50 %", self)
        self.opacity_label.setMinimumWidth(self.opacity_label.fontMetrics().horizontalAdvance("100 %") + 4)
        self.opacity_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        opacity_title = QLabel("Opacity", self)
        opacity_title.setBuddy(self.opacity_slider)

        self._stack = QStackedLayout()
        self._stack.addWidget(self.empty_label)
        self._stack.addWidget(self.tree)
        buttons = QHBoxLayout()
        buttons.addWidget(self.show_all_button)
        buttons.addWidget(self.hide_all_button)
        buttons.addWidget(self.edit_button)
        opacity = QHBoxLayout()
        opacity.addWidget(opacity_title)
        opacity.addWidget(self.opacity_slider, 1)
        opacity.addWidget(self.opacity_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addLayout(self._stack, 1)
        layout.addLayout(buttons)
        layout.addLayout(opacity)

    def _show_empty(self, empty: bool) -> None:
        self._stack.setCurrentWidget(self.empty_label if empty else self.tree)
        self.show_all_button.setEnabled(not empty)
        self.hide_all_button.setEnabled(not empty)

    # ------------------------------------------------------------------ public API
    def set_classes(self, names: Sequence[str], colors: Sequence[tuple[int, int, int]]) -> None:
        """Show these classes (all visible); the active class becomes 0 (or stays if still valid), locked
        ids stay locked."""
        if len(names) != len(colors):
            raise ValueError(f"{len(names)} class names but {len(colors)} colours")
        if len(names) > 256:
            raise ValueError(f"at most 256 classes, got {len(names)}")
        locked = set(self.locked_classes())  # locks outlive a refresh of the same table (a new model)
        self._quiet = True
        try:
            self.tree.clear()
            items = []
            for cid, (name, rgb) in enumerate(zip(names, colors, strict=True)):
                items.append(self._make_item(cid, str(name), (int(rgb[0]), int(rgb[1]), int(rgb[2]))))
                if cid in locked:
                    self._show_lock(items[-1], True)
            self.tree.addTopLevelItems(items)
            self._active = self._active if self._active < len(items) else 0
            if items:
                self.tree.setCurrentItem(items[self._active])
            self._update_bold()
        finally:
            self._quiet = False
        self._show_empty(not names)

    def class_count(self) -> int:
        """Number of classes shown."""
        return self.tree.topLevelItemCount()

    def set_active_class(self, class_id: int) -> None:
        """Highlight ``class_id`` as the painting class (does not emit); out-of-range ids are ignored."""
        item = self.tree.topLevelItem(class_id) if 0 <= class_id < self.class_count() else None
        if item is None:
            return
        self._quiet = True
        try:
            self._active = class_id
            self.tree.setCurrentItem(item)
            self.tree.scrollToItem(item)
            self._update_bold()
        finally:
            self._quiet = False

    def active_class(self) -> int:
        """The class new strokes paint with."""
        return self._active

    def set_class_visible(self, class_id: int, visible: bool) -> None:
        """Tick/untick ``class_id`` (does not emit)."""
        item = self.tree.topLevelItem(class_id) if 0 <= class_id < self.class_count() else None
        if item is None:
            return
        self._quiet = True
        try:
            item.setCheckState(COL_VISIBLE, Qt.CheckState.Checked if visible else Qt.CheckState.Unchecked)
        finally:
            self._quiet = False

    def is_class_visible(self, class_id: int) -> bool:
        """Whether ``class_id`` is ticked."""
        item = self.tree.topLevelItem(class_id) if 0 <= class_id < self.class_count() else None
        return item is not None and item.checkState(COL_VISIBLE) == Qt.CheckState.Checked

    def set_class_locked(self, class_id: int, locked: bool) -> None:
        """Lock or unlock ``class_id`` (does not emit)."""
        item = self.tree.topLevelItem(class_id) if 0 <= class_id < self.class_count() else None
        if item is not None:
            self._show_lock(item, bool(locked))

    def is_class_locked(self, class_id: int) -> bool:
        """Whether ``class_id`` is locked."""
        item = self.tree.topLevelItem(class_id) if 0 <= class_id < self.class_count() else None
        return item is not None and bool(item.data(COL_LOCK, LOCKED_ROLE))

    def locked_classes(self) -> list[int]:
        """The locked class ids, ascending."""
        return [cid for cid in range(self.class_count()) if self.is_class_locked(cid)]

    def set_opacity(self, value: float) -> None:
        """Set the slider to ``value`` (0..1, clamped) without emitting."""
        self._quiet = True
        try:
            self.opacity_slider.setValue(round(min(max(float(value), 0.0), 1.0) * 100))
            self._update_opacity_label()
        finally:
            self._quiet = False

    def opacity(self) -> float:
        """The slider's opacity, 0..1."""
        return self.opacity_slider.value() / 100.0

    def set_pixel_counts(self, counts: Sequence[int] | None) -> None:
        """Show each class's share of the current mask (``counts[i]`` pixels of class i); ``None`` clears."""
        total = float(sum(int(c) for c in counts)) if counts is not None else 0.0
        for cid in range(self.class_count()):
            item = self.tree.topLevelItem(cid)
            text = ""
            if counts is not None and total > 0:
                c = int(counts[cid]) if cid < len(counts) else 0
                pct = 100.0 * c / total
                text = "<0.1 %" if 0 < pct < 0.05 else f"{pct:.1f} %"
            if item.text(COL_SHARE) != text:  # unchanged rows cost no repaint
                item.setText(COL_SHARE, text)

    def share_text(self, class_id: int) -> str:
        """The share column's text for ``class_id`` (for tests and accessibility)."""
        item = self.tree.topLevelItem(class_id)
        return item.text(COL_SHARE) if item is not None else ""

    # ------------------------------------------------------------------ internals
    def _make_item(self, cid: int, name: str, rgb: tuple[int, int, int]) -> QTreeWidgetItem:
        item = QTreeWidgetItem()
        item.setFlags(
            Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsUserCheckable
        )
        item.setCheckState(COL_VISIBLE, Qt.CheckState.Checked)
        item.setIcon(COL_ID, swatch_icon(rgb))
        item.setText(COL_ID, str(cid))
        item.setText(COL_NAME, name)
        key = shortcut_key(cid)
        item.setText(COL_KEY, key or "")
        item.setForeground(COL_KEY, QColor("#808080"))
        item.setTextAlignment(COL_KEY, Qt.AlignmentFlag.AlignCenter)
        item.setTextAlignment(COL_SHARE, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        colour = "transparent (background)" if rgb == (0, 0, 0) else f"RGB {rgb[0]}, {rgb[1]}, {rgb[2]}"
        tip = f"Class {cid}: {name} · {colour}" + (f" · type {key} to paint with it" if key else "")
        for col in range(len(_HEADERS)):
            item.setToolTip(col, tip)
        item.setToolTip(COL_VISIBLE, f"Show {name} on the overlay (Space)")
        self._show_lock(item, False)
        item.setData(COL_NAME, Qt.ItemDataRole.AccessibleTextRole, f"class {cid} {name}")
        return item

    @staticmethod
    def _show_lock(item: QTreeWidgetItem, locked: bool) -> None:
        item.setData(COL_LOCK, LOCKED_ROLE, locked)
        item.setIcon(COL_LOCK, lock_icon(locked))
        name = item.text(COL_NAME)
        item.setToolTip(COL_LOCK, f"{name} is locked: no tool overwrites it (click to unlock)" if locked
                        else f"Lock {name} so that no tool overwrites it")

    def _update_bold(self) -> None:
        for cid in range(self.class_count()):
            item = self.tree.topLevelItem(cid)
            font = QFont(item.font(COL_NAME))
            if font.bold() != (cid == self._active):
                font.setBold(cid == self._active)
                for col in range(len(_HEADERS)):
                    item.setFont(col, font)

    def _on_current_changed(self, current: QTreeWidgetItem | None, _previous: QTreeWidgetItem | None) -> None:
        if self._quiet or current is None:
            return
        cid = self.tree.indexOfTopLevelItem(current)
        if cid < 0 or cid == self._active:
            return
        self._active = cid
        self._quiet = True
        try:
            self._update_bold()
        finally:
            self._quiet = False
        self.activeClassChanged.emit(cid)

    def _on_item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        if self._quiet or column != COL_VISIBLE:
            return
        cid = self.tree.indexOfTopLevelItem(item)
        if cid >= 0:
            self.visibilityChanged.emit(cid, item.checkState(COL_VISIBLE) == Qt.CheckState.Checked)

    def _toggle(self, item: QTreeWidgetItem) -> None:
        checked = item.checkState(COL_VISIBLE) == Qt.CheckState.Checked
        item.setCheckState(COL_VISIBLE, Qt.CheckState.Unchecked if checked else Qt.CheckState.Checked)

    def _set_all_visible(self, visible: bool) -> None:
        state = Qt.CheckState.Checked if visible else Qt.CheckState.Unchecked
        for cid in range(self.class_count()):
            item = self.tree.topLevelItem(cid)
            if item.checkState(COL_VISIBLE) != state:
                item.setCheckState(COL_VISIBLE, state)  # emits visibilityChanged via itemChanged

    def _on_slider(self, value: int) -> None:
        self._update_opacity_label()
        if not self._quiet:
            self.opacityChanged.emit(value / 100.0)

    def _update_opacity_label(self) -> None:
        self.opacity_label.setText(f"{self.opacity_slider.value()} %")

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Clicks in the visibility column toggle without changing the active class; Space toggles."""
        kind = event.type()
        if watched is self.tree.viewport() and kind in (
            QEvent.Type.MouseButtonPress,
            QEvent.Type.MouseButtonRelease,
            QEvent.Type.MouseButtonDblClick,
        ):
            assert isinstance(event, QMouseEvent)
            index = self.tree.indexAt(event.position().toPoint())
            if index.isValid() and index.column() in (COL_VISIBLE, COL_LOCK):
                if kind == QEvent.Type.MouseButtonPress and event.button() == Qt.MouseButton.LeftButton:
                    item = self.tree.topLevelItem(index.row())
                    if item is not None and index.column() == COL_VISIBLE:
                        self._toggle(item)
                    elif item is not None:
                        locked = not self.is_class_locked(index.row())
                        self.set_class_locked(index.row(), locked)
                        self.lockChanged.emit(index.row(), locked)
                return True
        if watched is self.tree and kind == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            if event.key() == Qt.Key.Key_Space and self.tree.currentItem() is not None:
                self._toggle(self.tree.currentItem())
                return True
        return super().eventFilter(watched, event)
