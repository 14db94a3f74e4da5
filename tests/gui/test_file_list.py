"""Tests of the file list panel: filter, sort, navigation order, lazy thumbnails, errors, activation."""

from __future__ import annotations

import itertools
import os
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QModelIndex, QPoint, Qt
from PySide6.QtWidgets import QApplication

from app.panels.file_list import FileListPanel
from app.panels.file_list_model import FileListModel
from app.panels.thumbnails import THUMB_HEIGHT, THUMB_MAX_WIDTH, decode_thumbnail
from unet_core.errors import DataError
from unet_core.loop.records import ImageRecord
from unet_core.store.project import ImageStatus

STATUSES = ["unlabelled", "predicted", "corrected", "reviewed"]


def write_jpeg(path: Path, h: int = 120, w: int = 180, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
    assert cv2.imwrite(str(path), img)
    return path


def make_records(folder: Path, n: int = 8) -> list[ImageRecord]:
    """n records over n real JPEGs: stems car_0..car_{n-1}, statuses cycling, uncertainty None for unlabelled."""
    recs = []
    for i in range(n):
        status = STATUSES[i % 4]
        unc = None if status == "unlabelled" else round(0.1 + 0.8 * ((i * 7) % n) / n, 3)
        recs.append(
            ImageRecord(f"car_{i}", write_jpeg(folder / f"car_{i}.jpg", 60, 90, i), None, status, unc)
        )
    return recs


def view_order(panel: FileListPanel) -> list[int]:
    return [panel.model.source_row(r) for r in range(panel.model.rowCount())]


def settle(panel: FileListPanel, qtbot, ms: int = 50) -> None:
    """Let queued thumbnail results arrive and repaint."""
    assert panel.loader.wait(5000)
    qtbot.wait(ms)
    QApplication.processEvents()


@pytest.fixture
def panel(qtbot) -> FileListPanel:
    w = FileListPanel()
    qtbot.addWidget(w)
    w.resize(420, 600)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.shutdown()


def test_empty_state(panel: FileListPanel) -> None:
    assert panel.visible_count() == 0
    assert panel.empty_label.isVisible() and "Open a folder" in panel.empty_label.text()
    assert panel.current_row() is None
    assert panel.next_row(0) is None
    assert panel.footer.text() == "0 of 0 images · 0 corrected · 0 reviewed"


def test_filter_by_name_and_status(panel: FileListPanel, tmp_path: Path) -> None:
    recs = make_records(tmp_path, 12)
    panel.set_records(recs)
    assert panel.visible_count() == 12 and panel.view.isVisible()
    assert panel.footer.text() == "12 of 12 images · 3 corrected · 3 reviewed"
    panel.set_name_filter("CAR_1")  # case-insensitive substring: car_1, car_10, car_11
    assert sorted(recs[r].stem for r in view_order(panel)) == ["car_1", "car_10", "car_11"]
    assert panel.filter_edit.text() == "CAR_1"
    assert panel.footer.text().startswith("3 of 12 images")
    panel.filter_edit.clear()
    panel.status_combo.setCurrentIndex(panel.status_combo.findText("Corrected"))
    assert {recs[r].status for r in view_order(panel)} == {"corrected"}
    assert panel.visible_count() == 3
    panel.set_status_filter("not_reviewed")
    assert panel.visible_count() == 9
    assert all(recs[r].status != "reviewed" for r in view_order(panel))
    panel.set_name_filter("zzz")
    assert panel.visible_count() == 0
    assert panel.empty_label.isVisible() and "match" in panel.empty_label.text()
    with pytest.raises(ValueError, match="unknown status filter"):
        panel.set_status_filter("bogus")


def test_natural_name_order(panel: FileListPanel, tmp_path: Path) -> None:
    recs = make_records(tmp_path, 12)
    panel.set_records(recs)
    assert [recs[r].stem for r in view_order(panel)][:4] == ["car_0", "car_1", "car_2", "car_3"]
    from app.panels.file_list_model import natural_key

    hex_ids = ["0ed6904e1004_01", "0795e132d090_05", "0795e132d090_01", "1ae8a68a40e4_01", "car_10", "car_9"]
    assert sorted(hex_ids, key=natural_key) == [
        "0795e132d090_01", "0795e132d090_05", "0ed6904e1004_01", "1ae8a68a40e4_01", "car_9", "car_10"]


def test_sort_by_uncertainty_most_uncertain_first_none_last(panel: FileListPanel, tmp_path: Path) -> None:
    recs = make_records(tmp_path, 12)
    recs[5].uncertainty = float("nan")  # treated as unknown
    panel.set_records(recs)
    panel.set_sort("uncertainty")
    assert panel.sort_combo.currentData() == "uncertainty"
    order = [recs[r].uncertainty for r in view_order(panel)]
    known = [u for u in order if u is not None and u == u]
    assert known == sorted(known, reverse=True)
    assert order[: len(known)] == known  # all the unknown ones come after
    assert all(u is None or u != u for u in order[len(known) :])
    # displayed text: 0.000 format, blank for None
    model = panel.model
    assert model.data(model.index(0, FileListModel.COL_UNCERTAINTY)) == f"{known[0]:.3f}"
    assert model.data(model.index(model.rowCount() - 1, FileListModel.COL_UNCERTAINTY)) == ""
    panel.set_sort("status")
    ranks = [STATUSES.index(recs[r].status) for r in view_order(panel)]
    assert ranks == sorted(ranks)
    with pytest.raises(ValueError, match="unknown sort key"):
        panel.set_sort("size")


def test_scores_of_another_model_version_are_greyed_with_a_reason(panel: FileListPanel, tmp_path: Path,
                                                                 qtbot) -> None:  # type: ignore[no-untyped-def]
    recs = make_records(tmp_path, 3)
    for i, rec in enumerate(recs):
        rec.uncertainty, rec.scored_by = 0.1 * (i + 1), ("v0001", "v0002", None)[i]
    panel.set_records(recs)
    model = panel.model
    col = FileListModel.COL_UNCERTAINTY

    def row_of(i: int) -> int:
        return next(v for v in range(model.rowCount()) if model.source_row(v) == i)

    fg = Qt.ItemDataRole.ForegroundRole
    assert all(model.data(model.index(row_of(i), col), fg) is None for i in range(3))  # no model yet
    with qtbot.waitSignal(model.dataChanged):
        model.set_active_version("v0002")
    stale = model.index(row_of(0), col)
    assert model.data(stale, fg) is not None and model.data(stale, fg).color().name() == "#9a9a9a"
    assert "from model v0001, not the active v0002" in model.data(stale, Qt.ItemDataRole.ToolTipRole)
    assert model.data(model.index(row_of(1), col), fg) is None  # scored by the active version
    assert model.data(model.index(row_of(2), col), fg) is None  # version unknown: not called stale
    assert "not the active" not in model.data(model.index(row_of(1), col), Qt.ItemDataRole.ToolTipRole)


def test_header_click_sorts(panel: FileListPanel, tmp_path: Path, qtbot) -> None:
    panel.set_records(make_records(tmp_path, 8))
    header = panel.view.horizontalHeader()
    x = header.sectionViewportPosition(FileListModel.COL_UNCERTAINTY) + 5
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, 5))
    assert panel.sort_key() == "uncertainty"
    assert panel.sort_combo.currentText() == "Uncertainty"


