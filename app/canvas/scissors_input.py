"""The intelligent-scissors tool: edge-following segments between clicked vertices, a live wire, draggable vertices, a fill."""

from __future__ import annotations

import itertools
import math
from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, Qt

from app.canvas.jobs import FRAME_MS, LatestJob
from unet_core.edit import polygon
from unet_core.edit.scissors import Scissors

if TYPE_CHECKING:
    from app.canvas.smart import SmartTools

Point = tuple[int, int]
NEAR_PX = 6.0  # screen pixels: a press this close to a vertex grabs it (or, on the first one, closes)


class ScissorsInput:
    """Vertices, the traced segment between each two (computed off the GUI thread, one job at a time; a
    straight line stands in until its path arrives) and the live wire from the last vertex to the pointer."""

    def __init__(self, smart: SmartTools) -> None:
        self.smart = smart
        self.job = LatestJob(smart.job.runner, smart._failed, FRAME_MS, smart.alive)
        self.vertices: list[Point] = []
        self.closed = False
        self._paths: dict[tuple[Point, Point], list[Point]] = {}
        self._scissors: Scissors | None = None
        self._hover: Point | None = None
        self._live: list[Point] = []
        self._drag: int | None = None
        self._apply_when_ready = False

    # ------------------------------------------------------------------ state
    def _tool(self) -> Scissors | None:
        image = self.smart.view.image_array()
        if image is None:
            return None
        if self._scissors is None or self._scissors.image is not image:
            self._scissors = Scissors(image)
            self._paths.clear()
        return self._scissors

    def image_changed(self) -> None:
        """Another image: its costs and paths are not this one's."""
        self.cancel()
        self._scissors = None
        self._paths.clear()

    def cancel(self) -> None:
        """Forget the outline."""
        self.job.cancel()
        self.vertices, self.closed, self._live, self._drag = [], False, [], None
        self._hover = None  # a pointer position from before (or from another image) is no wire's end
        self._apply_when_ready = False
        self._show()

    def _clamp(self, scene: QPointF) -> Point | None:
        tool = self._tool()
        return None if tool is None else tool.clamp((scene.x(), scene.y()))

    def _near(self, a: Point, scene: QPointF) -> bool:
        return math.hypot(a[0] + 0.5 - scene.x(), a[1] + 0.5 - scene.y()) * self.smart.view.zoom() <= NEAR_PX

    def _pairs(self) -> list[tuple[Point, Point]]:
        v = self.vertices
        pairs = list(itertools.pairwise(v))
        if self.closed and len(v) >= 3:
            pairs.append((v[-1], v[0]))
        return pairs

    def outline(self) -> list[Point]:
        """The outline so far: each segment's traced path, or a straight line while it is computed."""
        out: list[Point] = []
        for a, b in self._pairs():
            out += self._paths.get((a, b), [a, b])[:-1]
        if self.vertices and not self.closed:
            out.append(self.vertices[-1])
        return out

    def complete(self) -> bool:
        """Whether every segment's path has arrived."""
        return all(pair in self._paths for pair in self._pairs())

    # ------------------------------------------------------------------ events
    def press(self, scene: QPointF) -> None:
        """Add a vertex, close on the first one, or grab a vertex of the closed outline."""
        if not self.smart.view._editor.can_edit:
            return
        if self.closed:
            hit = [i for i, v in enumerate(self.vertices) if self._near(v, scene)]
            self._drag = hit[0] if hit else None
            return
        p = self._clamp(scene)
        if p is None:
            return
        if len(self.vertices) >= 3 and self._near(self.vertices[0], scene):
            self.close()
            return
        if not self.vertices or self.vertices[-1] != p:
            self.vertices.append(p)
        self._hover = p  # the live wire starts here and follows the next move
        self._request()

    def move(self, scene: QPointF, held: bool) -> None:
        """Follow the pointer with the live wire, or drag the grabbed vertex."""
        p = self._clamp(scene)
        if p is None:
            return
        if self.closed and self._drag is not None and held:
            if self.vertices[self._drag] != p:
                self.vertices[self._drag] = p
                self._request()
            return
        if not self.closed and self.vertices and p != self._hover:
            self._hover = p
            self._request()

    def release(self, scene: QPointF) -> None:
        """Let go of a dragged vertex."""
        self._drag = None

    def double_click(self, scene: QPointF) -> bool:
        """A double-click on the last vertex closes the outline."""
        if not self.closed and len(self.vertices) >= 3 and self._near(self.vertices[-1], scene):
            self.close()
            return True
        return False

    def close(self) -> None:
        """Close the outline; its vertices can be dragged until Enter applies it."""
        if len(self.vertices) >= 3:
            self.closed, self._live = True, []
            self._request()

    def key(self, key: int) -> bool:
        """Enter closes, then applies; Backspace drops the last vertex; Esc cancels."""
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and len(self.vertices) >= 3:
            if not self.closed:
                self.close()
            self._apply_when_ready = True
            if self.complete() and not self.job.busy:
                self.apply()
            return True
        if key == Qt.Key.Key_Backspace and self.vertices and not self.closed:
            self.vertices.pop()
            self._request()
            return True
        if key == Qt.Key.Key_Escape and self.vertices:
            self.cancel()
            return True
        return False

    def apply(self) -> None:
        """Fill the closed outline with the active class as one undo step."""
        points = [(x + 0.5, y + 0.5) for x, y in self.outline()]
        self.cancel()
        editor = self.smart.view._editor
        if len(points) >= 3 and editor.can_edit and editor.mask is not None:
            editor._apply(polygon.paint_polygon(editor.mask, points, editor.active_class, writable=editor.writable),
                          "scissors")

    # ------------------------------------------------------------------ tracing
    def _request(self) -> None:
        """Trace the missing segments and the live wire off the GUI thread (the latest request wins)."""
        self._show()
        tool = self._tool()
        if tool is None:
            return
        missing = [pair for pair in self._pairs() if pair not in self._paths]
        wire = (self.vertices[-1], self._hover) if self.vertices and self._hover and not self.closed else None

        def trace() -> tuple[dict[tuple[Point, Point], list[Point]], list[Point]]:
            found = {pair: tool.trace(*pair) for pair in missing}
            return found, tool.trace(*wire) if wire is not None else []

        self.job.submit(trace, self._traced)

    def _traced(self, result: tuple[dict[tuple[Point, Point], list[Point]], list[Point]]) -> None:
        found, live = result
        self._paths.update(found)
        if self.vertices and not self.closed:
            self._live = live
        self._show()
        if self._apply_when_ready and not self.job.busy:
            if self.complete():
                self.apply()
            else:
                self._request()

    def _show(self) -> None:
        centre = [(x + 0.5, y + 0.5) for x, y in self.outline()]
        live = [(x + 0.5, y + 0.5) for x, y in self._live] if not self.closed else []
        handles = [(x + 0.5, y + 0.5) for x, y in self.vertices]
        item = self.smart.path
        item.set_view_scale(self.smart.view.zoom())
        item.set_path(centre, closed=self.closed, vertices=handles, live=live)
