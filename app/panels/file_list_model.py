"""FileListModel: the file list's table model, with its own fast filter + sort over thousands of records."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from enum import Enum
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QBrush, QColor, QPixmap

from app.panels.file_list_icons import ERROR_COLOR, STALE_COLOR, STATUS_ROLE, FileListIcons
from app.panels.thumbnails import ThumbnailLoader
from unet_core.loop.records import STATUSES, ImageRecord

#: Status filter keys, in the order of the panel's combo box.
STATUS_FILTERS: tuple[str, ...] = ("all", *STATUSES, "not_reviewed", "errors")
#: Sort keys ("uncertainty" is descending: most uncertain first, unpredicted last).
SORT_KEYS: tuple[str, ...] = ("name", "status", "uncertainty")
_STATUS_RANK = {s: i for i, s in enumerate(STATUSES)}
_FIELDS = re.compile(r"[_\-. ]+")

AnyIndex = QModelIndex | QPersistentModelIndex
_FLAGS = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren


def status_of(record: ImageRecord) -> str:
    """The record's status as a plain string (an ``ImageStatus`` enum gives its value)."""
    s = record.status
    return str(s.value) if isinstance(s, Enum) else str(s)


def shown_status(record: ImageRecord) -> str:
    """The status column's text: the status, except that an untouched image with a mask of its own (the
    dataset's or an imported one) says so instead of "Unlabelled"."""
    status = status_of(record)
    if status == "unlabelled" and record.mask_path is not None:
        return "Imported mask" if record.mask_format else "Has mask"
    return status.capitalize()


def _uncertainty(record: ImageRecord) -> float | None:
    u = record.uncertainty
    if u is None:
        return None
    u = float(u)
    return None if math.isnan(u) else u


