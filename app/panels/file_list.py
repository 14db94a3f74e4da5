"""FileListPanel: the list of the folder's images (thumbnail, status, uncertainty) with filter, sort, footer."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import (
    QEvent,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QStackedLayout,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.panels.file_list_icons import NameDelegate
from app.panels.file_list_model import STATUS_FILTERS, FileListModel
from app.panels.thumbnails import THUMB_HEIGHT, THUMB_MAX_WIDTH, ThumbnailLoader
from unet_core.loop.records import ImageRecord

_FILTER_LABELS = ("All", "Unlabelled", "Predicted", "Corrected", "Reviewed", "Not reviewed", "Errors")
_SORT_ITEMS = (("Name", "name"), ("Status", "status"), ("Uncertainty", "uncertainty"))
_SORT_COLUMN = {"name": 0, "status": 1, "uncertainty": 2}
#: Selection changes while an arrow key auto-repeats settle for this long before activating.
REPEAT_SETTLE_MS = 120


NARROW_PX = 330
"""Below this width the file list shows thumbnails and names only (status and uncertainty left 30 px for names)."""


class FileListPanel(QWidget):
    """Every image of the open folder, smooth with thousands of rows (model/view, lazy thumbnails).

    Row numbers in the API are *source rows*: indices into the list given to :meth:`set_records`.
    The panel never changes records except ``error`` when a thumbnail cannot be decoded (then
    :attr:`imageError` is emitted). Selecting a row (click, arrow keys) emits
    :attr:`imageActivated`; holding an arrow key only activates where the selection settles.
    """

    imageActivated = Signal(int)  # source row the user selected
    imageError = Signal(int, str)  # source row whose image could not be decoded, reason
    filterLeft = Signal()  # Esc in the filter, or its clear button: the user is done filtering (keys go back to the canvas)

    def __init__(self, parent: QWidget | None = None, *, thumbnail_threads: int = 1) -> None:
        super().__init__(parent)
        self.setAccessibleName("File list")
        self.loader = ThumbnailLoader(self, threads=thumbnail_threads)
        self.model = FileListModel(self.loader, self)
        self._programmatic = False
        self._repeating = False
        self._pending_row: int | None = None
        self._shown_row: int | None = None  # the row last selected for the window (the image on the canvas)
        self._activate_timer = QTimer(self)
        self._activate_timer.setSingleShot(True)
        self._activate_timer.timeout.connect(self._emit_activation)
        self._build()
        self.model.orderChanged.connect(self._update_footer)
        self.model.thumbnailFailed.connect(self.imageError)
        self._update_footer()

    # ------------------------------------------------------------------ construction
    def _build(self) -> None:
        self.filter_edit = QLineEdit(self)
        self.filter_edit.setPlaceholderText("Filter by name (Ctrl+F)")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.setAccessibleName("Filter images by name")
        self.filter_edit.setToolTip("Show only images whose name contains this text (Ctrl+F)")
        self.filter_edit.textChanged.connect(self.model.set_name_filter)
        self.filter_edit.textChanged.connect(self._after_filter)
        self.filter_edit.returnPressed.connect(self._focus_list)
        self.filter_edit.installEventFilter(self)
        for clear in self.filter_edit.findChildren(QToolButton):  # the ✕ Qt puts in the edit (it clears on click)
            clear.clicked.connect(self.filterLeft)

        self.status_combo = QComboBox(self)
        for label, key in zip(_FILTER_LABELS, STATUS_FILTERS, strict=True):
            self.status_combo.addItem(label, key)
        self.status_combo.setAccessibleName("Filter images by status")
        self.status_combo.setToolTip("Show only images with this status")
        self.status_combo.currentIndexChanged.connect(self._on_status_combo)

        self.sort_combo = QComboBox(self)
        for label, key in _SORT_ITEMS:
            self.sort_combo.addItem(label, key)
        self.sort_combo.setAccessibleName("Sort images by")
        self.sort_combo.setToolTip("Sort by name, status, or uncertainty (most uncertain first)")
        self.sort_combo.currentIndexChanged.connect(lambda i: self.set_sort(self.sort_combo.itemData(i)))

        self.find_action = QAction("Find image", self)
        self.find_action.setShortcut(QKeySequence.StandardKey.Find)
        self.find_action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.find_action.triggered.connect(self.focus_filter)
        self.addAction(self.find_action)

        self.view = QTableView(self)
        self.view.setModel(self.model)
        self.view.setAccessibleName("Images")
        self.view.setShowGrid(False)
        self.view.setWordWrap(False)
        self.view.setCornerButtonEnabled(False)
        self.view.setTabKeyNavigation(False)
        self.view.setAlternatingRowColors(True)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setIconSize(QSize(THUMB_MAX_WIDTH, THUMB_HEIGHT))
        self.view.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.view.setItemDelegateForColumn(FileListModel.COL_NAME, NameDelegate(self.view))
        rows = self.view.verticalHeader()  # uniform row heights: nothing is measured per row
        rows.setVisible(False)
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setMinimumSectionSize(THUMB_HEIGHT + 4)
        rows.setDefaultSectionSize(THUMB_HEIGHT + 6)
        header = self.view.horizontalHeader()
        header.setStretchLastSection(False)
        header.setHighlightSections(False)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setSectionResizeMode(FileListModel.COL_NAME, QHeaderView.ResizeMode.Stretch)
        for col, width in (
            (FileListModel.COL_STATUS, 98),
            (FileListModel.COL_UNCERTAINTY, 78),
            (FileListModel.COL_ERROR, 22),
        ):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Interactive)
            header.resizeSection(col, width)
        header.setSectionResizeMode(FileListModel.COL_ERROR, QHeaderView.ResizeMode.Fixed)
        header.setSectionsClickable(True)
        header.setSortIndicatorShown(True)
        header.setSortIndicator(0, Qt.SortOrder.AscendingOrder)
        header.sectionClicked.connect(self._on_header_clicked)
        self.view.selectionModel().currentRowChanged.connect(self._on_current_changed)
        self.view.installEventFilter(self)

        self.empty_label = QLabel("Open a folder to begin", self)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        self.empty_label.setStyleSheet("color: palette(mid); font-size: 13pt;")
        self.empty_label.setAccessibleName("File list empty")

        self.footer = QLabel(self)
        self.footer.setAccessibleName("Image counts")

        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.status_combo, 1)
        sort_label = QLabel("Sort:", self)
        sort_label.setBuddy(self.sort_combo)
        top.addWidget(sort_label)
        top.addWidget(self.sort_combo, 1)
        self._stack = QStackedLayout()
        self._stack.addWidget(self.empty_label)
        self._stack.addWidget(self.view)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addWidget(self.filter_edit)
        layout.addLayout(top)
        layout.addLayout(self._stack, 1)
        layout.addWidget(self.footer)

    # ------------------------------------------------------------------ public API
    def set_records(self, records: Sequence[ImageRecord]) -> None:
        """Show ``records`` (replacing all; resets the model and clears the thumbnail cache)."""
        self._activate_timer.stop()
        self._pending_row = None
        self.model.set_records(records)
        self._update_footer()

    def records(self) -> Sequence[ImageRecord]:
        """The records shown, in source order."""
        return self.model.records()

    def record_changed(self, row: int) -> None:
        """Record ``row`` changed (status, uncertainty, error): refresh it; re-sort/filter only if needed."""
        self.model.refresh_row(row)

    def records_changed(self) -> None:
        """Many records changed (e.g. after predict all): re-sort and re-filter in one layout change."""
        self.model.refresh_all()

    def select_row(self, row: int) -> None:
        """Select and scroll to source ``row`` without emitting :attr:`imageActivated`.

        A row hidden by the filter clears the selection.
        """
        self._activate_timer.stop()
        self._pending_row = None
        self._shown_row = row
        vr = self.model.view_row(row)
        sel = self.view.selectionModel()
        self._programmatic = True
        try:
            if vr is None:
                sel.clearSelection()
                sel.setCurrentIndex(QModelIndex(), QItemSelectionModel.SelectionFlag.Clear)
                return
            idx = self.model.index(vr, 0)
            flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
            sel.setCurrentIndex(idx, flags)
            self.view.scrollTo(idx, QAbstractItemView.ScrollHint.EnsureVisible)
        finally:
            self._programmatic = False

    def current_row(self) -> int | None:
        """The selected source row, or ``None``."""
        idx = self.view.currentIndex()
        if not idx.isValid() or not self.view.selectionModel().isRowSelected(idx.row(), QModelIndex()):
            return None
        return self.model.source_row(idx.row())

    def next_row(self, row: int, *, not_reviewed: bool = False) -> int | None:
        """The source row after ``row`` in the current view order (filter + sort), or ``None`` at the end.

        ``not_reviewed`` skips reviewed images. A ``row`` hidden by the filter counts from where
        it would sort; ``-1`` means "before the first".
        """
        return self.model.step(row, 1, not_reviewed=not_reviewed)

    def previous_row(self, row: int, *, not_reviewed: bool = False) -> int | None:
        """The source row before ``row`` in the current view order, or ``None`` at the start."""
        return self.model.step(row, -1, not_reviewed=not_reviewed)

    def set_sort(self, key: str) -> None:
        """Sort by ``"name"``, ``"status"`` or ``"uncertainty"`` (descending: most uncertain first)."""
        self.model.set_sort(key)
        i = self.sort_combo.findData(key)
        if i != self.sort_combo.currentIndex():
            self.sort_combo.blockSignals(True)
            self.sort_combo.setCurrentIndex(i)
            self.sort_combo.blockSignals(False)
        order = Qt.SortOrder.DescendingOrder if key == "uncertainty" else Qt.SortOrder.AscendingOrder
        self.view.horizontalHeader().setSortIndicator(_SORT_COLUMN[key], order)
        self._scroll_to_current()

    def sort_key(self) -> str:
        """The current sort key."""
        return self.model.sort_key()

    def set_name_filter(self, text: str) -> None:
        """Show only images whose name contains ``text`` (the filter line edit follows)."""
        self.filter_edit.setText(text)

    def set_status_filter(self, key: str) -> None:
        """One of ``all, unlabelled, predicted, corrected, reviewed, not_reviewed, errors``."""
        i = self.status_combo.findData(key)
        if i < 0:
            raise ValueError(f"unknown status filter {key!r}; expected one of {', '.join(STATUS_FILTERS)}")
        self.status_combo.setCurrentIndex(i)

    def visible_count(self) -> int:
        """Images that pass the current filter."""
        return self.model.visible_count()

    def focus_filter(self) -> None:
        """Focus the name filter and select its text (Ctrl+F)."""
        self.filter_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.filter_edit.selectAll()

    def shutdown(self) -> None:
        """Stop thumbnail decoding (call before closing the window)."""
        self._activate_timer.stop()
        self.loader.shutdown()

    # ------------------------------------------------------------------ internals
    def _on_status_combo(self, i: int) -> None:
        self.model.set_status_filter(self.status_combo.itemData(i))
        self._after_filter()

    def _focus_list(self) -> None:
        """Return in the filter: go to the list (selecting its first row if none is selected)."""
        if self.model.visible_count() == 0:
            return
        self.view.setFocus(Qt.FocusReason.OtherFocusReason)
        if self.current_row() is None:
            self.view.setCurrentIndex(self.model.index(0, 0))  # a user action: activates

    def _after_filter(self) -> None:
        self._update_footer()
        shown = self._shown_row
        if not self.view.currentIndex().isValid() and shown is not None and self.model.view_row(shown) is not None:
            self.select_row(shown)  # the image on the canvas is listed again: highlight it again
        self._scroll_to_current()

    def _scroll_to_current(self) -> None:
        idx = self.view.currentIndex()
        if idx.isValid():
            self.view.scrollTo(idx, QAbstractItemView.ScrollHint.EnsureVisible)

    def _on_header_clicked(self, col: int) -> None:
        for key, c in _SORT_COLUMN.items():
            if c == col:
                self.set_sort(key)
                return
        self.set_sort(self.sort_key())  # restore the indicator on the error column

    def _on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if self._programmatic or not current.isValid():
            return
        self._pending_row = self.model.source_row(current.row())
        self._activate_timer.start(REPEAT_SETTLE_MS if self._repeating else 0)

    def _emit_activation(self) -> None:
        row, self._pending_row = self._pending_row, None
        if row is not None and row == self.current_row():
            self.imageActivated.emit(row)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Track arrow-key auto-repeat on the view so held keys activate only where they stop; Esc in the filter
        clears it and hands the keys back (number keys choose classes again, not filter text)."""
        if (watched is self.filter_edit and event.type() == QEvent.Type.KeyPress
                and isinstance(event, QKeyEvent) and event.key() == Qt.Key.Key_Escape):
            self.filter_edit.clear()
            self.filterLeft.emit()
            return True
        if watched is self.view and event.type() in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            assert isinstance(event, QKeyEvent)
            if event.type() == QEvent.Type.KeyPress:
                self._repeating = event.isAutoRepeat()
            elif not event.isAutoRepeat():
                self._repeating = False
                if self._activate_timer.isActive():  # key released: activate now
                    self._activate_timer.start(0)
        return super().eventFilter(watched, event)

    def resizeEvent(self, event: QResizeEvent) -> None:
        """A narrow panel drops the Status and Uncertainty columns so the names show (the status stays as the
        coloured bar and the tooltip; both still sort from the Sort box)."""
        super().resizeEvent(event)
        narrow = event.size().width() < NARROW_PX
        for col in (FileListModel.COL_STATUS, FileListModel.COL_UNCERTAINTY):
            if self.view.isColumnHidden(col) != narrow:
                self.view.setColumnHidden(col, narrow)

    def _update_footer(self) -> None:
        total = len(self.model.records())
        counts = self.model.counts()
        shown = self.model.visible_count()
        text = f"{shown} of {total} images · {counts.get('corrected', 0)} corrected · {counts.get('reviewed', 0)} reviewed"
        if counts.get("errors", 0):
            text += f" · {counts['errors']} unreadable"
        self.footer.setText(text)
        if total == 0:
            self.empty_label.setText("Open a folder to begin")
            self._stack.setCurrentWidget(self.empty_label)
        elif shown == 0:
            self.empty_label.setText("No images match the filter")
            self._stack.setCurrentWidget(self.empty_label)
        else:
            self._stack.setCurrentWidget(self.view)
