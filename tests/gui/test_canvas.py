"""Tests of the painting canvas: tools, undo, overlay rendering, zoom and shortcuts on a real widget."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, QRect, Qt
from PySide6.QtGui import QUndoStack, QWheelEvent
from PySide6.QtWidgets import QApplication

from app.canvas import CanvasView
from app.canvas.undo import PatchCommand
from unet_core.edit import brush, fill, polygon

H, W = 100, 160
IMAGE_RGB = (0, 0, 200)
COLORS = [(0, 0, 0), (255, 0, 0), (0, 255, 0), (255, 255, 0)]


# --------------------------------------------------------------------------- helpers
def expected_disc(shape: tuple[int, int], cx: int, cy: int, r: int) -> np.ndarray:
    ys, xs = np.mgrid[0 : shape[0], 0 : shape[1]]
    return (xs - cx) ** 2 + (ys - cy) ** 2 <= r * r


def expected_capsule(shape: tuple[int, int], a: tuple[int, int], b: tuple[int, int], r: int) -> np.ndarray:
    ys, xs = np.mgrid[0 : shape[0], 0 : shape[1]].astype(float)
    (ax, ay), (bx, by) = a, b
    dx, dy = bx - ax, by - ay
    t = np.clip(((xs - ax) * dx + (ys - ay) * dy) / float(dx * dx + dy * dy), 0, 1)
    return (xs - ax - t * dx) ** 2 + (ys - ay - t * dy) ** 2 <= r * r + 1e-6


def vpos(view: CanvasView, x: float, y: float) -> QPoint:
    """Viewport position of the centre of image pixel (x, y)."""
    return view.mapFromScene(QPointF(x + 0.5, y + 0.5))


def click(qtbot, view: CanvasView, x: float, y: float) -> None:
    qtbot.mouseClick(
        view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, vpos(view, x, y)
    )


def drag(
    qtbot, view: CanvasView, points: list[tuple[float, float]], button=Qt.MouseButton.LeftButton
) -> None:
    port, mods = view.viewport(), Qt.KeyboardModifier.NoModifier
    qtbot.mousePress(port, button, mods, vpos(view, *points[0]))
    for p in points[1:]:
        qtbot.mouseMove(port, vpos(view, *p))
    qtbot.mouseRelease(port, button, mods, vpos(view, *points[-1]))


def rendered(view: CanvasView, x: float, y: float) -> tuple[int, int, int]:
    QApplication.processEvents()
    c = view.viewport().grab().toImage().pixelColor(vpos(view, x, y))
    return (c.red(), c.green(), c.blue())


def close_to(a: tuple[int, int, int], b: tuple[int, int, int], tol: int = 3) -> bool:
    return all(abs(p - q) <= tol for p, q in zip(a, b, strict=True))


@pytest.fixture
def canvas(qtbot):
    view = CanvasView()
    qtbot.addWidget(view)
    view.resize(420, 300)
    image = np.empty((H, W, 3), np.uint8)
    image[:] = IMAGE_RGB
    mask = np.zeros((H, W), np.uint8)
    view.set_image(image)
    view.set_mask(mask)
    view.set_classes(COLORS)
    view.set_opacity(1.0)
    view.set_active_class(1)
    view.set_brush_radius(5)
    view.show()
    qtbot.waitExposed(view)
    assert view.zoom() > 2.0  # every image pixel covers whole screen pixels
    return view, mask


# ----------------------------------------------------------------------------- brush
def test_dab_changes_exactly_a_disc(canvas, qtbot):
    view, mask = canvas
    view.set_active_class(2)
    with qtbot.waitSignal(view.strokeFinished), qtbot.waitSignal(view.maskEdited) as edited:
        click(qtbot, view, 40, 30)
    np.testing.assert_array_equal(mask == 2, expected_disc(mask.shape, 40, 30, 5))
    assert set(np.unique(mask)) == {0, 2}
    assert edited.args[0] == QRect(35, 25, 11, 11)
    assert view.undo_stack().count() == 1


def test_fast_drag_is_continuous_and_one_undo_step(canvas, qtbot):
    view, mask = canvas
    finished: list[int] = []
    edits: list[QRect] = []
    view.strokeFinished.connect(lambda: finished.append(1))
    view.maskEdited.connect(edits.append)
    drag(qtbot, view, [(10, 20), (150, 80), (150, 20)])  # two long jumps, no intermediate events
    want = expected_capsule(mask.shape, (10, 20), (150, 80), 5) | expected_capsule(
        mask.shape, (150, 80), (150, 20), 5
    )
    np.testing.assert_array_equal(mask == 1, want)
    assert view.undo_stack().count() == 1 and len(finished) == 1
    assert len(edits) == 3  # one per dab: the press and the two moves


def test_undo_restores_exact_array_and_redo_reapplies(canvas, qtbot):
    view, mask = canvas
    rng = np.random.default_rng(1)
    mask[:] = rng.integers(0, 4, mask.shape, dtype=np.uint8)
    view.refresh_overlay()
    before = mask.copy()
    drag(qtbot, view, [(20, 20), (60, 70), (120, 40)])
    after = mask.copy()
    assert not np.array_equal(before, after)
    stack = view.undo_stack()
    with qtbot.waitSignal(view.maskEdited) as undone:
        stack.undo()
    np.testing.assert_array_equal(mask, before)
    x, y, w, h = undone.args[0].getRect()
    assert (mask[y : y + h, x : x + w] != after[y : y + h, x : x + w]).any()
    stack.redo()
    np.testing.assert_array_equal(mask, after)


def test_undo_command_holds_only_the_dirty_patch(canvas, qtbot):
    view, mask = canvas
    view.set_brush_radius(4)
    drag(qtbot, view, [(20, 50), (40, 50), (60, 50)])
    cmd = view.undo_stack().command(0)
    assert isinstance(cmd, PatchCommand)
    assert cmd.patch.old.shape == cmd.patch.new.shape == (9, 49)  # bbox of the changed pixels
    assert (cmd.patch.x, cmd.patch.y) == (16, 46)
    assert cmd.patch.nbytes == 2 * 9 * 49 < mask.nbytes
    assert view.undo_stack().undoLimit() == 200


def test_eraser_sets_class_zero(canvas, qtbot):
    view, mask = canvas
    mask[:] = 3
    view.refresh_overlay()
    view.set_tool("eraser")
    click(qtbot, view, 80, 50)
    np.testing.assert_array_equal(mask == 0, expected_disc(mask.shape, 80, 50, 5))


def test_revert_copies_reference_pixels(canvas, qtbot):
    view, mask = canvas
    mask[:] = 1
    reference = np.random.default_rng(2).integers(0, 4, mask.shape, dtype=np.uint8)
    view.set_reference_mask(reference)
    view.set_tool("revert")
    view.set_brush_radius(8)
    click(qtbot, view, 70, 40)
    disc = expected_disc(mask.shape, 70, 40, 8)
    np.testing.assert_array_equal(mask[disc], reference[disc])
    assert (mask[~disc] == 1).all()
    view.set_reference_mask(None)
    before = mask.copy()
    click(qtbot, view, 20, 20)  # no reference: the revert tool does nothing
    np.testing.assert_array_equal(mask, before)


# ------------------------------------------------------------------------ fill, polygon
def test_fill_is_four_connected_and_one_step(canvas, qtbot):
    view, mask = canvas
    mask[10:40, 10:50] = 1
    mask[40:60, 50:70] = 1  # touches the first block only diagonally
    view.refresh_overlay()
    view.set_tool("fill")
    view.set_active_class(3)
    with qtbot.waitSignal(view.maskEdited) as edited:
        click(qtbot, view, 20, 20)
    assert (mask[10:40, 10:50] == 3).all()
    assert (mask[40:60, 50:70] == 1).all() and (mask == 3).sum() == 30 * 40
    assert edited.args[0] == QRect(10, 10, 40, 30)
    cmd = view.undo_stack().command(0)
    assert cmd.patch.old.shape == (30, 40)
    view.undo_stack().undo()
    assert (mask == 3).sum() == 0 and (mask == 1).sum() == 30 * 40 + 20 * 20


def test_polygon_click_and_double_click(canvas, qtbot):
    view, mask = canvas
    view.set_tool("polygon")
    view.set_active_class(2)
    for x, y in [(20, 20), (100, 20), (100, 60)]:
        click(qtbot, view, x, y)
    assert (mask == 0).all()  # nothing filled until closed
    click(qtbot, view, 20, 60)
    qtbot.mouseDClick(
        view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, vpos(view, 20, 60)
    )
    assert (mask == 0).all() and view._polygon.closed  # closed: its vertices can still be dragged
    qtbot.keyClick(view, Qt.Key.Key_Return)
    assert (mask[21:60, 21:100] == 2).all()
    outside = np.ones(mask.shape, bool)
    outside[19:62, 19:102] = False
    assert (mask[outside] == 0).all()
    assert view.undo_stack().count() == 1


def test_polygon_enter_closes_escape_cancels_and_lasso_drag(canvas, qtbot):
    view, mask = canvas
    view.set_tool("polygon")
    for x, y in [(10, 10), (50, 10), (50, 50)]:
        click(qtbot, view, x, y)
    qtbot.keyClick(view, Qt.Key.Key_Escape)
    assert (mask == 0).all() and view.undo_stack().count() == 0
    for x, y in [(10, 10), (50, 10), (50, 50)]:
        click(qtbot, view, x, y)
    qtbot.keyClick(view, Qt.Key.Key_Return)
    assert mask[15, 40] == 1 and mask[40, 15] == 0  # the triangle's two sides
    view.set_active_class(3)
    drag(qtbot, view, [(100, 20), (140, 20), (140, 60), (100, 60)])  # a lasso closes on release
    assert (mask[25:55, 105:138] == 3).all()
    assert view.undo_stack().count() == 2


# ------------------------------------------------------------------------- read-only
def test_non_editable_mask_is_not_changed(canvas, qtbot):
    view, mask = canvas
    mask[30:50, 30:50] = 2
    shown = mask.copy()
    shown.setflags(write=False)
    view.set_mask(shown, editable=False)
    assert not view.is_editable()
    moves: list[tuple[int, int, int]] = []
    view.cursorMoved.connect(lambda x, y, c: moves.append((x, y, c)))
    for tool in ("brush", "eraser", "fill", "revert"):
        view.set_tool(tool)
        drag(qtbot, view, [(40, 40), (60, 45)])
    view.set_tool("polygon")
    for x, y in [(5, 5), (90, 5), (90, 90)]:
        click(qtbot, view, x, y)
    qtbot.keyClick(view, Qt.Key.Key_Return)
    np.testing.assert_array_equal(shown, mask)
    assert view.undo_stack().count() == 0
    qtbot.mouseMove(view.viewport(), vpos(view, 41, 40))
    assert moves[-1] == (41, 40, 2)


def test_bad_masks_are_refused_clearly(canvas):
    view, mask = canvas
    frozen = mask.copy()
    frozen.setflags(write=False)
    with pytest.raises(ValueError, match="read-only"):
        view.set_mask(frozen)
    with pytest.raises(ValueError, match="image is 160x100"):
        view.set_mask(np.zeros((10, 10), np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        view.set_mask(np.zeros((H, W), np.int32))
    with pytest.raises(ValueError, match="unknown tool"):
        view.set_tool("spray")
    assert view.mask() is mask  # the shown mask is unchanged after the refusals


# --------------------------------------------------------------------------- rendering
def test_opacity_visibility_and_hide_change_rendered_pixels(canvas, qtbot):
    view, mask = canvas
    mask[10:40, 10:40] = 1
    view.refresh_overlay()
    assert close_to(rendered(view, 20, 20), (255, 0, 0))
    assert close_to(rendered(view, 80, 80), IMAGE_RGB)
    view.set_opacity(0.5)
    assert close_to(rendered(view, 20, 20), (128, 0, 100), tol=4)
    view.set_class_visible(1, False)
    assert close_to(rendered(view, 20, 20), IMAGE_RGB)
    view.set_class_visible(1, True)
    view.set_overlay_hidden(True)
    assert close_to(rendered(view, 20, 20), IMAGE_RGB)
    view.set_overlay_hidden(False)
    view.set_classes([(0, 0, 0), (0, 255, 0)])
    assert close_to(rendered(view, 20, 20), (0, 128, 100), tol=4)


def test_repaint_after_edit_shows_new_colour(canvas, qtbot):
    view, _ = canvas
    assert close_to(rendered(view, 63, 61), IMAGE_RGB)
    view.set_active_class(2)
    click(qtbot, view, 60, 60)  # (63, 61) is inside the disc, clear of the pointer's outline
    assert close_to(rendered(view, 63, 61), (0, 255, 0))
    assert close_to(rendered(view, 60, 75), IMAGE_RGB)
    view.undo_stack().undo()
    assert close_to(rendered(view, 63, 61), IMAGE_RGB)


# -------------------------------------------------------------------------- navigation
def test_wheel_zoom_around_pointer(canvas, qtbot):
    view, _ = canvas
    zooms: list[float] = []
    view.zoomChanged.connect(zooms.append)
    pos = QPointF(vpos(view, 120, 30))
    anchor = view.mapToScene(pos.toPoint())
    event = QWheelEvent(
        pos,
        QPointF(view.viewport().mapToGlobal(pos.toPoint())),
        QPoint(),
        QPoint(0, 240),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    start = view.zoom()
    QApplication.sendEvent(view.viewport(), event)
    assert zooms and zooms[-1] == pytest.approx(start * 1.25**2)
    after = view.mapToScene(pos.toPoint())
    assert abs(after.x() - anchor.x()) < 1.0 and abs(after.y() - anchor.y()) < 1.0
    view.zoom_actual()
    assert zooms[-1] == pytest.approx(1.0)
    view.fit_to_window()
    assert zooms[-1] == pytest.approx(start)


def test_brackets_change_radius_and_cursor_shows_footprint(canvas, qtbot):
    view, _ = canvas
    view.set_brush_radius(20)
    with qtbot.waitSignal(view.brushRadiusChanged) as changed:
        qtbot.keyClick(view, Qt.Key.Key_BracketRight)
    assert changed.args == [24]
    qtbot.keyClick(view, Qt.Key.Key_BracketLeft)
    qtbot.keyClick(view, Qt.Key.Key_BracketLeft)
    assert view.brush_radius() == 17
    view.set_brush_radius(9999)
    assert view.brush_radius() == 500
    view.set_brush_radius(6)
    qtbot.mouseMove(view.viewport(), vpos(view, 50, 50))
    outline = view._brush_cursor
    assert outline.isVisible() and outline.pos() == QPointF(50.5, 50.5)
    assert outline.boundingRect().width() > 2 * 6.5
    assert view.viewport().cursor().shape() == Qt.CursorShape.BlankCursor
    view.set_tool("fill")
    assert not outline.isVisible()
    assert view.viewport().cursor().shape() == Qt.CursorShape.CrossCursor


def test_space_and_middle_drag_pan_without_painting(canvas, qtbot):
    view, mask = canvas
    view.zoom_by(4.0)
    bar = view.horizontalScrollBar()
    start = bar.value()
    qtbot.keyPress(view, Qt.Key.Key_Space)
    drag(qtbot, view, [(60, 30), (50, 30)])
    qtbot.keyRelease(view, Qt.Key.Key_Space)
    assert bar.value() > start and (mask == 0).all()
    start = bar.value()
    drag(qtbot, view, [(60, 30), (65, 30)], button=Qt.MouseButton.MiddleButton)
    assert bar.value() < start and (mask == 0).all()


def test_cursor_moved_reports_class_and_outside(canvas, qtbot):
    view, mask = canvas
    mask[0:10, 0:10] = 3
    view.refresh_overlay()
    with qtbot.waitSignal(view.cursorMoved) as moved:
        qtbot.mouseMove(view.viewport(), vpos(view, 5, 5))
    assert moved.args == [5, 5, 3]
    with qtbot.waitSignal(view.cursorMoved) as moved:
        qtbot.mouseMove(view.viewport(), vpos(view, -3, 5))
    assert moved.args == [-1, -1, -1]


# --------------------------------------------------------------------- images and stacks
def test_same_size_image_keeps_zoom_and_undo_stack_per_image(canvas, qtbot):
    view, mask_a = canvas
    stack_a = view.undo_stack()
    click(qtbot, view, 30, 30)
    view.zoom_by(2.0)
    zoom = view.zoom()
    mask_b = np.zeros((H, W), np.uint8)
    stack_b = QUndoStack()
    view.set_image(np.zeros((H, W, 3), np.uint8))
    view.set_mask(mask_b)
    view.set_undo_stack(stack_b)
    assert view.zoom() == pytest.approx(zoom) and stack_a.count() == 1
    click(qtbot, view, 90, 60)
    assert stack_b.count() == 1 and stack_a.count() == 1 and mask_b[60, 90] == 1
    edits: list[QRect] = []
    view.maskEdited.connect(edits.append)
    stack_a.undo()  # the hidden image's stack writes into its own array only
    assert (mask_a == 0).all() and mask_b[60, 90] == 1 and not edits
    view.set_image(np.zeros((50, 80, 3), np.uint8))
    assert view.mask() is None and view.zoom() > zoom / 2.0


# ------------------------------------------------------------------------ pixel helpers
def test_painting_helpers_edge_cases():
    m = np.zeros((20, 30), np.uint8)
    assert brush.stamp_disc(m, -50, -50, 3, 1) is None and not m.any()
    assert brush.stamp_disc(m, 0, 0, 3, 1) == (0, 0, 4, 4)
    assert polygon.fill_polygon(m, [(1, 1), (5, 5)], 2) is None
    assert fill.flood_fill(m, 0, 0, 1) is None  # already that class
    assert fill.flood_fill(m, 99, 0, 2) is None  # outside
    rect = brush.stamp_segment(m, (2, 10), (27, 10), 0, 5)
    assert rect == (2, 10, 28, 11) and (m[10, 2:28] == 5).all()


def test_replace_mask_pixels_is_one_small_undo_step(qtbot) -> None:  # type: ignore[no-untyped-def]
    from app.canvas import CanvasView

    view = CanvasView()
    qtbot.addWidget(view)
    image = np.zeros((100, 120, 3), np.uint8)
    mask = np.zeros((100, 120), np.uint8)
    view.set_image(image)
    view.set_mask(mask)
    new = mask.copy()
    new[10:20, 30:50] = 1
    assert view.replace_mask_pixels(new, "Accept prediction")
    assert np.array_equal(mask, new)
    stack = view.undo_stack()
    assert stack.count() == 1 and stack.undoText() == "Accept prediction"
    assert stack.command(0).patch.old.shape == (10, 20)  # only the changed box is kept
    stack.undo()
    assert not mask.any()
    assert not view.replace_mask_pixels(mask.copy())  # no change, no step


def test_void_pixels_are_drawn_in_their_own_colour(canvas, qtbot):
    from unet_core.data.classes import VOID, VOID_COLOR

    view, mask = canvas
    assert view._overlay.colors()[VOID] == VOID_COLOR
    mask[2:6, 2:6] = VOID
    view.set_mask(mask)
    qtbot.wait(50)
    shot = view.viewport().grab().toImage()
    p = view.mapFromScene(4.5, 4.5)
    pixel = shot.pixelColor(p.x(), p.y())
    assert (pixel.red(), pixel.green(), pixel.blue()) == VOID_COLOR  # opacity 1: the overlay's colour alone
