"""The file list's look: status colours, drawn icons (chips, error mark, placeholder), name-cell delegate."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, Qt
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QApplication, QStyle, QStyledItemDelegate, QStyleOptionViewItem

from app.panels.thumbnails import THUMB_HEIGHT, THUMB_MAX_WIDTH

#: Status colours: unlabelled grey, predicted blue, corrected orange, reviewed green.
STATUS_COLORS: dict[str, str] = {
    "unlabelled": "#9e9e9e",
    "predicted": "#1e88e5",
    "corrected": "#fb8c00",
    "reviewed": "#43a047",
}
ERROR_COLOR = "#d32f2f"
STALE_COLOR = "#9a9a9a"  # uncertainty given by another model version than the active one
#: Model role holding a row's status string (read by :class:`NameDelegate`).
STATUS_ROLE = Qt.ItemDataRole.UserRole + 1


class FileListIcons:
    """Small pixmaps drawn once (needs a QGuiApplication): status chips, error mark, placeholder."""

    def __init__(self) -> None:
        self.chips = {s: self._chip(QColor(c)) for s, c in STATUS_COLORS.items()}
        self.error = self._error_mark(16)
        self.error_thumb = self._boxed(self._error_mark(28))
        self.placeholder = self._placeholder()

    @staticmethod
    def _chip(color: QColor) -> QPixmap:
        pix = QPixmap(12, 12)
        pix.fill(Qt.GlobalColor.transparent)
        p = QPainter(pix)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(color.darker(130))
        p.setBrush(color)
        p.drawRoundedRect(1, 1, 10, 10, 3, 3)
        p.end()
        return pix

    @staticmethod
    def _error_mark(size: int) -> QPixmap:
        pix = QPixmap(size, size)
        pix.fill(Qt.GlobalColor.transparent)
        p = QPainter(pix)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(ERROR_COLOR))
        p.drawEllipse(1, 1, size - 2, size - 2)
        p.setPen(QColor("white"))
        font = QFont()
        font.setBold(True)
        font.setPixelSize(int(size * 0.7))
        p.setFont(font)
        p.drawText(pix.rect(), Qt.AlignmentFlag.AlignCenter, "!")
        p.end()
        return pix

    @staticmethod
    def _boxed(mark: QPixmap) -> QPixmap:
        box = QPixmap(THUMB_MAX_WIDTH, THUMB_HEIGHT)
        box.fill(Qt.GlobalColor.transparent)
        p = QPainter(box)
        p.drawPixmap((THUMB_MAX_WIDTH - mark.width()) // 2, (THUMB_HEIGHT - mark.height()) // 2, mark)
        p.end()
        return box

    @staticmethod
    def _placeholder() -> QPixmap:
        box = QPixmap(THUMB_MAX_WIDTH, THUMB_HEIGHT)
        box.fill(Qt.GlobalColor.transparent)
        p = QPainter(box)
        p.setPen(QColor("#c8c8c8"))
        p.setBrush(QColor("#e6e6e6"))
        p.drawRect(4, 2, THUMB_MAX_WIDTH - 9, THUMB_HEIGHT - 5)
        p.end()
        return box


class NameDelegate(QStyledItemDelegate):
    """Paints a status-coloured bar at the left of the name cell, then thumbnail and name."""

    BAR = 4

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        """Background over the full cell, the bar, then the default item in the remaining space."""
        style = option.widget.style() if option.widget is not None else QApplication.style()
        style.drawPrimitive(QStyle.PrimitiveElement.PE_PanelItemViewItem, option, painter, option.widget)
        status = index.data(STATUS_ROLE)
        r = option.rect
        painter.fillRect(
            QRect(r.left() + 1, r.top() + 3, self.BAR, r.height() - 6),
            QColor(STATUS_COLORS.get(status, "#9e9e9e")),
        )
        opt = QStyleOptionViewItem(option)
        opt.rect = r.adjusted(self.BAR + 3, 0, 0, 0)
        super().paint(painter, opt, index)

    def initStyleOption(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        """Show thumbnails untinted on selected rows (Qt tints an icon's Selected mode by default)."""
        super().initStyleOption(option, index)
        decoration = index.data(Qt.ItemDataRole.DecorationRole)
        if isinstance(decoration, QPixmap) and not decoration.isNull():
            icon = QIcon(decoration)
            icon.addPixmap(decoration, QIcon.Mode.Selected)
            option.icon = icon
