"""Hold-keys of the canvas, window-wide: Space pans and H hides the overlay while the pointer is over the canvas."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)

from app.canvas import CanvasView

HIDE_KEY = Qt.Key.Key_H
PAN_KEY = Qt.Key.Key_Space


def is_text_entry(widget: QWidget | None) -> bool:
    """Whether ``widget`` takes typed text (a space or an "h" typed there is text, not a canvas key)."""
    if isinstance(widget, QComboBox):
        return widget.isEditable()
    return isinstance(widget, (QLineEdit, QAbstractSpinBox, QTextEdit, QPlainTextEdit))


class CanvasKeys(QObject):
    """Application event filter giving Space and H to the canvas whatever widget has keyboard focus.

    Key events go to the focused widget (the file list, the classes table, a toolbar button after a
    dialog closed ...), so a canvas that only reacted to its own key events painted on Space-drag and
    ignored H. Here, a key of this window is taken for the canvas when the pointer is over it or the
    canvas has focus, unless a text field has focus. A Space pressed elsewhere still marks the bar as
    held (so a drag that then starts on the canvas pans, never paints) but is left to its widget.
    """

    def __init__(self, window: QWidget, canvas: CanvasView) -> None:
        super().__init__(window)
        self.window, self.canvas = window, canvas
        self._taken: set[int] = set()  # keys whose press was taken for the canvas (their releases too)

    def install(self) -> None:
        """Start filtering the application's key events."""
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)

    def release_all(self) -> None:
        """Forget held keys (the window lost activation: their releases may never come)."""
        self._taken.clear()
        self.canvas.set_space_held(False)
        self.canvas.set_overlay_hidden(False)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind not in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease) or not isinstance(obj, QWidget):
            return False
        assert isinstance(event, QKeyEvent)
        key = event.key()
        if key not in (PAN_KEY, HIDE_KEY) or obj.window() is not self.window:
            return False
        press = kind == QEvent.Type.KeyPress
        if event.isAutoRepeat():
            return key in self._taken  # held keys repeat: swallow what the canvas owns
        if not press:
            if key == PAN_KEY:
                self.canvas.set_space_held(False)
            if key in self._taken:
                self._taken.discard(key)
                if key == HIDE_KEY:
                    self.canvas.set_overlay_hidden(False)
                return True
            return False
        focus = QApplication.focusWidget()
        if is_text_entry(focus) or (key == HIDE_KEY and event.modifiers() != Qt.KeyboardModifier.NoModifier):
            return False
        ours = self.canvas.pointer_over() or self.canvas in (focus, obj)
        if key == PAN_KEY:
            self.canvas.set_space_held(True)
        elif ours:
            self.canvas.set_overlay_hidden(True)
        if ours:
            self._taken.add(key)
        return ours
