"""Tests of the classes panel: active class, visibility, opacity, shares, swatches, shortcuts."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor

from app.panels.classes_panel import (
    COL_ID,
    COL_KEY,
    COL_LOCK,
    COL_NAME,
    COL_SHARE,
    COL_VISIBLE,
    ClassesPanel,
    class_for_key,
    shortcut_key,
    swatch_icon,
)

NAMES = [f"class{i}" for i in range(12)]
COLORS = [(0, 0, 0)] + [(20 * i, 255 - 20 * i, 100) for i in range(1, 12)]


@pytest.fixture
def panel(qtbot) -> ClassesPanel:
    w = ClassesPanel()
    qtbot.addWidget(w)
    w.resize(320, 520)
    w.show()
    qtbot.waitExposed(w)
    w.set_classes(NAMES, COLORS)
    return w


def cell_pos(panel: ClassesPanel, class_id: int, column: int) -> QPoint:
    item = panel.tree.topLevelItem(class_id)
    return panel.tree.visualRect(panel.tree.indexFromItem(item, column)).center()


def test_empty_state(qtbot) -> None:
    w = ClassesPanel()
    qtbot.addWidget(w)
    w.show()
    assert w.empty_label.isVisible() and "open a folder" in w.empty_label.text()
    assert not w.show_all_button.isEnabled()
    assert w.active_class() == 0


def test_rows_show_id_name_key_and_visibility(panel: ClassesPanel) -> None:
    assert panel.class_count() == 12 and panel.tree.isVisible()
    item = panel.tree.topLevelItem(3)
    assert (item.text(COL_ID), item.text(COL_NAME), item.text(COL_KEY)) == ("3", "class3", "3")
    assert panel.tree.topLevelItem(9).text(COL_KEY) == "9" and panel.tree.topLevelItem(0).text(COL_KEY) == "0"
    assert panel.tree.topLevelItem(10).text(COL_KEY) == "10"  # typed digit after digit
    assert item.checkState(COL_VISIBLE) == Qt.CheckState.Checked
    assert "type 3" in item.toolTip(COL_NAME)
    assert "transparent" in panel.tree.topLevelItem(0).toolTip(COL_NAME)
    with pytest.raises(ValueError, match="colours"):
        panel.set_classes(["a", "b"], [(0, 0, 0)])
    assert panel.class_count() == 12  # a bad call leaves the list alone


def test_click_row_changes_active_class(panel: ClassesPanel, qtbot) -> None:
    with qtbot.waitSignal(panel.activeClassChanged, timeout=1000) as blocker:
        qtbot.mouseClick(panel.tree.viewport(), Qt.MouseButton.LeftButton, pos=cell_pos(panel, 5, COL_NAME))
    assert blocker.args == [5]
    assert panel.active_class() == 5
    assert panel.tree.topLevelItem(5).font(COL_NAME).bold()
    assert not panel.tree.topLevelItem(0).font(COL_NAME).bold()
    with qtbot.assertNotEmitted(panel.activeClassChanged, wait=20):  # same row again: nothing new
        qtbot.mouseClick(panel.tree.viewport(), Qt.MouseButton.LeftButton, pos=cell_pos(panel, 5, COL_ID))


def test_keyboard_moves_active_class(panel: ClassesPanel, qtbot) -> None:
    panel.tree.setFocus()
    with qtbot.waitSignal(panel.activeClassChanged, timeout=1000) as blocker:
        qtbot.keyClick(panel.tree, Qt.Key.Key_Down)
    assert blocker.args == [1]


def test_visibility_checkbox_emits_without_changing_active(panel: ClassesPanel, qtbot) -> None:
    with (
        qtbot.assertNotEmitted(panel.activeClassChanged),
        qtbot.waitSignal(panel.visibilityChanged, timeout=1000) as blocker,
    ):
        qtbot.mouseClick(
            panel.tree.viewport(), Qt.MouseButton.LeftButton, pos=cell_pos(panel, 4, COL_VISIBLE)
        )
    assert blocker.args == [4, False]
    assert not panel.is_class_visible(4)
    assert panel.active_class() == 0
    with qtbot.waitSignal(panel.visibilityChanged, timeout=1000) as blocker:
        qtbot.mouseClick(
            panel.tree.viewport(), Qt.MouseButton.LeftButton, pos=cell_pos(panel, 4, COL_VISIBLE)
        )
    assert blocker.args == [4, True]
    panel.tree.setFocus()
    with qtbot.waitSignal(panel.visibilityChanged, timeout=1000) as blocker:  # Space toggles the active row
        qtbot.keyClick(panel.tree, Qt.Key.Key_Space)
    assert blocker.args == [0, False]


def test_set_class_visible_and_show_hide_all(panel: ClassesPanel, qtbot) -> None:
    with qtbot.assertNotEmitted(panel.visibilityChanged):
        panel.set_class_visible(2, False)
    assert not panel.is_class_visible(2)
    got: list[tuple[int, bool]] = []
    panel.visibilityChanged.connect(lambda c, v: got.append((c, v)))
    panel.show_all_button.click()
    assert got == [(2, True)]
    got.clear()
    panel.hide_all_button.click()
    assert got == [(i, False) for i in range(12)]
    assert not any(panel.is_class_visible(i) for i in range(12))


def test_opacity_slider_emits_fraction(panel: ClassesPanel, qtbot) -> None:
    with qtbot.waitSignal(panel.opacityChanged, timeout=1000) as blocker:
        panel.opacity_slider.setValue(75)
    assert blocker.args == [0.75]
    assert panel.opacity_label.text() == "75 %"
    panel.opacity_slider.setFocus()
    with qtbot.waitSignal(panel.opacityChanged, timeout=1000) as blocker:
        qtbot.keyClick(panel.opacity_slider, Qt.Key.Key_End)
    assert blocker.args == [1.0]
    with qtbot.assertNotEmitted(panel.opacityChanged):
        panel.set_opacity(0.3)
        panel.set_opacity(7)  # clamped
    assert panel.opacity() == 1.0 and panel.opacity_label.text() == "100 %"
    panel.set_opacity(0.3)
    assert panel.opacity_slider.value() == 30 and panel.opacity_label.text() == "30 %"


def test_set_active_class_highlights_without_emitting(panel: ClassesPanel, qtbot) -> None:
    with qtbot.assertNotEmitted(panel.activeClassChanged):
        panel.set_active_class(7)
        panel.set_active_class(99)  # ignored
    assert panel.active_class() == 7
    assert panel.tree.currentItem() is panel.tree.topLevelItem(7)
    assert panel.tree.topLevelItem(7).isSelected()
    assert panel.tree.topLevelItem(7).font(COL_NAME).bold()
    assert not panel.tree.topLevelItem(0).font(COL_NAME).bold()
    panel.set_classes(NAMES[:3], COLORS[:3])  # active id no longer exists -> back to 0
    assert panel.active_class() == 0


def test_pixel_counts_show_shares(panel: ClassesPanel) -> None:
    counts = [0] * 12
    counts[0], counts[1], counts[2] = 7500, 2499, 1
    panel.set_pixel_counts(counts)
    assert panel.share_text(0) == "75.0 %"
    assert panel.share_text(1) == "25.0 %"
    assert panel.share_text(2) == "<0.1 %"
    assert panel.share_text(3) == "0.0 %"
    panel.set_pixel_counts([10, 10])  # shorter list: the rest count as zero
    assert panel.share_text(1) == "50.0 %" and panel.tree.topLevelItem(5).text(COL_SHARE) == "0.0 %"
    panel.set_pixel_counts(None)
    assert all(panel.share_text(i) == "" for i in range(12))
    panel.set_pixel_counts([0] * 12)  # empty mask: no division by zero
    assert panel.share_text(0) == ""


def test_background_swatch_is_checkerboard() -> None:
    img = swatch_icon((0, 0, 0)).pixmap(14, 14).toImage()
    inner = {QColor(img.pixel(x, y)).name() for x in range(1, 13) for y in range(1, 13)}
    assert len(inner) == 2 and "#000000" not in inner
    solid = swatch_icon((200, 10, 30)).pixmap(14, 14).toImage()
    assert QColor(solid.pixel(7, 7)).getRgb()[:3] == (200, 10, 30)


def test_shortcut_mapping() -> None:
    assert [shortcut_key(i) for i in (0, 8, 9, 12, 255, 256, -1)] == ["0", "8", "9", "12", "255", None, None]
    assert [class_for_key(d) for d in (1, 9, 0)] == [1, 9, 0]
    with pytest.raises(ValueError):
        class_for_key(10)


def test_lock_column_click_toggles_lock_without_changing_active(panel: ClassesPanel, qtbot) -> None:
    assert panel.locked_classes() == []
    with (
        qtbot.assertNotEmitted(panel.activeClassChanged),
        qtbot.waitSignal(panel.lockChanged, timeout=1000) as blocker,
    ):
        qtbot.mouseClick(panel.tree.viewport(), Qt.MouseButton.LeftButton, pos=cell_pos(panel, 3, COL_LOCK))
    assert blocker.args == [3, True]
    assert panel.is_class_locked(3) and panel.locked_classes() == [3]
    assert "locked" in panel.tree.topLevelItem(3).toolTip(COL_LOCK)
    panel.set_classes(NAMES, COLORS)  # the same table again (a new model): the lock stays
    assert panel.locked_classes() == [3]
    with qtbot.waitSignal(panel.lockChanged, timeout=1000) as blocker:
        qtbot.mouseClick(panel.tree.viewport(), Qt.MouseButton.LeftButton, pos=cell_pos(panel, 3, COL_LOCK))
    assert blocker.args == [3, False] and panel.locked_classes() == []
    with qtbot.assertNotEmitted(panel.lockChanged, wait=20):
        panel.set_class_locked(5, True)
    assert panel.locked_classes() == [5]