def test_next_previous_follow_view_order(panel: FileListPanel, tmp_path: Path) -> None:
    recs = make_records(tmp_path, 12)
    panel.set_records(recs)
    panel.set_sort("uncertainty")
    order = view_order(panel)
    for a, b in itertools.pairwise(order):
        assert panel.next_row(a) == b
        assert panel.previous_row(b) == a
    assert panel.next_row(order[-1]) is None
    assert panel.previous_row(order[0]) is None
    assert panel.next_row(-1) == order[0]
    # skipping reviewed
    expected = next(r for r in order[1:] if recs[r].status != "reviewed")
    assert panel.next_row(order[0], not_reviewed=True) == expected
    # with a filter: only visible rows; a hidden row counts from where it would sort
    panel.set_status_filter("predicted")
    visible = view_order(panel)
    assert panel.next_row(visible[0]) == visible[1]
    hidden = next(r for r in order if recs[r].status != "predicted")
    pos = order.index(hidden)
    assert panel.next_row(hidden) == next((r for r in order[pos + 1 :] if r in visible), None)


def test_record_changed_updates_status_and_counts(panel: FileListPanel, tmp_path: Path) -> None:
    recs = make_records(tmp_path, 8)
    panel.set_records(recs)
    model = panel.model
    vr = model.view_row(0)
    assert model.data(model.index(vr, FileListModel.COL_STATUS)) == "Unlabelled"
    recs[0].status = ImageStatus.CORRECTED  # the store's enum works as well as the string
    recs[0].uncertainty = 0.5
    panel.record_changed(0)
    vr = model.view_row(0)
    assert model.data(model.index(vr, FileListModel.COL_STATUS)) == "Corrected"
    assert model.data(model.index(vr, FileListModel.COL_UNCERTAINTY)) == "0.500"
    assert panel.footer.text() == "8 of 8 images · 3 corrected · 2 reviewed"
    # under a "not reviewed" filter, reviewing the selected row removes it from the view
    panel.set_status_filter("not_reviewed")
    panel.select_row(0)
    assert panel.current_row() == 0
    recs[0].status = "reviewed"
    panel.record_changed(0)
    assert model.view_row(0) is None
    assert panel.current_row() is None
    assert panel.footer.text() == "5 of 8 images · 2 corrected · 3 reviewed"
    with pytest.raises(IndexError):
        panel.record_changed(99)


