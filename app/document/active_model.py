"""The active model of the open folder: its stored versions, cached predictions, the prediction worker."""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal

from app.document.background import run_in_background
from unet_core.errors import CheckpointError, MaskloopError
from unet_core.loop.classes import editable
from unet_core.loop.records import ImageRecord
from unet_core.loop.runs import adopt_run, import_model_file
from unet_core.model.checkpoint import CheckpointMeta, inspect_checkpoint
from unet_core.store.project import ImageStatus

if TYPE_CHECKING:
    from app.document.mask_writer import MaskWriter
    from unet_core.clicks.predict import ClickPredictor
    from unet_core.data.layouts import DatasetLayout
    from unet_core.edit.probabilities import ClassProbabilities
    from unet_core.model.predictor import Prediction, Predictor
    from unet_core.store.project import ProjectStore

log = logging.getLogger(__name__)
CACHE_SIZE = 48
PROBS_CACHE_SIZE = 6  # class probabilities kept for the smart tools (model resolution, a few MB each)


class ActiveModel(QObject):
    """Which model version is active, its predictor, and the predictions made with it.

    It is given the open folder's store, layout, records and writer by :meth:`open` and tells its owner
    what happened through its own signals (it knows nothing of the workspace).
    """

    changed = Signal()  # another version became active (emitted just before ``loaded``)
    loaded = Signal()  # a version became active (predictor ready)
    labelsReady = Signal(int, bool)  # row, fresh: the row's label map is available (fresh: just predicted)
    recordChanged = Signal(int)  # a record's status, score or error changed
    batchProgress = Signal(int, int)
    batchFinished = Signal(bool)
    message = Signal(str)  # for the status bar
    problem = Signal(str)  # needs the user's attention

    def __init__(self, current_row: Callable[[], int | None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._current_row = current_row  # the row on screen, asked for when a version becomes active
        self.store: ProjectStore | None = None
        self.layout: DatasetLayout | None = None
        self.records: list[ImageRecord] = []
        self.row_of: dict[str, int] = {}
        self.writer: MaskWriter | None = None
        self.predictor: Predictor | None = None
        self.meta: CheckpointMeta | None = None
        self.version: str | None = None
        self.path: Path | None = None
        self._labels: OrderedDict[int, np.ndarray] = OrderedDict()
        self._probs: OrderedDict[int, ClassProbabilities] = OrderedDict()  # this session's predictions only
        self._requested: set[int] = set()
        self._worker = None
        self._thread: QThread | None = None
        self._loading: str | None = None
        self._shut = False  # the window closed: a model that finishes loading now is dropped
        self._clicker: ClickPredictor | None = None
        self._splits: dict[tuple[str, float], str | None] = {}  # (file, mtime) -> split id of its Dice

    # -- versions --------------------------------------------------------------------------------
    def open(self, store: ProjectStore, layout: DatasetLayout, records: list[ImageRecord], row_of: dict[str, int],
             writer: MaskWriter | None) -> None:
        """A folder was opened: these are its store, layout, records (shared, updated in place) and writer."""
        self.store, self.layout, self.records, self.row_of, self.writer = store, layout, records, row_of, writer

    def reset(self) -> None:
        """Forget the model and the folder (a new folder is being opened, or the open one closed)."""
        self.store, self.layout, self.records, self.row_of, self.writer = None, None, [], {}, None
        if self._worker is not None:
            self._worker.cancel()
            self._worker.set_predictor(None)
        self.predictor, self.meta, self.version, self.path = None, None, None, None
        self._clicker = None
        self._labels.clear()
        self._probs.clear()
        self._requested.clear()

    @property
    def loading_version(self) -> str | None:
        """The version being loaded to replace the active one, or ``None``."""
        return self._loading if self._loading is not None and self._loading != self.version else None

    def load_current_version(self) -> None:
        """Activate the store's current model version, if there is one (in the background)."""
        store = self.store
        current = store.current_model() if store is not None else None
        if current is not None and current.path.exists():
            self._activate(current.id, current.path)

    def import_model(self, path: str | Path, note: str = "opened from file") -> None:
        """Copy a checkpoint into the store as a new version and make it active.

        The file is validated first from its header (CheckpointError for anything that is not a usable
        checkpoint: every size bounded, every weight shape checked, ~15 ms): a version is registered
        only for a model that loads; the weights themselves load in the background.
        """
        store = self.store
        if store is None:
            raise RuntimeError("open a folder before loading a model")
        layout = self.layout
        expected = layout.classes.num_classes if layout is not None and not editable(layout) else None
        version, dest, reused = import_model_file(store, Path(path), expected, note)  # the benchmark's routine too
        if reused:  # the same file opened again: its version becomes current
            self.set_version(version, strict=True)
            return
        self._activate(version, dest)

    def register_trained(self, path: Path, parent: str | None, val_dice: float | None, note: str) -> str | None:
        """A training run wrote ``path``: check it loads, move it into the store as the next version,
        record it and make it active. Returns the version, or ``None`` (the problem is reported and the
        file removed) when it does not load."""
        store = self.store
        assert store is not None
        try:
            version, dest = adopt_run(store, path, parent, val_dice, note)
        except CheckpointError as err:
            self.problem.emit(_one_line(f"The trained model cannot be used: {err}"))
            path.unlink(missing_ok=True)
            return None
        self._activate(version, dest)
        return version

    def set_version(self, version: str, strict: bool = False) -> bool:
        """Roll back (or forward) to another stored version; it becomes current only if it loads.

        A version that does not load (its file damaged or missing) is reported in one line and the
        current version stays; with ``strict`` the error is raised instead.
        """
        assert self.store is not None
        for mv in self.store.models():
            if mv.id == version:
                try:
                    inspect_checkpoint(mv.path)
                except (MaskloopError, OSError) as err:
                    if strict:
                        raise
                    self.problem.emit(_one_line(f"Cannot use model {version}: {err}"))
                    return False
                if not self.store.read_only:  # a read-only window switches for itself only
                    self.store.set_current_model(version)
                self._activate(mv.id, mv.path)
                return True
        raise ValueError(f"no model version {version}")

    def _activate(self, version: str, path: Path) -> None:
        """Make ``version`` the active model: its weights are loaded and its predictor built in the
        background (the file was validated from its header before it was registered)."""
        from unet_core.model.predictor import Predictor

        self._loading = version
        self.message.emit(f"Loading model {version}…")

        def build() -> Predictor:
            return Predictor.from_checkpoint(path, device="auto")

        def done(predictor: Predictor) -> None:
            if self._shut or self._loading != version:
                return  # superseded by a later request
            self.predictor, self.meta, self.version, self.path = predictor, predictor.meta, version, path
            self._labels.clear()
            self._probs.clear()
            self._requested.clear()
            self._ensure_worker().set_predictor(predictor)
            self.changed.emit()
            self.loaded.emit()
            self.message.emit(f"Model {version} ready on {predictor.device.type}")
            current = self._current_row()
            if current is not None:
                self.request_prediction(current, urgent=True)

        def failed(message: str) -> None:
            if self._loading == version:
                self._loading = None
            self.problem.emit(_one_line(f"Cannot load model {path.name}: {message}"))

        run_in_background(build, done, failed)

    def clicker(self) -> ClickPredictor | None:
        """The click tool's model: the active predictor when its model is interactive, else None."""
        predictor = self.predictor
        if predictor is None or not predictor.meta.interactive:
            return None
        if self._clicker is None or self._clicker.predictor is not predictor:
            from unet_core.clicks.predict import ClickPredictor

            self._clicker = ClickPredictor(predictor)
        return self._clicker

    def version_split(self, path: Path) -> str | None:
        """Which validation split the Dice of the checkpoint at ``path`` was measured on (its training
        config's ``val_split``), ``None`` when it does not say (e.g. trained by the CLI on its own split)."""
        try:
            key = (str(path), path.stat().st_mtime)
        except OSError:
            return None
        if key not in self._splits:
            from unet_core.model.checkpoint_header import read_header

            try:
                training = json.loads(read_header(path).metadata.get("training", "{}"))
                split = training.get("config", {}).get("val_split") if isinstance(training, dict) else None
            except (MaskloopError, OSError, ValueError, AttributeError):
                split = None
            self._splits[key] = split if isinstance(split, str) else None
        return self._splits[key]

    # -- predictions -----------------------------------------------------------------------------
    def labels(self, row: int | None) -> np.ndarray | None:
        """The active model's label map for ``row`` (memory cache, then the store's cache)."""
        if row is None or self.version is None:
            return None
        hit = self._labels.get(row)
        if hit is not None:
            self._labels.move_to_end(row)
            return hit
        store = self.store
        if store is None:
            return None
        try:
            cached = store.load_prediction(self.records[row].stem, self.version)
        except Exception:  # a damaged cache entry is simply predicted again
            log.warning("ignoring damaged prediction cache for row %s", row, exc_info=True)
            cached = None
        if cached is None:
            return None
        self._remember(row, cached[0])
        return cached[0]

    def probabilities(self, row: int | None) -> ClassProbabilities | None:
        """The active model's class probabilities for ``row`` (for the smart tools), when it predicted the
        image in this session; ``None`` otherwise (the store keeps labels, not probabilities)."""
        if row is None:
            return None
        hit = self._probs.get(row)
        if hit is not None:
            self._probs.move_to_end(row)
        return hit

    def request_probabilities(self, row: int | None) -> None:
        """Predict ``row`` again for its class probabilities (the store keeps labels only), in the
        background, unless they are here or a prediction of it is on its way."""
        if row is None or self.predictor is None or row in self._probs or row in self._requested:
            return
        rec = self.records[row]
        if not rec.error:
            self._requested.add(row)
            self._ensure_worker().request(rec.stem, rec.image_path, urgent=True)

    def has_labels(self, row: int) -> bool:
        """True if the active version's label map for ``row`` is in memory or cached in the store
        (a file check: nothing is decoded, so it is cheap for thousands of rows)."""
        if self.version is None:
            return False
        if row in self._labels:
            return True
        store = self.store
        return store is not None and store.has_prediction(self.records[row].stem, self.version)

    def _remember(self, row: int, labels: np.ndarray) -> None:
        self._labels[row] = labels
        self._labels.move_to_end(row)
        while len(self._labels) > CACHE_SIZE:
            self._labels.popitem(last=False)

    def request_prediction(self, row: int, urgent: bool) -> None:
        """Ask the worker for ``row`` unless a prediction with the active version exists."""
        if self.predictor is None or row in self._requested:
            return
        if self.labels(row) is not None:  # cached: an untouched working mask must still start from it
            self.labelsReady.emit(row, False)
            return
        rec = self.records[row]
        if rec.error and not urgent:
            return
        self._requested.add(row)
        self._ensure_worker().request(rec.stem, rec.image_path, urgent=urgent)

    def predict_all(self, rows: Iterable[int] | None = None) -> int:
        """Queue every image (or those of ``rows``) without a prediction from the active version; returns how many."""
        if self.predictor is None:
            return 0
        items = []
        records = self.records
        for row in range(len(records)) if rows is None else rows:
            rec = records[row]
            if not rec.error and not self.has_labels(row):
                items.append((rec.stem, rec.image_path))
                self._requested.add(row)
        if items:
            self._ensure_worker().predict_all(items)
        return len(items)

    def cancel(self) -> None:
        """Drop queued predictions and stop a running batch."""
        if self._worker is not None:
            self._worker.cancel()
        self._requested.clear()

    def _ensure_worker(self):  # type: ignore[no-untyped-def]
        if self._worker is None:
            from app.workers import PredictWorker, start_worker

            self._worker = PredictWorker()
            self._worker.predicted.connect(self._on_predicted)
            self._worker.failed.connect(self._on_failed)
            self._worker.progress.connect(self.batchProgress)
            self._worker.batchFinished.connect(self._on_batch_finished)
            self._thread = start_worker(self._worker)
        return self._worker

    def _on_batch_finished(self, completed: bool) -> None:
        self._requested.clear()
        self.batchFinished.emit(completed)

    def _on_predicted(self, stem: str, pred: Prediction) -> None:
        row = self.row_of.get(stem)
        if row is None or self.version is None:
            return
        self._requested.discard(row)
        stored = self.has_labels(row)  # predicted again for its probabilities: the store has the labels
        self._remember(row, pred.labels)
        probs = pred.class_probabilities()
        if probs is not None:
            self._probs[row] = probs
            self._probs.move_to_end(row)
            while len(self._probs) > PROBS_CACHE_SIZE:
                self._probs.popitem(last=False)
        rec = self.records[row]
        rec.uncertainty, rec.scored_by = pred.score, self.version
        if rec.status == ImageStatus.UNLABELLED.value:
            rec.status = ImageStatus.PREDICTED.value
        version, store, writer = self.version, self.store, self.writer
        if store is not None and writer is not None and not stored:
            writer.submit(lambda: store.save_prediction(stem, version, pred.labels, pred.uncertainty,
                                                                pred.score))
        self.recordChanged.emit(row)
        self.labelsReady.emit(row, True)

    def _on_failed(self, stem: str, message: str) -> None:
        row = self.row_of.get(stem)
        if row is not None:
            self._requested.discard(row)
            self.records[row].error = message
            self.recordChanged.emit(row)

    def shutdown(self) -> None:
        """Stop the prediction thread (closing the window)."""
        self._shut = True
        if self._worker is not None:
            from app.workers import stop_thread

            self._worker.cancel()
            self._worker.shutdown()
            if self._thread is not None:
                stop_thread(self._thread, 5000)
            self._worker, self._thread = None, None


def _one_line(text: str) -> str:
    """``text`` with its line breaks and runs of spaces folded (for the status bar)."""
    return " ".join(text.split())
