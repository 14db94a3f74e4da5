"""The polygon tool: vertices clamped to the image, a real double-click or the first vertex closes, closed vertices drag."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from app.canvas import CanvasView

H, W = 100, 160


@pytest.fixture
def canvas(qtbot):  # type: ignore[no-untyped-def]
    view = CanvasView()
    qtbot.addWidget(view)
    view.resize(420, 300)
    view.set_image(np.full((H, W, 3), 90, np.uint8))
    mask = np.zeros((H, W), np.uint8)
    view.set_mask(mask)
    view.set_classes([(0, 0, 0), (255, 0, 0), (0, 255, 0)])
    view.set_tool("polygon")
    view.set_active_class(2)
    view.zoom_by(0.7)  # room around the image to click beside it
    view.show()
    qtbot.waitExposed(view)
    return view, mask


def vpos(view: CanvasView, x: float, y: float) -> QPoint:
    return view.mapFromScene(QPointF(x, y))


def click(qtbot, view: CanvasView, x: float, y: float) -> None:  # type: ignore[no-untyped-def]
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, vpos(view, x, y))


def quick_second_click(view: CanvasView, x: float, y: float) -> None:
    """What Qt delivers for a click < 0.4 s after the previous one: a double-click event (here elsewhere)."""
    pos = QPointF(vpos(view, x, y))
    glob = QPointF(view.viewport().mapToGlobal(pos.toPoint()))
    for kind in (QEvent.Type.MouseButtonDblClick, QEvent.Type.MouseButtonRelease):
        buttons = Qt.MouseButton.LeftButton if kind == QEvent.Type.MouseButtonDblClick else Qt.MouseButton.NoButton
        QApplication.sendEvent(view.viewport(), QMouseEvent(kind, pos, glob, Qt.MouseButton.LeftButton, buttons,
                                                            Qt.KeyboardModifier.NoModifier))


def test_vertices_beside_the_image_are_clamped_to_its_border(canvas, qtbot, tmp_path) -> None:  # type: ignore[no-untyped-def]
    view, mask = canvas
    for x, y in [(-30, -30), (120, -30), (120, 50)]:  # two clicks above/left of the image
        click(qtbot, view, x, y)
    (x0, y0), (x1, y1) = view._polygon.points[:2]
    assert (x0, y0, y1) == (0.0, 0.0, 0.0) and abs(x1 - 120) < 0.5
    qtbot.keyClick(view, Qt.Key.Key_Return)
    assert mask[0, 100] == 2 and mask[1, 110] == 2  # the filled triangle reaches the image's top row
    ys, xs = np.mgrid[0:H, 0:W]
    expected = (xs <= 120) & (ys <= xs * 50 / 120)  # the clamped triangle (0,0) (120,0) (120,50)
    assert np.mean((mask == 2) == expected) > 0.97
    assert view.grab().save(str(tmp_path / "polygon_clamped.png"))


def test_quick_clicks_add_vertices_and_only_a_real_double_click_closes(canvas, qtbot) -> None:  # type: ignore[no-untyped-def]
    view, mask = canvas
    click(qtbot, view, 20, 20)
    click(qtbot, view, 100, 20)
    quick_second_click(view, 100, 70)  # fast third click somewhere else: a vertex, not the end
    assert (mask == 0).all() and len(view._polygon.points) == 3
    click(qtbot, view, 20, 70)
    assert len(view._polygon.points) == 4
    quick_second_click(view, 20, 70)  # a real double-click on the last vertex closes
    assert view._polygon.closed and (mask == 0).all()
    qtbot.keyClick(view, Qt.Key.Key_Return)
    assert (mask[25:65, 25:95] == 2).all() and not view._polygon
    assert view.undo_stack().count() == 1


def test_clicking_the_first_vertex_closes(canvas, qtbot) -> None:  # type: ignore[no-untyped-def]
    view, mask = canvas
    for x, y in [(30, 10), (90, 10), (90, 60), (30, 10)]:
        click(qtbot, view, x, y)
    assert view._polygon.closed and (mask == 0).all()
    qtbot.keyClick(view, Qt.Key.Key_Enter)
    assert not view._polygon and mask[15, 80] == 2 and mask[50, 40] == 0


def test_a_closed_polygons_vertex_drags_clamped_to_the_image_then_enter_applies(canvas, qtbot, tmp_path) -> None:  # type: ignore[no-untyped-def]
    view, mask = canvas
    for x, y in [(30, 10), (90, 10), (90, 60), (30, 10)]:
        click(qtbot, view, x, y)
    assert view._polygon.closed
    port = view.viewport()
    qtbot.mousePress(port, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, vpos(view, 90, 60))
    for x, y in [(100, 70), (130, 90), (150, 140)]:  # the last point lies below the image
        qtbot.mouseMove(port, vpos(view, x, y))
    qtbot.mouseRelease(port, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, vpos(view, 150, 140))
    x2, y2 = view._polygon.points[2]
    assert abs(x2 - 150) < 0.5 and y2 == float(H)  # clamped to the image's bottom border
    assert (mask == 0).all() and view.undo_stack().count() == 0
    assert view.grab().save(str(tmp_path / "polygon_closed_drag.png"))
    qtbot.keyClick(view, Qt.Key.Key_Return)
    assert mask[H - 2, 148] == 2 and mask[15, 80] == 2 and mask[60, 35] == 0
    assert view.undo_stack().count() == 1
    view.undo_stack().undo()
    assert (mask == 0).all()
