"""The canvas and the simulated annotator paint with the same core brush (unet_core.edit.brush)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from app.canvas import CanvasView
from unet_core.edit import brush
from unet_core.sim import annotator
from unet_core.sim.brush_strokes import stroke_footprint

H, W = 90, 140
STROKE = [(20, 30), (45, 38), (70, 60), (110, 25)]


def _canvas(qtbot, radius: int) -> tuple[CanvasView, np.ndarray]:  # type: ignore[no-untyped-def]
    view = CanvasView()
    qtbot.addWidget(view)
    view.resize(420, 300)
    mask = np.zeros((H, W), np.uint8)
    view.set_image(np.zeros((H, W, 3), np.uint8))
    view.set_mask(mask)
    view.set_classes([(0, 0, 0), (255, 0, 0)])
    view.set_active_class(1)
    view.set_brush_radius(radius)
    view.show()
    return view, mask


def _drag(qtbot, view: CanvasView, points: list[tuple[int, int]]) -> None:  # type: ignore[no-untyped-def]
    port, mods, left = view.viewport(), Qt.KeyboardModifier.NoModifier, Qt.MouseButton.LeftButton

    def pos(p: tuple[int, int]):  # type: ignore[no-untyped-def]
        return view.mapFromScene(QPointF(p[0] + 0.5, p[1] + 0.5))

    qtbot.mousePress(port, left, mods, pos(points[0]))
    for p in points[1:]:
        qtbot.mouseMove(port, pos(p))
    qtbot.mouseRelease(port, left, mods, pos(points[-1]))


def _annotator_stroke(points: list[tuple[int, int]], radius: int) -> np.ndarray:
    """What the simulated person's stroke does to an empty mask when every painted pixel is right."""
    truth = np.ones((H, W), np.uint8)
    session = annotator.BrushSession(np.zeros((H, W), np.uint8), truth, 2, annotator.AnnotatorConfig())
    session.apply(annotator._Stroke(1, radius, list(points)))
    assert session.strokes == 1 and session.undos == 0
    return session.mask


@pytest.mark.parametrize("radius", [1, 4, 9])
def test_canvas_drag_and_annotator_stroke_paint_identical_pixels(qtbot, radius: int) -> None:  # type: ignore[no-untyped-def]
    view, mask = _canvas(qtbot, radius)
    if view.zoom() < 1.0:
        pytest.skip("the view must show every pixel for mouse positions to hit exact pixels")
    _drag(qtbot, view, STROKE)
    sim = _annotator_stroke(STROKE, radius)
    assert mask.any() and np.array_equal(mask, sim)
    assert np.array_equal(mask == 1, stroke_footprint((H, W), STROKE, radius))
    assert view.undo_stack().count() == 1


def test_canvas_and_annotator_both_call_the_core_brush(qtbot, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    calls: list[str] = []
    real = brush.stamp_segment

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append("stamp_segment")
        return real(*args, **kwargs)

    monkeypatch.setattr(brush, "stamp_segment", spy)
    view, mask = _canvas(qtbot, 5)
    _drag(qtbot, view, STROKE[:2])
    assert calls and mask.any()
    canvas_calls = len(calls)
    truth = np.zeros((H, W), np.uint8)
    truth[20:60, 30:100] = 1
    result = annotator.annotate(np.zeros_like(truth), truth)
    assert result.strokes > 0 and len(calls) > canvas_calls