def natural_key(text: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key: fields split at ``_ - .`` and spaces; all-digit fields compare as numbers (``car_2`` before
    ``car_10``), others as case-insensitive text — so hex ids such as Carvana's sort as ``ls`` does."""
    return tuple((0, int(t)) if t.isdigit() else (1, t) for t in _FIELDS.split(text.casefold()) if t)


class FileListModel(QAbstractTableModel):
    """Rows = the records that pass the filter, in the current sort order; columns = NAME..ERROR.

    Filtering and sorting run in plain Python over precomputed keys (milliseconds for 5,000
    records) and are applied as one ``layoutChanged`` that keeps the selection. Thumbnails are
    requested from the :class:`ThumbnailLoader` only when a view asks for a row's decoration,
    i.e. only for painted rows.
    """

    COL_NAME, COL_STATUS, COL_UNCERTAINTY, COL_ERROR = range(4)
    HEADERS = ("Name", "Status", "Uncertainty", "")
    StatusRole = STATUS_ROLE
    SourceRowRole = Qt.ItemDataRole.UserRole + 2

    thumbnailFailed = Signal(int, str)  # source row, reason (record.error has been set)
    orderChanged = Signal()  # the visible rows or their order changed (or counts did)

    def __init__(self, loader: ThumbnailLoader | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._loader = loader if loader is not None else ThumbnailLoader(self)
        self._loader.loaded.connect(self._on_thumb_loaded)
        self._loader.failed.connect(self._on_thumb_failed)
        self._icons = FileListIcons()
        self._records: list[ImageRecord] = []
        self._name_rank: list[int] = []
        self._all_sorted: list[int] = []
        self._pos_all: list[int] = []
        self._visible: list[int] = []
        self._view_of: list[int] = []
        self._waiting: dict[str, set[int]] = {}
        self._name_filter = ""
        self._status_filter = "all"
        self._sort = "name"
        self._counts: dict[str, int] = {}
        self._known: list[tuple[str, bool]] = []  # (status, has error) per record, as last counted
        self._active_version: str | None = None  # scores from other model versions are shown as stale

    def set_active_version(self, version: str | None) -> None:
        """The active model version: uncertainty scores given by another version are greyed out."""
        if version != self._active_version:
            self._active_version = version
            if self._visible:
                self.dataChanged.emit(self.index(0, self.COL_UNCERTAINTY),
                                      self.index(len(self._visible) - 1, self.COL_UNCERTAINTY))

    def _stale(self, rec: ImageRecord) -> bool:
        return rec.uncertainty is not None and self._active_version is not None \
            and rec.scored_by is not None and rec.scored_by != self._active_version

    # ------------------------------------------------------------------ records and ordering
    @property
    def loader(self) -> ThumbnailLoader:
        """The thumbnail loader (shared cache) this model asks."""
        return self._loader

    def records(self) -> Sequence[ImageRecord]:
        """The records, in source order."""
        return self._records

    def set_records(self, records: Sequence[ImageRecord]) -> None:
        """Replace every record (model reset); clears the thumbnail cache."""
        self.beginResetModel()
        self._loader.clear()
        self._waiting.clear()
        self._records = list(records)
        stems = [natural_key(r.stem) for r in self._records]
        self._name_rank = [0] * len(stems)
        for rank, i in enumerate(sorted(range(len(stems)), key=stems.__getitem__)):
            self._name_rank[i] = rank
        self._all_sorted, self._visible = self._compute()
        self._index_positions()
        self.endResetModel()
        self.orderChanged.emit()

    def set_name_filter(self, text: str) -> None:
        """Show only records whose stem contains ``text`` (case-insensitive)."""
        self._name_filter = text.strip().casefold()
        self._reorder()

    def set_status_filter(self, key: str) -> None:
        """One of :data:`STATUS_FILTERS`."""
        if key not in STATUS_FILTERS:
            raise ValueError(f"unknown status filter {key!r}; expected one of {', '.join(STATUS_FILTERS)}")
        self._status_filter = key
        self._reorder()

    def set_sort(self, key: str) -> None:
        """One of :data:`SORT_KEYS`."""
        if key not in SORT_KEYS:
            raise ValueError(f"unknown sort key {key!r}; expected one of {', '.join(SORT_KEYS)}")
        self._sort = key
        self._reorder()

    def sort_key(self) -> str:
        """The current sort key."""
        return self._sort

    def refresh_row(self, row: int) -> None:
        """Record ``row`` changed in place: repaint it; re-sort/filter (O(n)) only if its place changed."""
        self._check_row(row)
        rec = self._records[row]
        old_status, old_error = self._known[row]
        new_status, new_error = status_of(rec), rec.error is not None
        if (old_status, old_error) != (new_status, new_error):
            self._counts[old_status] = self._counts.get(old_status, 0) - 1
            self._counts[new_status] = self._counts.get(new_status, 0) + 1
            self._counts["errors"] += int(new_error) - int(old_error)
            self._known[row] = (new_status, new_error)
        if not self._still_in_place(row) and self._reorder():
            return
        vr = self._view_of[row]
        if vr >= 0:
            self.dataChanged.emit(self.index(vr, 0), self.index(vr, self.columnCount() - 1))
        if (old_status, old_error) != (new_status, new_error):
            self.orderChanged.emit()

    def _still_in_place(self, row: int) -> bool:
        """True if ``row`` still sorts between its neighbours and its filter verdict is unchanged."""
        if self._accepts(self._records[row]) != (self._view_of[row] >= 0):
            return False
        pos, order = self._pos_all[row], self._all_sorted
        key = self._key(row)
        if pos > 0 and self._key(order[pos - 1]) > key:
            return False
        return not (pos + 1 < len(order) and key > self._key(order[pos + 1]))

    def _key(self, i: int) -> Any:
        """The sort key of record ``i`` for the current sort (name rank breaks ties: keys are unique)."""
        rank = self._name_rank[i]
        if self._sort == "status":
            return (_STATUS_RANK.get(status_of(self._records[i]), 0), rank)
        if self._sort == "uncertainty":
            u = _uncertainty(self._records[i])
            return (1, 0.0, rank) if u is None else (0, -u, rank)
        return rank

    def refresh_all(self) -> None:
        """Many records changed: one ``layoutChanged`` (re-sorted, re-filtered, repainted)."""
        self._reorder(force=True)

    def _check_row(self, row: int) -> None:
        if not 0 <= row < len(self._records):
            raise IndexError(f"record row {row} out of range (0..{len(self._records) - 1})")

    def _accepts(self, rec: ImageRecord) -> bool:
        if self._name_filter and self._name_filter not in rec.stem.casefold():
            return False
        f = self._status_filter
        if f == "all":
            return True
        if f == "errors":
            return rec.error is not None
        if f == "not_reviewed":
            return status_of(rec) != "reviewed"
        return status_of(rec) == f

    def _compute(self) -> tuple[list[int], list[int]]:
        """Recount statuses; return (all rows in sort order, the visible ones in that order)."""
        recs = self._records
        self._known = [(status_of(r), r.error is not None) for r in recs]
        counts = dict.fromkeys(STATUSES, 0)
        counts["errors"] = 0
        for status, has_error in self._known:
            counts[status] = counts.get(status, 0) + 1
            counts["errors"] += has_error
        self._counts = counts
        keys = self._name_rank if self._sort == "name" else [self._key(i) for i in range(len(recs))]
        all_sorted = sorted(range(len(recs)), key=keys.__getitem__)
        return all_sorted, [i for i in all_sorted if self._accepts(recs[i])]

    def _index_positions(self) -> None:
        n = len(self._records)
        self._pos_all = [0] * n
        for p, i in enumerate(self._all_sorted):
            self._pos_all[i] = p
        self._view_of = [-1] * n
        for vr, i in enumerate(self._visible):
            self._view_of[i] = vr

    def _reorder(self, force: bool = False) -> bool:
        """Recompute the order; apply it as a layout change if it differs (or ``force``)."""
        counts_before = self._counts
        all_sorted, visible = self._compute()
        if not force and visible == self._visible:
            self._all_sorted = all_sorted
            self._index_positions()
            if self._counts != counts_before:
                self.orderChanged.emit()
            return False
        self.layoutAboutToBeChanged.emit()
        old = self.persistentIndexList()
        sources = [self._visible[i.row()] if 0 <= i.row() < len(self._visible) else -1 for i in old]
        self._all_sorted, self._visible = all_sorted, visible
        self._index_positions()
        new = [
            self.index(self._view_of[src], i.column())
            if src >= 0 and self._view_of[src] >= 0
            else QModelIndex()
            for src, i in zip(sources, old, strict=True)
        ]
        self.changePersistentIndexList(old, new)
        self.layoutChanged.emit()
        self.orderChanged.emit()
        return True

    # ------------------------------------------------------------------ row mapping and navigation
    def source_row(self, view_row: int) -> int:
        """The record index shown at ``view_row``."""
        return self._visible[view_row]

    def view_row(self, source_row: int) -> int | None:
        """Where record ``source_row`` is shown, or ``None`` when filtered out."""
        if not 0 <= source_row < len(self._view_of):
            return None
        vr = self._view_of[source_row]
        return vr if vr >= 0 else None

    def visible_count(self) -> int:
        """Rows that pass the filter."""
        return len(self._visible)

    def counts(self) -> dict[str, int]:
        """Records per status over all records, plus ``"errors"``."""
        return dict(self._counts)

    def step(self, row: int, direction: int, *, not_reviewed: bool = False) -> int | None:
        """The next (``direction=1``) or previous (``-1``) visible record after ``row`` in view order.

        A filtered-out ``row`` counts from where it would sort; a ``row`` below 0 (or past the
        end) starts before the first (after the last) row.
        """
        n = len(self._records)
        if n == 0:
            return None
        if row < 0:
            pos = -1
        elif row >= n:
            pos = n
        else:
            pos = self._pos_all[row]
        pos += direction
        while 0 <= pos < n:
            src = self._all_sorted[pos]
            rec = self._records[src]
            if self._view_of[src] >= 0 and not (not_reviewed and status_of(rec) == "reviewed"):
                return src
            pos += direction
        return None

    # ------------------------------------------------------------------ thumbnails
    def _thumbnail(self, src: int, rec: ImageRecord) -> QPixmap:
        if rec.error is not None:
            return self._icons.error_thumb
        key = str(rec.image_path)
        pix = self._loader.get(key)
        if pix is not None:
            return pix
        reason = self._loader.failure(key)
        if reason is not None:  # another record with the same file already failed
            self._waiting.setdefault(key, set()).add(src)
            QTimer.singleShot(0, lambda: self._on_thumb_failed(key, reason))
            return self._icons.error_thumb
        self._waiting.setdefault(key, set()).add(src)
        self._loader.request(key)
        return self._icons.placeholder

    def _on_thumb_loaded(self, key: str) -> None:
        for src in self._waiting.pop(key, ()):
            vr = self._view_of[src] if src < len(self._view_of) else -1
            if vr >= 0:
                idx = self.index(vr, self.COL_NAME)
                self.dataChanged.emit(idx, idx, [Qt.ItemDataRole.DecorationRole])

    def _on_thumb_failed(self, key: str, reason: str) -> None:
        for src in sorted(self._waiting.pop(key, ())):
            rec = self._records[src] if src < len(self._records) else None
            if rec is not None and rec.error is None and str(rec.image_path) == key:
                rec.error = reason
                self.refresh_row(src)
                self.thumbnailFailed.emit(src, reason)

    # ------------------------------------------------------------------ Qt model interface
    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        """Visible rows (a flat table: no children)."""
        return 0 if parent.isValid() else len(self._visible)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        """Name, status, uncertainty, error mark."""
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        """Column titles and tooltips."""
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(self.HEADERS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        if role == Qt.ItemDataRole.ToolTipRole:
            return (
                "Image name (click to sort)",
                "Where the image stands: unlabelled, predicted, corrected, reviewed (click to sort)",
                "How unsure the model is, 0..1 (click to sort, most uncertain first)",
                "Images that cannot be read",
            )[section]
        return None

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        """Selectable, enabled, never editable."""
        return _FLAGS if index.isValid() else Qt.ItemFlag.NoItemFlags

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Text, thumbnail (requested lazily), status chip, error mark, tooltips, colours."""
        row = index.row()
        if not index.isValid() or row >= len(self._visible):
            return None
        src = self._visible[row]
        rec = self._records[src]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == self.COL_NAME:
                return rec.stem
            if col == self.COL_STATUS:
                return shown_status(rec)
            if col == self.COL_UNCERTAINTY:
                u = _uncertainty(rec)
                return "" if u is None else f"{u:.3f}"
            return ""
        if role == Qt.ItemDataRole.DecorationRole:
            if col == self.COL_NAME:
                return self._thumbnail(src, rec)
            if col == self.COL_STATUS:
                return self._icons.chips.get(status_of(rec))
            if col == self.COL_ERROR and rec.error is not None:
                return self._icons.error
            return None
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(rec)
        if role == Qt.ItemDataRole.ForegroundRole:
            if rec.error is not None:
                return QBrush(QColor(ERROR_COLOR))
            return QBrush(QColor(STALE_COLOR)) if col == self.COL_UNCERTAINTY and self._stale(rec) else None
        if role == Qt.ItemDataRole.TextAlignmentRole and col == self.COL_UNCERTAINTY:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == self.StatusRole:
            return status_of(rec)
        if role == self.SourceRowRole:
            return src
        if role == Qt.ItemDataRole.AccessibleTextRole and col == self.COL_NAME:
            return f"{rec.stem}, {status_of(rec)}" + (f", error: {rec.error}" if rec.error else "")
        return None

    def _tooltip(self, rec: ImageRecord) -> str:
        if rec.error is not None:
            return f"{rec.stem}: {rec.error}"
        lines = [str(rec.image_path), f"Status: {status_of(rec)}"]
        u = _uncertainty(rec)
        if u is not None:
            lines.append(f"Uncertainty: {u:.3f}" + (f" (from model {rec.scored_by}, not the active "
                                                     f"{self._active_version}; predict again to update)"
                                                     if self._stale(rec) else ""))
        if rec.mask_path is None:
            lines.append("No original mask")
        else:
            lines.append(f"{'Imported' if rec.mask_format else 'Original'} mask: {rec.mask_path.name}")
        return "\n".join(lines)
