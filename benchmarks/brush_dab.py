"""Benchmark: brush dab -> overlay repainted, on a 1918x1280 frame with radius 20; prints JSON."""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
from PySide6.QtCore import QEvent, QObject, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from app.canvas import CanvasView


class PaintCounter(QObject):
    """Counts paint events of the watched widget."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Count, never consume."""
        if event.type() == QEvent.Type.Paint:
            self.count += 1
        return False


def _mouse(kind: QEvent.Type, pos: QPoint, button: Qt.MouseButton, buttons: Qt.MouseButton) -> QMouseEvent:
    p = QPointF(pos)
    return QMouseEvent(kind, p, p, button, buttons, Qt.KeyboardModifier.NoModifier)


def run(width: int, height: int, radius: int, dabs: int, view_size: tuple[int, int]) -> dict[str, object]:
    """Paint ``dabs`` mouse-move dabs along a curve and time each until its repaint finished."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
    mask = np.zeros((height, width), np.uint8)
    mask[height // 4 : height // 2, width // 4 : width // 2] = 2
    view = CanvasView()
    view.resize(*view_size)
    view.set_image(image)
    view.set_mask(mask)
    view.set_classes([(0, 0, 0), (255, 0, 0), (0, 200, 0)])
    view.set_active_class(1)
    view.set_brush_radius(radius)
    view.show()
    for _ in range(20):
        app.processEvents()
    port = view.viewport()
    counter = PaintCounter()
    port.installEventFilter(counter)

    def point(i: int) -> QPoint:
        t = i / dabs
        x = width * (0.1 + 0.8 * t)
        y = height * (0.5 + 0.3 * math.sin(6 * math.pi * t))
        return view.mapFromScene(QPointF(x, y))

    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    QApplication.sendEvent(port, _mouse(QEvent.Type.MouseButtonPress, point(0), left, left))
    for _ in range(5):
        app.processEvents()
    times: list[float] = []
    missed = 0
    for i in range(1, dabs + 1):
        before = counter.count
        t0 = time.perf_counter()
        QApplication.sendEvent(port, _mouse(QEvent.Type.MouseMove, point(i), none, left))
        for _ in range(20):
            app.processEvents()
            if counter.count > before:
                break
        else:
            missed += 1
        times.append((time.perf_counter() - t0) * 1000.0)
    QApplication.sendEvent(port, _mouse(QEvent.Type.MouseButtonRelease, point(dabs), left, none))
    app.processEvents()
    times.sort()
    result: dict[str, object] = {
        "brush_dab_ms": {
            "median": round(statistics.median(times), 3),
            "p95": round(times[min(len(times) - 1, int(0.95 * len(times)))], 3),
            "max": round(times[-1], 3),
        },
        "size": [width, height],
        "radius": radius,
        "dabs": dabs,
        "zoom": round(view.zoom(), 4),
        "viewport": [port.width(), port.height()],
        "undo_steps": view.undo_stack().count(),
        "painted_pixels": int((mask == 1).sum()),
    }
    if missed:
        result["dabs_without_repaint"] = missed
    view.close()
    return result


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python benchmarks/brush_dab.py [--dabs N] [--radius R] [--zoom-actual]``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dabs", type=int, default=200)
    parser.add_argument("--radius", type=int, default=20)
    parser.add_argument("--view", default="1280x800", help="viewport size WxH")
    args = parser.parse_args(argv)
    vw, vh = (int(v) for v in args.view.lower().split("x"))
    print(json.dumps(run(1918, 1280, args.radius, args.dabs, (vw, vh))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
