"""The click tool: left click "this is the active class", right click "it is not"; the interactive model redraws it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from app.canvas.jobs import LatestJob
from unet_core.data.guides import Click
from unet_core.edit.selection import Selection

if TYPE_CHECKING:
    from app.canvas.smart import SmartTools

MARK_PX = 9.0  # a click's dot on screen, whatever the zoom
POSITIVE = QColor(40, 200, 80)
NEGATIVE = QColor(230, 50, 50)
NO_MODEL = ("clicks need an interactive model: the active model takes no clicks (train or fine-tune with "
            "Training › Settings › Learn clicks)")
BACKGROUND = "clicks correct an object: choose its class first (not the background, 0)"


class ClickMarks(QGraphicsItem):
    """The clicks of the current group as green (positive) and red (negative) dots of fixed screen size."""

    def __init__(self) -> None:
        super().__init__()
        self.setZValue(95)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self._clicks: list[Click] = []
        self._scale = 1.0

    def set_clicks(self, clicks: list[Click]) -> None:
        """Show these clicks (image pixel coordinates)."""
        self.prepareGeometryChange()
        self._clicks = list(clicks)
        self.setVisible(bool(clicks))
        self.update()

    def set_view_scale(self, scale: float) -> None:
        """The view's zoom, so the dots keep their size on screen."""
        if scale > 0 and scale != self._scale:
            self.prepareGeometryChange()
            self._scale = float(scale)

    def boundingRect(self) -> QRectF:
        """The dots' extent."""
        if not self._clicks:
            return QRectF()
        r = MARK_PX / self._scale
        xs = [c.x + 0.5 for c in self._clicks]
        ys = [c.y + 0.5 for c in self._clicks]
        return QRectF(QPointF(min(xs) - r, min(ys) - r), QPointF(max(xs) + r, max(ys) + r))

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        """A filled dot with a white ring per click."""
        r = MARK_PX / 2 / self._scale
        pen = QPen(QColor(255, 255, 255), 1.5)
        pen.setCosmetic(True)
        painter.setPen(pen)
        for c in self._clicks:
            painter.setBrush(POSITIVE if c.positive else NEGATIVE)
            painter.drawEllipse(QPointF(c.x + 0.5, c.y + 0.5), r, r)


class ClickInput:
    """Clicks on one object of the active class form a group: each click re-runs the interactive model (off the
    GUI thread) with all of the group's clicks on the current mask, and the group is one undo step. The group
    ends with another class, another tool, Enter or Esc (a result still being computed then lands as the
    group's last step), or is aborted by another image or mask, another model, an undo or another tool's edit
    (a result still being computed is dropped: it was made for pixels that changed)."""

    def __init__(self, smart: SmartTools) -> None:
        self.smart = smart
        self.marks = ClickMarks()
        self.marks.setVisible(False)
        smart.view.scene().addItem(self.marks)
        self.job = LatestJob(smart.job.runner, self._failed, alive=smart.alive)
        self._clicks: list[Click] = []
        self._cls: int | None = None
        self._group = 0  # id of the current group's undo step
        self._running = False
        self._again = False  # clicks came while the model ran: run again with all of them
        self._own_edit = False

    @property
    def clicks(self) -> list[Click]:
        """The current group's clicks."""
        return list(self._clicks)

    def end_group(self) -> None:
        """The next click starts a new object (and a new undo step); a result being computed still lands."""
        self._clicks, self._cls = [], None
        self._group += 1
        self.marks.set_clicks([])

    def abort(self) -> None:
        """End the group and drop the result being computed (the pixels it was computed for changed)."""
        self.end_group()
        self.job.cancel()
        self._running, self._again = False, False

    def mask_edited(self) -> None:
        """The mask changed: by this tool's own result (the group goes on) or by anything else (abort)."""
        if not self._own_edit and (self._clicks or self._running):
            self.abort()

    def press(self, x: int, y: int, positive: bool) -> None:
        """A click at pixel (x, y): positive (left button) or negative (right button)."""
        view = self.smart.view
        w, h = view._size or (0, 0)
        if not view._editor.can_edit or not (0 <= x < w and 0 <= y < h):
            return
        if view.clicker() is None:
            self.smart._say(NO_MODEL)
            return
        cls = view.active_class()
        if cls == 0:
            self.smart._say(BACKGROUND)
            return
        if cls != self._cls:
            self.end_group()
            self._cls = cls
        self._clicks.append(Click(float(y), float(x), positive))
        self.marks.set_view_scale(view.zoom())
        self.marks.set_clicks(self._clicks)
        self._request()

    def _request(self) -> None:
        if self._running:
            self._again = True  # run again with every click of the group once this result has landed
            return
        self._again = False
        view = self.smart.view
        clicker, image, mask = view.clicker(), view.image_array(), view.mask()
        if clicker is None or image is None or mask is None or self._cls is None:
            return
        if not self._clicks:
            return  # the group ended while the last result was computed
        snapshot, clicks, cls, group = mask.copy(), list(self._clicks), self._cls, self._group
        self._running = True
        n = len(clicks)
        self.smart._say(f"click {n}: predicting…")

        def done(sel: Selection | None) -> None:
            self._running = False
            self._own_edit = True  # lands even if the group ended meanwhile (Enter, another class or tool)
            try:
                changed = self.smart.view._editor.apply_selection(sel, "click", group=group)
            finally:
                self._own_edit = False
            if group == self._group and self.smart.tool == "click":
                self.smart._say(f"{n} click{'s' if n > 1 else ''} on this object" +
                                ("" if changed else " · nothing changed") + " · Enter or another class: next object")
            if self._again:
                self._request()

        self.job.submit(lambda: clicker.selection(image, snapshot, cls, clicks), done)

    def _failed(self, message: str) -> None:
        self._running = False
        self.smart._failed(message)

    def key(self, key: int) -> bool:
        """Enter or Esc ends the group (its edit stays; Ctrl+Z undoes it); True when used."""
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Escape) and self._clicks:
            self.end_group()
            self.smart._say()
            return True
        return False

