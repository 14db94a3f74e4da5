"""The open document: dataset + project store + model + per-image state; views observe its signals."""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import time
from collections import OrderedDict
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from app.document.background import run_in_background
from app.document.image_cache import ImageCache, LoadedImage
from app.document.mask_writer import MaskWriter
from unet_core.data.classes import ClassTable
from unet_core.data.layouts import DatasetLayout, detect_layout
from unet_core.data.lookalikes import ImageGroups
from unet_core.errors import DataError
from unet_core.loop.classes import editable, project_layout, save_edit, shown_classes
from unet_core.loop.policy import is_correction, uncorrected_status
from unet_core.loop.records import ImageRecord
from unet_core.loop.runs import remove_orphan_runs
from unet_core.loop.truth import project_records
from unet_core.store.project import ImageStatus, ProjectStore, StoreError
from unet_core.store.state import DONE_STATUSES

log = logging.getLogger(__name__)
AUTOSAVE_MS = 1000  # edits reach disk at most ~1 s after the first unsaved change
IDLE_CAP_S = 10.0  # longer pauses between strokes do not count as editing time
KEEP_EDITED = 24  # working masks (and their undo history) kept in memory
READ_ONLY_NOTICE = "Read-only: another Maskloop window is editing this folder"


class Workspace(QObject):
    """Owns the dataset, the store and the per-image masks; the single truth the views display and edit."""

    datasetOpened = Signal()
    currentChanged = Signal(int)  # row; views pull image(), working_mask() ...
    recordChanged = Signal(int)
    recordsChanged = Signal()
    groupsReady = Signal()  # look-alike groups are known (validation split and queue may change)
    maskReplaced = Signal(int)  # the working mask of this row changed outside the canvas: repaint it
    maskDropped = Signal(int)  # the working mask of this row left memory: drop its undo history
    modelChanged = Signal()
    stored = Signal(int)  # a row's save or removal reached the store (emitted from the writer's thread: queued)
    predictionReady = Signal(int)
    message = Signal(str)  # for the status bar
    problem = Signal(str)  # needs the user's attention (dialog)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.layout: DatasetLayout | None = None
        self.store: ProjectStore | None = None
        self.records: list[ImageRecord] = []
        self.row_of: dict[str, int] = {}
        self.groups: ImageGroups | None = None  # look-alike / split groups, once known (background)
        self._groups_stop = threading.Event()
        self.current: int | None = None
        self.loaded: LoadedImage | None = None
        self._cache: ImageCache | None = None
        self._writer: MaskWriter | None = None
        self._masks: OrderedDict[int, np.ndarray] = OrderedDict()  # row -> working mask (the truth)
        self._bases: dict[int, np.ndarray | None] = {}  # row -> what the working mask started from
        self._originals: dict[int, np.ndarray | None] = {}  # row -> the dataset's own mask (not a correction)
        self._started_empty: set[int] = set()  # rows painted from an empty mask (no prediction, mask or correction)
        self._dirty: set[int] = set()
        self._pending_seconds: dict[int, float] = {}
        self._pending_strokes: dict[int, int] = {}
        self._last_edit: float | None = None
        self._told_read_only = False
        self._autosave = QTimer(self, singleShot=True, interval=AUTOSAVE_MS)
        self._autosave.timeout.connect(self.save_all)
        from app.document.active_model import ActiveModel  # local: keeps torch out of a bare Workspace import

        self.model = ActiveModel(lambda: self.current, self)
        self.model.changed.connect(self.modelChanged)
        self.model.recordChanged.connect(self.recordChanged)
        self.model.labelsReady.connect(self._on_labels)
        self.model.message.connect(self.message)
        self.model.problem.connect(self.problem)

    # -- dataset -------------------------------------------------------------------------------
    @property
    def classes(self) -> ClassTable:
        """The classes the project works with (:func:`unet_core.loop.classes.shown_classes`): the folder's own
        table when the user made one that names at least the model's classes, else the model's, else the
        dataset's."""
        model = self.model.meta.classes if self.model.meta is not None else None
        if self.layout is not None:
            return shown_classes(self.layout, model)
        return model or ClassTable(("background", "foreground"), ((0, 0, 0), (255, 96, 0)))

    def classes_editable(self) -> bool:
        """Whether the open folder's classes can be added, renamed and recoloured now (its own table, a store
        this window writes)."""
        return self.layout is not None and self.store is not None and editable(self.layout) and not self.store.read_only

    def edit_classes(self, table: ClassTable) -> None:
        """Make ``table`` the folder's classes (saved in the store at once); ``ValueError`` for an edit that would
        change what stored masks mean (a class removed or moved, two names alike), ``StoreError`` when it
        cannot be saved. A model with fewer classes keeps predicting its own; the next fine-tune grows it."""
        if self.layout is None or self.store is None:
            raise RuntimeError("open a folder before editing its classes")
        self.layout = save_edit(self.layout, self.store, table)
        self.model.layout = self.layout
        if self._cache is not None:
            self._cache.num_classes = self.layout.classes.num_classes

    def open_folder(self, path: str | Path, store_dir: Path | None = None) -> None:
        """Open a dataset folder (layout detected); raises DataError/StoreError with a clear message."""
        layout = detect_layout(path)
        if self.layout is not None and self.layout.root.resolve() == layout.root.resolve():
            self.close_folder()  # the same folder again: let go of its store (and lock) first
        store = ProjectStore.for_dataset(layout.root, fallback=store_dir)
        try:
            layout = project_layout(layout, store)  # the classes the user made for this folder
            records, skipped = project_records(layout, store)  # imported masks in place of the dataset's
        except StoreError:
            store.close()
            raise
        self.close_folder()
        self.layout, self.store = layout, store
        self.records = records
        self.row_of = {r.stem: i for i, r in enumerate(self.records)}
        self._cache = ImageCache(layout.mask_format, layout.classes.num_classes)
        remove_orphan_runs(store)  # runs a killed session left (no run of ours is alive yet)
        self._writer = None if store.read_only else MaskWriter(
            store, on_error=lambda stem, msg: self.problem.emit(f"Autosave failed for {stem}: {msg}"))
        self._told_read_only = False
        self.model.open(store, layout, self.records, self.row_of, self._writer)
        self.datasetOpened.emit()
        note = f", {skipped} item(s) skipped (masks without an image, broken links, ...)" if skipped else ""
        self.message.emit(f"Opened {layout.kind} folder {layout.root} — {len(self.records)} images{note}")
        self.model.load_current_version()
        self._find_groups()

    def _find_groups(self) -> None:
        """Group look-alike frames in the background (signatures cached in the store); until then,
        and if it fails, every image is its own group (Carvana: its car)."""
        from unet_core.loop.corrections import image_groups

        layout, store, records = self.layout, self.store, list(self.records)
        if layout is None or store is None:
            return
        stop = self._groups_stop = threading.Event()

        def progress(_done: int, _total: int) -> None:
            if stop.is_set():  # the folder was closed (or the app quits): do not keep decoding
                raise InterruptedError("folder closed")

        def done(groups: ImageGroups) -> None:
            if self.layout is layout:  # still the same folder
                self.groups = groups
                self.groupsReady.emit()

        def failed(message: str) -> None:  # closed folder, or an unexpected error: name groups stay in use
            if "folder closed" not in message:
                log.warning("grouping look-alike images failed: %s", message)

        self.run_in_background(lambda: image_groups(layout, records, store, progress), done, failed)

    def close_folder(self) -> None:
        """Save everything and forget the open folder."""
        self._groups_stop.set()
        self.groups = None
        self.save_all()
        if self._writer is not None:
            self._writer.shutdown()
        if self._cache is not None:
            self._cache.shutdown()
        self.model.reset()
        if self.store is not None:
            self.store.close()
        self.layout = self.store = self._cache = self._writer = None
        self.records, self.row_of, self.current, self.loaded = [], {}, None, None
        self._masks.clear()
        self._bases.clear()
        self._originals.clear()
        self._started_empty.clear()
        self._dirty.clear()

    # -- current image -------------------------------------------------------------------------
    def set_current(self, row: int) -> bool:
        """Show ``row``: decode (or take from the prefetch cache) and build its working mask."""
        if not (0 <= row < len(self.records)) or self._cache is None:
            return False
        if self.current is not None and self.current != row:
            self.save_row(self.current)
        rec = self.records[row]
        try:
            loaded = self._cache.get(rec.image_path, rec.mask_path, rec.mask_format)
        except DataError as err:
            reason = readable_reason(err, rec.image_path)
            self._mark_error(row, reason)
            self.current, self.loaded = row, None
            self.currentChanged.emit(row)
            self.message.emit(f"Cannot open {rec.image_path.name}: {reason}")
            return False
        if loaded.mask_error and rec.error != loaded.mask_error:
            self._mark_error(row, loaded.mask_error)
        elif not loaded.mask_error and rec.error:
            rec.error = None
            self.recordChanged.emit(row)
        self.current, self.loaded = row, loaded
        self._ensure_working_mask(row, loaded)
        self._last_edit = None
        self.currentChanged.emit(row)
        self.model.request_prediction(row, urgent=True)
        return True

    def prefetch(self, row: int | None) -> None:
        """Decode ``row`` in the background (and ask for its prediction) so switching to it is instant."""
        if row is None or self._cache is None or not (0 <= row < len(self.records)):
            return
        rec = self.records[row]
        self._cache.prefetch(rec.image_path, rec.mask_path, rec.mask_format)
        self.model.request_prediction(row, urgent=False)

    def is_prefetched(self, row: int) -> bool:
        """True when switching to ``row`` needs no decoding."""
        return self._cache is not None and self._cache.is_cached(self.records[row].image_path)

    def _mark_error(self, row: int, message: str) -> None:
        self.records[row].error = message
        if self.store is not None and not self.store.read_only:
            self.store.update_state(self.records[row].stem, error=message)
        self.recordChanged.emit(row)

    def _ensure_working_mask(self, row: int, loaded: LoadedImage) -> None:
        if row in self._masks:
            self._masks.move_to_end(row)
            return
        stem = self.records[row].stem
        assert self.store is not None
        saved = None
        try:
            saved = self.store.load_mask(stem)
        except Exception as err:  # a corrupt correction file: keep the image usable, say why
            self.problem.emit(f"The saved correction for {stem} is unreadable and was not used: {err}")
        h, w = loaded.image.shape[:2]
        if saved is not None and saved.shape != (h, w):
            self.problem.emit(f"The saved correction for {stem} has the wrong size and was not used")
            saved = None
        base = self.base_mask(row, loaded)
        self._masks[row] = saved if saved is not None else (base.copy() if base is not None else np.zeros((h, w), np.uint8))
        self._bases[row] = base
        self._originals[row] = loaded.original_mask
        if saved is None and base is None and loaded.original_mask is None:
            self._started_empty.add(row)  # painted from nothing: empty again means undone
        else:
            self._started_empty.discard(row)
        self._evict()

    def base_mask(self, row: int, loaded: LoadedImage | None = None) -> np.ndarray | None:
        """What a correction of ``row`` starts from: the model's prediction, else the dataset's mask."""
        pred = self.model.labels(row)
        if pred is not None:
            return pred
        loaded = loaded or (self.loaded if row == self.current else None)
        return loaded.original_mask if loaded is not None else None

    def _evict(self) -> None:
        while len(self._masks) > KEEP_EDITED:
            row = next(iter(self._masks))
            if row == self.current:
                self._masks.move_to_end(row)
                continue
            self.save_row(row)
            del self._masks[row]
            self._bases.pop(row, None)
            self._originals.pop(row, None)
            self._started_empty.discard(row)
            self.maskDropped.emit(row)

    def working_mask(self, row: int | None = None) -> np.ndarray | None:
        """The editable mask of ``row`` (default: current) — the one array that is the truth."""
        row = self.current if row is None else row
        return self._masks.get(row) if row is not None else None

    def has_correction(self, row: int) -> bool:
        """True when the user edited this image (saved or not yet saved)."""
        return row in self._dirty or (self.store is not None and self.store.has_mask(self.records[row].stem))

    # -- edits ---------------------------------------------------------------------------------
    def note_edit(self, row: int | None = None) -> None:
        """A working mask changed in place (a dab, an undo, a redo); autosave soon."""
        row = self.current if row is None else row
        if row is None or row not in self._masks:
            return
        now = time.monotonic()
        if self._last_edit is not None and row == self.current:
            self._pending_seconds[row] = self._pending_seconds.get(row, 0.0) + min(now - self._last_edit, IDLE_CAP_S)
        self._last_edit = now
        self._dirty.add(row)
        rec = self.records[row]
        rec.corrected_with = self.model.version
        if rec.status not in DONE_STATUSES:
            rec.status = ImageStatus.CORRECTED.value
            self.recordChanged.emit(row)
        if not self._autosave.isActive():
            self._autosave.start()

    def note_stroke(self) -> None:
        """A stroke / fill / polygon was committed."""
        if self.current is not None:
            self._pending_strokes[self.current] = self._pending_strokes.get(self.current, 0) + 1
            self.note_edit()

    def save_row(self, row: int) -> None:
        """Queue the atomic save of ``row`` if it has unsaved edits.

        A corrected mask equal to where it started (:func:`unet_core.loop.policy.is_correction`: undone,
        reverted, prediction accepted) is no correction: the image returns to predicted / unlabelled
        and its stored correction is removed instead.
        """
        if row not in self._dirty or row not in self._masks:
            return
        if self.read_only:  # edits stay in memory (dirty), unsaved; the user is told once, not lost silently
            self._tell_read_only()
            return
        if self._writer is None:
            return
        self._dirty.discard(row)
        rec = self.records[row]
        state = {"status": rec.status, "add_seconds": self._pending_seconds.pop(row, 0.0),
                 "add_strokes": self._pending_strokes.pop(row, 0)}
        if rec.status == ImageStatus.CORRECTED.value and not self._is_correction(row):
            self._drop_correction(row, state)
            return
        if self.model.version is not None:
            state["model_version"] = self.model.version
        future = self._writer.save(rec.stem, self._masks[row], self._bases.get(row), state)
        future.add_done_callback(lambda _f, row=row: self._emit_stored(row))

    def _emit_stored(self, row: int) -> None:
        """Tell the views a row reached the store (from the writer's thread; the window may be gone)."""
        with contextlib.suppress(RuntimeError):
            self.stored.emit(row)

    def _is_correction(self, row: int) -> bool:
        mask = self._masks[row]
        if row in self._started_empty and not mask.any():
            return False  # it started empty (no prediction, no mask, no saved correction) and is empty again: undone
        return is_correction(mask, (self._bases.get(row), self.model.labels(row), self._originals.get(row)))

    def _drop_correction(self, row: int, state: dict) -> None:
        assert self._writer is not None
        rec = self.records[row]
        predicted = rec.uncertainty is not None or self.model.has_labels(row)
        rec.status = uncorrected_status(predicted).value
        rec.corrected_with = None
        state["status"] = rec.status
        state["model_version"] = (rec.scored_by or self.model.version) if predicted else None
        future = self._writer.discard(rec.stem, state)
        future.add_done_callback(lambda _f, row=row: self._emit_stored(row))
        self.recordChanged.emit(row)

    @property
    def read_only(self) -> bool:
        """True when another window (this or another process) writes the open folder's store: nothing
        is saved here (:data:`READ_ONLY_NOTICE`)."""
        return self.store is not None and self.store.read_only

    def _tell_read_only(self) -> None:
        if not self._told_read_only:
            self._told_read_only = True
            self.problem.emit(f"{READ_ONLY_NOTICE}: your edits here cannot be saved. Close the other "
                              "window, then open this folder again to edit it.")

    def save_all(self) -> None:
        """Queue saves of every image with unsaved edits."""
        for row in list(self._dirty):
            self.save_row(row)

    def flush(self) -> bool:
        """Save everything and wait until it is on disk (closing, switching folders, training)."""
        self.save_all()
        return self._writer.flush() if self._writer is not None else True

    def mark_reviewed(self, reviewed: bool = True) -> None:
        """Mark the current image reviewed (its working mask is saved as the correction)."""
        row = self.current
        if row is None or row not in self._masks:
            return
        self.records[row].status = ImageStatus.REVIEWED.value if reviewed else ImageStatus.CORRECTED.value
        self.records[row].corrected_with = self.model.version
        self._dirty.add(row)
        self.save_row(row)
        self.recordChanged.emit(row)

    def corrected_rows(self) -> list[int]:
        """Rows with a saved or pending correction."""
        stems = set(self.store.corrected_stems()) if self.store is not None else set()
        rows = {self.row_of[s] for s in stems if s in self.row_of} | set(self._dirty)
        return sorted(rows)

    def _on_labels(self, row: int, fresh: bool) -> None:
        """The model has labels for ``row`` (``fresh``: just predicted): an untouched mask starts from them."""
        self.replace_working_from_prediction(row)
        if fresh:
            self.predictionReady.emit(row)

    def replace_working_from_prediction(self, row: int) -> None:
        """A prediction arrived for an image the user has not touched: start its correction from it."""
        if row in self._masks and not self.has_correction(row):
            pred = self.model.labels(row)
            base = self._bases.get(row)
            if base is pred or (base is not None and pred is not None and np.array_equal(base, pred)):
                return  # already starts from it
            if pred is not None and pred.shape == self._masks[row].shape:
                self._masks[row][...] = pred
                self._bases[row] = pred
                self._started_empty.discard(row)
                self.maskReplaced.emit(row)

    @property
    def writer(self) -> MaskWriter | None:
        """The background writer of the open folder's store."""
        return self._writer

    def shutdown(self) -> None:
        """Close: stop workers and write every edit."""
        self.model.shutdown()
        self.close_folder()

    def run_in_background(self, fn, on_done, on_error=None) -> None:  # type: ignore[no-untyped-def]
        """Convenience for collaborators (model loading, exports)."""
        run_in_background(fn, on_done, on_error or (lambda m: self.problem.emit(m)))


def readable_reason(err: Exception, path: Path) -> str:
    """One line saying why ``path`` failed, without its folder or Python object reprs (``<... at 0x…>``)."""
    text = str(err)
    for prefix in (f"{path}: ", f"{path.absolute()}: "):
        text = text.replace(prefix, "")
    text = re.sub(r"\s*<[^<>]*\bat 0x[0-9a-fA-F]+>", "", text)
    return " ".join(text.split()).rstrip(" :") or "unreadable"
