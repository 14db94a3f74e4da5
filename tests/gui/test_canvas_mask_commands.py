"""Whole-mask commands on the canvas (cleanup, refine edges) with real key events: previews, Enter, Esc, locks, undo."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from tests.gui.test_canvas_smart_tools import canvas as smart_canvas  # noqa: F401 (a fixture)
from tests.gui.test_canvas_smart_tools import drag, settle, undo_all_restores
from tests.unit import smart_scenes
from tests.unit.smart_scenes import iou


@pytest.fixture
def canvas(smart_canvas):  # type: ignore[no-untyped-def]  # noqa: F811 (the imported fixture)
    """The smart tools' canvas: a disc (class 1) and a box (class 2) on grey, an empty mask, class 1 active."""
    return smart_canvas


# ------------------------------------------------------------------------------- cleanup
def test_cleanup_previews_then_enter_fills_holes_and_removes_specks(canvas, qtbot) -> None:  # type: ignore[no-untyped-def]
    view, mask, truth = canvas
    mask[truth == 1] = 1
    mask[58:61, 50:53] = 0  # a small hole
    mask[100:102, 10:12] = 1  # a speck
    view.refresh_overlay()
    before = mask.copy()
    view.set_tool("brush")
    view.set_tool("cleanup")
    settle(qtbot, view)
    sel = view._smart.preview.selection
    assert sel is not None and sel.area == 13 and (mask == before).all()
    qtbot.keyClick(view, Qt.Key.Key_Escape)  # cancel: nothing changes, back to the brush
    assert view.tool() == "brush" and (mask == before).all()
    view.set_tool("cleanup")
    settle(qtbot, view)
    qtbot.keyClick(view, Qt.Key.Key_BracketLeft)  # a smaller size: the hole (9 px) and speck (4 px) stay below
    settle(qtbot, view)
    qtbot.keyClick(view, Qt.Key.Key_Return)
    assert (mask[58:61, 50:53] == 1).all() and (mask[100:102, 10:12] == 0).all()
    assert view.tool() == "brush"
    undo_all_restores(view, mask, before)


# ------------------------------------------------------------------------------- refine edges
def test_refine_previews_the_outline_on_the_edge_then_enter_applies_one_step(canvas, qtbot) -> None:  # type: ignore[no-untyped-def]
    view, mask, truth = canvas
    mask[truth == 2] = 2
    mask[35:85, 30:80] = 1  # a box where the disc is: its corners stick out, its sides cut the disc off
    view.refresh_overlay()
    before = mask.copy()
    hints: list[str] = []
    view.hintChanged.connect(hints.append)
    view.set_tool("brush")
    view.set_active_class(0)  # the background has no outline of its own: nothing to refine
    view.set_tool("refine")
    settle(qtbot, view)
    assert view._smart.preview.selection is None and "choose a class to refine" in hints[-1]
    view.set_active_class(1)  # the preview follows the class
    settle(qtbot, view)
    sel = view._smart.preview.selection
    assert sel is not None and (mask == before).all()  # only a preview so far
    qtbot.keyClick(view, Qt.Key.Key_BracketRight)  # a longer reach: the corners lie further out than the default
    settle(qtbot, view)
    qtbot.keyClick(view, Qt.Key.Key_Return)
    assert view.tool() == "brush"
    assert iou(mask == 1, truth == 1) > 0.95 > iou(before == 1, truth == 1)
    assert np.array_equal(mask == 2, before == 2)  # the other class's object is not touched
    assert view.undo_stack().count() == 1
    undo_all_restores(view, mask, before)
    view.set_tool("refine")
    settle(qtbot, view)
    qtbot.keyClick(view, Qt.Key.Key_Escape)  # cancel: nothing changes, back to the brush
    assert view.tool() == "brush" and (mask == before).all()


def test_a_refine_preview_of_a_class_left_before_it_landed_is_dropped(canvas, qtbot) -> None:  # type: ignore[no-untyped-def]
    view, mask, _truth = canvas
    mask[35:85, 30:80] = 1
    view.refresh_overlay()
    before = mask.copy()
    view.set_tool("brush")
    view.set_active_class(1)
    view.set_tool("refine")  # class 1's preview is being computed...
    view.set_active_class(0)  # ... when the user picks the background, which has nothing to refine
    settle(qtbot, view)
    assert view._smart.preview.selection is None
    qtbot.keyClick(view, Qt.Key.Key_Return)
    assert (mask == before).all() and view.undo_stack().count() == 0


def test_the_refine_preview_shows_only_what_locks_let_it_write(canvas, qtbot) -> None:  # type: ignore[no-untyped-def]
    view, mask, _truth = canvas
    mask[35:85, 30:80] = 1  # its corners stick out of the disc: refining takes them away
    view.refresh_overlay()
    view.set_protection(locked=[1])
    view.set_tool("refine")
    settle(qtbot, view)
    sel = view._smart.preview.selection
    assert sel is not None  # what it adds to the disc's sides
    x0, y0, x1, y1 = sel.rect
    assert not (sel.pixels & (mask[y0:y1, x0:x1] == 1)).any()  # nothing taken from the locked class is shown


def test_another_image_with_refine_on_previews_its_own_mask(canvas, qtbot) -> None:  # type: ignore[no-untyped-def]
    view, mask, truth = canvas
    mask[35:85, 30:80] = 1
    view.refresh_overlay()
    view.set_tool("refine")
    settle(qtbot, view)
    image, _ = smart_scenes.scene(seed=4, half=True, noise=5)
    other = truth.copy()  # the next image's mask: already on its edges, nothing to refine
    view.set_image(image.copy())
    view.set_mask(other)
    settle(qtbot, view)
    assert view._smart.preview.selection is None  # not the previous mask's outline drawn on this image
    qtbot.keyClick(view, Qt.Key.Key_Return)
    assert np.array_equal(other, truth)


def test_cleanup_preview_follows_an_undo(canvas, qtbot) -> None:  # type: ignore[no-untyped-def]
    view, mask, truth = canvas
    mask[truth == 1] = 1
    view.refresh_overlay()
    view.set_tool("brush")
    view.set_brush_radius(1)
    drag(qtbot, view, [(5, 5), (6, 5)])  # a speck of the active class
    view.set_tool("cleanup")
    settle(qtbot, view)
    assert view._smart.preview.selection is not None
    view.undo_stack().undo()  # the speck is gone: nothing left to clean up
    settle(qtbot, view)
    assert view._smart.preview.selection is None and view.tool() == "cleanup"