def test_records_changed_resorts_and_keeps_selection(panel: FileListPanel, tmp_path: Path) -> None:
    recs = make_records(tmp_path, 8)
    panel.set_records(recs)
    panel.set_sort("uncertainty")
    panel.select_row(3)
    for i, r in enumerate(recs):
        r.uncertainty = i / 10
    panel.records_changed()
    assert view_order(panel) == list(range(7, -1, -1))
    assert panel.current_row() == 3


def test_select_row_does_not_emit_and_keyboard_does(panel: FileListPanel, tmp_path: Path, qtbot) -> None:
    recs = make_records(tmp_path, 8)
    panel.set_records(recs)
    with qtbot.assertNotEmitted(panel.imageActivated, wait=30):
        panel.select_row(2)
    assert panel.current_row() == 2
    panel.view.setFocus()
    with qtbot.waitSignal(panel.imageActivated, timeout=1000) as blocker:
        qtbot.keyClick(panel.view, Qt.Key.Key_Down)
    assert blocker.args == [panel.next_row(2)]
    assert panel.current_row() == panel.next_row(2)
    with qtbot.waitSignal(panel.imageActivated, timeout=1000) as blocker:
        qtbot.keyClick(panel.view, Qt.Key.Key_Up)
    assert blocker.args == [2]


def test_held_key_activates_only_where_it_settles(panel: FileListPanel, tmp_path: Path, qtbot) -> None:
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QKeyEvent

    panel.set_records(make_records(tmp_path, 8))
    panel.select_row(0)
    panel.view.setFocus()
    got: list[int] = []
    panel.imageActivated.connect(got.append)
    for _ in range(4):  # auto-repeated presses, no event processing in between beyond each key
        ev = QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_Down, Qt.KeyboardModifier.NoModifier, "", True)
        QApplication.sendEvent(panel.view, ev)
        QApplication.processEvents()
    QApplication.sendEvent(
        panel.view, QKeyEvent(QEvent.Type.KeyRelease, Qt.Key.Key_Down, Qt.KeyboardModifier.NoModifier)
    )
    qtbot.waitUntil(lambda: bool(got), timeout=1000)
    qtbot.wait(20)
    assert got == [panel.current_row()]
    assert got[0] == view_order(panel)[4]


def test_click_emits_image_activated(panel: FileListPanel, tmp_path: Path, qtbot) -> None:
    panel.set_records(make_records(tmp_path, 8))
    rect = panel.view.visualRect(panel.model.index(1, FileListModel.COL_STATUS))
    with qtbot.waitSignal(panel.imageActivated, timeout=1000) as blocker:
        qtbot.mouseClick(panel.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert blocker.args == [panel.model.source_row(1)]


def test_thumbnail_loaded_for_visible_rows(panel: FileListPanel, tmp_path: Path, qtbot) -> None:
    recs = make_records(tmp_path, 4)
    panel.set_records(recs)
    qtbot.waitUntil(lambda: panel.loader.get(str(recs[0].image_path)) is not None, timeout=3000)
    pix = panel.loader.get(str(recs[0].image_path))
    assert (pix.width(), pix.height()) == (THUMB_MAX_WIDTH, THUMB_HEIGHT)
    deco = panel.model.data(panel.model.index(panel.model.view_row(0), 0), Qt.ItemDataRole.DecorationRole)
    assert deco.cacheKey() == pix.cacheKey()
    panel.set_records(recs)  # replacing clears the cache (decoding again is asynchronous)
    assert panel.loader.get(str(recs[0].image_path)) is None


def test_corrupt_image_gets_error_mark(panel: FileListPanel, tmp_path: Path, qtbot) -> None:
    recs = make_records(tmp_path, 3)
    good = write_jpeg(tmp_path / "whole.jpg")
    truncated = tmp_path / "broken.jpg"
    truncated.write_bytes(good.read_bytes()[:400])
    garbage = tmp_path / "noise.png"
    garbage.write_bytes(b"not an image at all")
    recs += [ImageRecord("broken", truncated), ImageRecord("noise", garbage)]
    files_before = sorted(tmp_path.rglob("*"))
    errors: list[tuple[int, str]] = []
    panel.imageError.connect(lambda r, m: errors.append((r, m)))
    panel.set_records(recs)
    qtbot.waitUntil(lambda: len(errors) == 2, timeout=3000)
    assert recs[3].error == "cannot read image: truncated JPEG"
    assert recs[4].error and recs[4].error.startswith("cannot read image")
    assert sorted(r for r, _ in errors) == [3, 4]
    model = panel.model
    idx = model.index(model.view_row(3), FileListModel.COL_NAME)
    assert model.data(idx, Qt.ItemDataRole.DecorationRole).cacheKey() == model._icons.error_thumb.cacheKey()
    assert "truncated JPEG" in model.data(idx, Qt.ItemDataRole.ToolTipRole)
    assert model.data(idx, Qt.ItemDataRole.ForegroundRole).color().red() > 150
    err_idx = model.index(model.view_row(3), FileListModel.COL_ERROR)
    assert model.data(err_idx, Qt.ItemDataRole.DecorationRole) is not None
    assert (
        model.data(model.index(model.view_row(0), FileListModel.COL_ERROR), Qt.ItemDataRole.DecorationRole)
        is None
    )
    assert panel.footer.text().endswith("· 2 unreadable")
    panel.set_status_filter("errors")
    assert sorted(view_order(panel)) == [3, 4]
    assert recs[0].error is None
    assert sorted(tmp_path.rglob("*")) == files_before  # nothing written beside the images


def test_record_with_known_error_is_not_decoded(panel: FileListPanel, tmp_path: Path) -> None:
    rec = ImageRecord("gone", tmp_path / "gone.jpg", error="cannot read image: file not found")
    panel.set_records([rec])
    QApplication.processEvents()
    assert panel.loader.requests == 0
    assert (
        panel.model.data(panel.model.index(0, 0), Qt.ItemDataRole.ToolTipRole)
        == "gone: cannot read image: file not found"
    )


def test_5000_records_requests_thumbnails_only_for_visible_rows(
    panel: FileListPanel, tmp_path: Path, qtbot
) -> None:
    src = write_jpeg(tmp_path / "base.jpg", 64, 96)
    folder = tmp_path / "many"
    folder.mkdir()
    recs = []
    for i in range(5000):
        p = folder / f"img_{i:05d}.jpg"
        os.link(src, p)
        status = STATUSES[i % 4]
        recs.append(ImageRecord(p.stem, p, None, status, None if status == "unlabelled" else (i % 997) / 997))
    t0 = time.perf_counter()
    panel.set_records(recs)
    QApplication.processEvents()
    elapsed = time.perf_counter() - t0
    print(f"set_records(5000) + first paint: {elapsed * 1000:.1f} ms")
    settle(panel, qtbot)
    first = panel.loader.requests
    assert 0 < first < 100
    panel.view.scrollToBottom()
    QApplication.processEvents()
    settle(panel, qtbot)
    assert first < panel.loader.requests < 2 * first + 20
    t0 = time.perf_counter()
    panel.set_sort("uncertainty")
    panel.set_name_filter("img_04")
    print(f"sort + filter over 5000: {(time.perf_counter() - t0) * 1000:.1f} ms")
    assert panel.visible_count() == 1000
    assert panel.footer.text() == "1000 of 5000 images · 1250 corrected · 1250 reviewed"


def test_ctrl_f_focuses_filter(panel: FileListPanel, qtbot) -> None:
    panel.activateWindow()
    panel.view.setFocus()
    panel.find_action.trigger()
    qtbot.waitUntil(panel.filter_edit.hasFocus, timeout=1000)
    assert panel.find_action.shortcut().toString() == "Ctrl+F"


def test_return_in_filter_goes_to_first_match(panel: FileListPanel, tmp_path: Path, qtbot) -> None:
    recs = make_records(tmp_path, 8)
    panel.set_records(recs)
    panel.filter_edit.setFocus()
    qtbot.keyClicks(panel.filter_edit, "car_5")
    with qtbot.waitSignal(panel.imageActivated, timeout=1000) as blocker:
        qtbot.keyClick(panel.filter_edit, Qt.Key.Key_Return)
    assert blocker.args == [5] and panel.current_row() == 5


def test_decode_thumbnail_formats_and_errors(tmp_path: Path) -> None:
    big = write_jpeg(tmp_path / "big.jpg", 640, 960)
    assert decode_thumbnail(big).shape == (48, 72, 3)
    small = write_jpeg(tmp_path / "small.jpg", 40, 60)
    assert decode_thumbnail(small).shape == (48, 72, 3)
    from PIL import Image

    gif = tmp_path / "pal.gif"
    Image.fromarray(np.zeros((30, 30), np.uint8), mode="L").convert("P").save(gif)
    assert decode_thumbnail(gif).shape == (48, 48, 3)  # square: 48 high
    truncated = tmp_path / "cut.jpg"
    truncated.write_bytes(big.read_bytes()[:1000])
    with pytest.raises(DataError, match="truncated JPEG"):
        decode_thumbnail(truncated)
    with pytest.raises(DataError, match="not found"):
        decode_thumbnail(tmp_path / "missing.jpg")


def test_image_record_contract(tmp_path: Path) -> None:
    r = ImageRecord("a", str(tmp_path / "a.jpg"), status=ImageStatus.REVIEWED)  # type: ignore[arg-type]
    assert r.status == "reviewed" and isinstance(r.image_path, Path)
    assert not r.has_original_mask
    assert ImageRecord("b", tmp_path / "b.jpg", tmp_path / "b_mask.gif").has_original_mask
    with pytest.raises(ValueError, match="unknown image status"):
        ImageRecord("c", tmp_path / "c.jpg", status="done")


def test_model_rejects_children_and_invalid_indexes(panel: FileListPanel, tmp_path: Path) -> None:
    panel.set_records(make_records(tmp_path, 2))
    model = panel.model
    assert model.rowCount(model.index(0, 0)) == 0
    assert model.data(QModelIndex()) is None
    assert model.flags(QModelIndex()) == Qt.ItemFlag.NoItemFlags
    assert model.view_row(57) is None


def test_an_untouched_image_with_a_mask_of_its_own_says_so(panel: FileListPanel, tmp_path: Path) -> None:
    recs = make_records(tmp_path, 8)  # statuses cycle: 0 and 4 unlabelled, 1 predicted
    recs[0].mask_path = tmp_path / "car_0_mask.gif"  # the dataset's own mask
    recs[4].mask_path, recs[4].mask_format = tmp_path / "imported" / "car_4.png", "index_png"  # an imported one
    recs[1].mask_path = tmp_path / "car_1_mask.gif"
    panel.set_records(recs)
    model = panel.model
    shown = {i: model.data(model.index(model.view_row(i), FileListModel.COL_STATUS)) for i in (0, 1, 4)}
    assert shown == {0: "Has mask", 1: "Predicted", 4: "Imported mask"}
    assert recs[0].status == "unlabelled"  # only the words change: the loop's status is the store's


def test_a_narrow_list_shows_names_not_status_columns(panel: FileListPanel, qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from app.panels.file_list import NARROW_PX

    panel.set_records(make_records(tmp_path, 4))
    panel.resize(NARROW_PX - 100, 400)
    qtbot.wait(50)
    status, uncertainty = FileListModel.COL_STATUS, FileListModel.COL_UNCERTAINTY
    assert panel.view.isColumnHidden(status) and panel.view.isColumnHidden(uncertainty)
    assert panel.view.columnWidth(FileListModel.COL_NAME) > 150  # room for the thumbnail and the name
    panel.resize(NARROW_PX + 200, 400)
    qtbot.wait(50)
    assert not panel.view.isColumnHidden(status) and not panel.view.isColumnHidden(uncertainty)


def test_clearing_a_filter_highlights_the_shown_image_again(panel: FileListPanel, tmp_path: Path) -> None:
    panel.set_records(make_records(tmp_path, 8))
    panel.select_row(3)  # the image on the canvas
    panel.set_name_filter("car_5")  # hides it: nothing is highlighted
    assert panel.current_row() is None
    panel.set_name_filter("")
    assert panel.current_row() == 3
