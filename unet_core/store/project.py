"""Project store beside a dataset: corrected masks, prediction cache, per-image state, model versions."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from unet_core.data.classes import ClassTable
from unet_core.errors import DataError
from unet_core.fsutil import atomic_write_bytes, atomic_write_json, remove_temps_in, write_error
from unet_core.store.files import (
    STORE_DIRNAME,
    StoreError,
    check_mask_array,
    check_name,
    encode_png,
    read_png,
    remove_file,
    store_root_for,
    writable_dir,
)
from unet_core.store.lock import StoreLock
from unet_core.store.replacement import Replacement, finish_unfinished
from unet_core.store.state import READ_ONLY_MESSAGE, ImageState, ImageStatus, ModelVersion, StateDB

__all__ = ["FORMAT_VERSION", "ImageState", "ImageStatus", "ModelVersion", "ProjectStore", "StoreError"]

#: Version of the on-disk layout written to ``store.json``; newer versions are refused.
FORMAT_VERSION = 1


class ProjectStore:
    """The store folder of one dataset (normally ``<DIR>/.maskloop``); one writer, any number of readers.

    Layout: ``store.json`` (format version, dataset path), ``state.sqlite3`` (per-image state and
    model registry, SQLite in WAL mode), ``corrections/<stem>.png`` (single-channel index PNGs),
    ``predictions/<version>/<stem>.png`` + ``<stem>_unc.png`` and ``models/<id>.safetensors``.
    Every file is written atomically; the dataset's own files are never written by the store.

    The first store opened on a folder (in any process) holds the folder's lock (``store.lock``, see
    :mod:`unet_core.store.lock`) until :meth:`close` or its process ends, and is the only one that
    writes. A store opened while another holds it is read-only (:attr:`read_only`): it reads
    everything, and every write raises :class:`StoreError` saying so, instead of two windows silently
    overwriting each other's edits.
    """

    STORE_DIRNAME = STORE_DIRNAME
    STATE_DB_NAME = "state.sqlite3"
    META_NAME = "store.json"

    def __init__(self, root: Path, dataset_dir: Path | None = None, read_only: bool = False) -> None:
        """Open (creating if missing) the store folder ``root``; ``StoreError`` if unusable.

        Writable if this store gets the folder's lock, else read-only. ``read_only=True`` opens for
        reading without taking the lock (commands that only read, while the app has the folder open).
        """
        self.root = Path(root).expanduser().absolute()
        self.dataset_dir = Path(dataset_dir).absolute() if dataset_dir is not None else None
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            for sub in ("corrections", "predictions", "models"):
                (self.root / sub).mkdir(exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the project store ({exc.strerror or exc})", self.root) from exc
        if not writable_dir(self.root):
            raise StoreError("the project store folder is not writable", self.root)
        try:
            self._lock = None if read_only else StoreLock.acquire(self.root)
        except OSError as exc:
            raise StoreError(f"cannot open the store's lock file ({exc.strerror or exc})", self.root) from exc
        #: True when another open store (this or another process) writes this folder, or when opened
        #: with ``read_only=True``: reading works, every write raises ``StoreError``.
        self.read_only = self._lock is None
        try:
            self._check_meta()
            if not self.read_only:  # the lock says no other writer is at work: every temp is a leftover
                for sub in self._temp_folders():
                    remove_temps_in(sub, max_age=0.0)
                for staging in self.root.glob(".import-*"):  # an import killed before it finished
                    self.discard_staging(staging)
                finish_unfinished(self.root)  # a many-file change (classes reordered) killed part-way
            self._db = StateDB(self.root / self.STATE_DB_NAME, self.root / "models", read_only=self.read_only)
        except BaseException:
            self._release_lock()
            raise

    @classmethod
    def for_dataset(cls, dataset_dir: Path, fallback: Path | None = None) -> ProjectStore:
        """The store of ``dataset_dir``: ``<dataset_dir>/.maskloop`` if writable, else ``fallback``
        (default: a per-dataset folder under the user's data folder). ``store.root`` tells which."""
        dataset = Path(dataset_dir).expanduser().absolute()
        if not dataset.is_dir():
            raise StoreError("dataset folder does not exist", dataset)
        root = store_root_for(dataset)
        if root != dataset / cls.STORE_DIRNAME and fallback is not None:
            root = fallback
        return cls(root, dataset_dir=dataset)

    # ---- store.json --------------------------------------------------------------------------
    def _check_meta(self) -> None:
        path = self.root / self.META_NAME
        meta: dict[str, Any] = {}
        if path.exists():
            try:
                meta = json.loads(path.read_text(encoding="utf-8"))
                if not isinstance(meta, dict):
                    raise ValueError("not a JSON object")
                version = int(meta.get("format", 0))
            except (OSError, ValueError, TypeError) as exc:
                raise StoreError(f"unreadable store metadata ({exc})", path) from exc
            if version > FORMAT_VERSION:
                raise StoreError(
                    f"store format {version} is newer than this Maskloop supports ({FORMAT_VERSION}); "
                    "upgrade Maskloop",
                    path,
                )
            recorded = meta.get("dataset")
            inside = self.dataset_dir is not None and self.root == self.dataset_dir / self.STORE_DIRNAME
            if recorded and self.dataset_dir is not None and not inside and recorded != str(self.dataset_dir):
                raise StoreError(f"this store belongs to another dataset ({recorded})", path)
            if self.dataset_dir is None and recorded:
                self.dataset_dir = Path(recorded)
            if version == FORMAT_VERSION and recorded == self._dataset_str():
                return
        if self.read_only:  # the writer keeps store.json up to date
            return
        meta.update(format=FORMAT_VERSION, dataset=self._dataset_str())
        meta.setdefault("created", time.time())
        try:
            atomic_write_json(path, meta)
        except OSError as exc:
            raise StoreError(str(write_error(exc, path)), path) from exc

    def _dataset_str(self) -> str | None:
        return str(self.dataset_dir) if self.dataset_dir is not None else None

    # ---- class table ---------------------------------------------------------------------------
    CLASSES_NAME = "classes.json"

    def load_classes(self) -> ClassTable | None:
        """The class table the user made for this folder (``<root>/classes.json``), ``None`` if none was saved;
        ``StoreError`` naming the file when it is unreadable."""
        path = self.root / self.CLASSES_NAME
        if not path.is_file():
            return None
        try:
            return ClassTable.from_json_file(path)
        except DataError as exc:
            raise StoreError(str(exc), path) from None

    def save_classes(self, table: ClassTable) -> None:
        """Save the folder's class table atomically (names and colours; ids are the order)."""
        path = self.root / self.CLASSES_NAME
        self._check_writable()
        try:
            atomic_write_json(path, table.to_dict())
        except OSError as exc:
            raise StoreError(str(write_error(exc, path)), path) from exc

    def replacement(self) -> Replacement:
        """A change of many store files made whole or not at all (:class:`Replacement`)."""
        self._check_writable()
        return Replacement(self.root)

    def class_table_path(self) -> Path:
        """Where the folder's own class table is kept."""
        return self.root / self.CLASSES_NAME

    # ---- imported masks ----------------------------------------------------------------------
    def import_path(self, stem: str) -> Path:
        """Where a mask imported from another tool lives: ``<root>/imported/<stem>.png`` (the truth the image
        starts from, like a dataset's own mask; corrections are kept apart and win)."""
        return self.root / "imported" / f"{check_name(stem)}.png"

    def save_import(self, stem: str, mask: np.ndarray) -> None:
        """Save an imported mask (2-D ``uint8`` class ids) atomically."""
        path = self.import_path(stem)
        self._check_writable()
        path.parent.mkdir(exist_ok=True)
        self._write_png(path, check_mask_array(mask))

    def import_staging(self) -> Path:
        """A new, empty folder in the store for an import's masks until the whole source has been read."""
        self._check_writable()
        try:
            return Path(tempfile.mkdtemp(prefix=".import-", dir=self.root))
        except OSError as exc:
            raise StoreError(f"cannot create a staging folder ({exc.strerror or exc})", self.root) from exc

    def stage_import(self, staging: Path, stem: str, mask: np.ndarray) -> None:
        """Write one imported mask into ``staging`` (see :meth:`commit_imports`)."""
        self._write_png(staging / f"{check_name(stem)}.png", check_mask_array(mask))

    def commit_imports(self, staging: Path) -> None:
        """Move every staged mask into ``imported/`` (each move atomic) and remove ``staging``."""
        self._check_writable()
        folder = self.root / "imported"
        folder.mkdir(exist_ok=True)
        for path in sorted(staging.glob("*.png")):
            os.replace(path, folder / path.name)
        self.discard_staging(staging)

    def discard_staging(self, staging: Path) -> None:
        """Remove a staging folder and what is in it (an import that failed leaves nothing behind)."""
        shutil.rmtree(staging, ignore_errors=True)

    def imported_stems(self) -> list[str]:
        """Stems with an imported mask, sorted."""
        folder = self.root / "imported"
        try:
            with os.scandir(folder) as entries:
                return sorted(e.name[:-4] for e in entries if e.name.endswith(".png") and e.is_file())
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise StoreError(f"cannot list imported masks ({exc.strerror or exc})", folder) from exc

    # ---- corrected masks ---------------------------------------------------------------------
    def mask_path(self, stem: str) -> Path:
        """Where the corrected mask of ``stem`` lives: ``<root>/corrections/<stem>.png``."""
        return self.root / "corrections" / f"{check_name(stem)}.png"

    def save_mask(self, stem: str, mask: np.ndarray) -> None:
        """Save a corrected mask (2-D ``uint8`` class ids) atomically; ``ValueError`` for other arrays.

        Only the file is written: set the image's status with :meth:`update_state`.
        """
        path = self.mask_path(stem)
        self._check_writable()
        self._write_png(path, check_mask_array(mask))

    def load_mask(self, stem: str) -> np.ndarray | None:
        """The corrected mask of ``stem``, ``None`` if absent; a corrupt file raises ``StoreError``."""
        return read_png(self.mask_path(stem))

    def has_mask(self, stem: str) -> bool:
        """True if ``stem`` has a corrected mask."""
        return self.mask_path(stem).is_file()

    def corrected_stems(self) -> list[str]:
        """Stems with a corrected mask, sorted."""
        try:
            with os.scandir(self.root / "corrections") as entries:
                return sorted(e.name[:-4] for e in entries if e.name.endswith(".png") and e.is_file())
        except OSError as exc:
            raise StoreError(f"cannot list corrections ({exc.strerror or exc})", self.root) from exc

    def delete_mask(self, stem: str) -> None:
        """Remove the corrected mask of ``stem`` (no-op if absent). The state is left as is."""
        self._check_writable()
        remove_file(self.mask_path(stem))

    def drop_correction(self, stem: str, **state: Any) -> ImageState:
        """Forget ``stem``'s correction: remove its mask file, then apply ``state`` (e.g. the status it
        returns to) in one transaction. The file goes first, so an interruption between the two never
        leaves a stored correction behind an uncorrected status (nothing unwanted is trained on)."""
        self._check_writable()
        remove_file(self.mask_path(stem))
        return self.update_state(stem, **state)

    # ---- prediction cache --------------------------------------------------------------------
    def prediction_paths(self, stem: str, version: str) -> tuple[Path, Path]:
        """``(labels, uncertainty)`` PNG paths of the cached prediction of ``stem`` by ``version``."""
        folder = self.root / "predictions" / check_name(version, "model version")
        return folder / f"{check_name(stem)}.png", folder / f"{stem}_unc.png"

    def save_prediction(
        self,
        stem: str,
        version: str,
        labels: np.ndarray,
        uncertainty_map: np.ndarray | None,
        score: float,
    ) -> None:
        """Cache a prediction: labels (2-D ``uint8``) and optional uncertainty map (floats in 0..1, or
        ``uint8`` 0..255, same shape) as PNGs; ``score`` goes to the state as ``uncertainty``.

        An unlabelled image becomes ``predicted`` with ``model_version=version``; a corrected or
        reviewed image keeps its status and version (only its uncertainty is refreshed).
        """
        labels_path, unc_path = self.prediction_paths(stem, version)
        self._check_writable()
        check_mask_array(labels, "labels")
        unc8 = None if uncertainty_map is None else _quantize_uncertainty(uncertainty_map, labels.shape)
        if isinstance(score, bool) or not isinstance(score, (int, float, np.floating, np.integer)):
            raise ValueError(f"score must be a number, got {score!r}")
        try:
            labels_path.parent.mkdir(exist_ok=True)
        except OSError as exc:
            raise StoreError(str(write_error(exc, labels_path.parent)), labels_path.parent) from exc
        if unc8 is None:
            remove_file(unc_path)
        else:
            self._write_png(unc_path, unc8)
        self._write_png(labels_path, labels)
        self._db.record_prediction(stem, version, float(score))

    def has_prediction(self, stem: str, version: str) -> bool:
        """True if a prediction of ``stem`` by ``version`` is cached (nothing is decoded)."""
        return self.prediction_paths(stem, version)[0].is_file()

    def load_prediction(self, stem: str, version: str) -> tuple[np.ndarray, np.ndarray | None] | None:
        """Cached ``(labels, uncertainty in 0..1 as float32 or None)``, or ``None`` if not cached."""
        labels_path, unc_path = self.prediction_paths(stem, version)
        labels = read_png(labels_path)
        if labels is None:
            return None
        unc8 = read_png(unc_path)
        if unc8 is None:
            return labels, None
        if unc8.shape != labels.shape:
            raise StoreError(f"uncertainty map shape {unc8.shape} != labels shape {labels.shape}", unc_path)
        return labels, unc8.astype(np.float32) / np.float32(255.0)

    # ---- per-image state ---------------------------------------------------------------------
    def state(self, stem: str) -> ImageState:
        """State of ``stem``; a default (unlabelled, ``created == 0``) state if never recorded."""
        return self._db.get(check_name(stem))

    def states(self) -> dict[str, ImageState]:
        """All recorded states by stem (one query; fast for many thousand images)."""
        return self._db.all()

    def update_state(self, stem: str, **changes: Any) -> ImageState:
        """Change fields of ``stem``'s state in one transaction; unknown field or bad value -> ``ValueError``.

        Fields: status, model_version, uncertainty, edit_seconds, pixels_changed, strokes, error.
        ``updated`` is bumped (``created`` set on first record).
        """
        self._check_writable()
        return self._db.update(check_name(stem), changes)

    def update_states(self, changes_by_stem: Mapping[str, Mapping[str, Any]]) -> None:
        """Apply several :meth:`update_state` changes in one transaction (all or nothing)."""
        self._check_writable()
        self._db.update_many(changes_by_stem)

    def add_edit(self, stem: str, seconds: float, pixels: int, strokes: int) -> ImageState:
        """Add editing effort to ``stem`` atomically; concurrent adders (any process) all count."""
        self._check_writable()
        return self._db.add_edit(check_name(stem), seconds, pixels, strokes)

    # ---- model versions ----------------------------------------------------------------------
    def models_dir(self) -> Path:
        """Folder holding the model versions' ``.safetensors`` files."""
        return self.root / "models"

    def new_model_path(self) -> tuple[str, Path]:
        """Reserve the next free version id (``"v0001"``, ...) and return it with its weights path.

        The reservation is atomic across processes. Write the weights there, then :meth:`register_model`.
        """
        self._check_writable()
        version_id = self._db.reserve_model()
        return version_id, self._db.model_path(version_id)

    def register_model(
        self,
        version_id: str,
        parent: str | None,
        val_dice: float | None,
        note: str,
        make_current: bool = True,
    ) -> ModelVersion:
        """Record a version whose weights file already exists (``StoreError`` if not) and, by default,
        make it current. ``ValueError`` for an unknown parent or an id registered twice."""
        self._check_writable()
        return self._db.register_model(version_id, parent, val_dice, note, make_current)

    def models(self) -> list[ModelVersion]:
        """Registered model versions, oldest first."""
        return self._db.models()

    def current_model(self) -> ModelVersion | None:
        """The current model version, or ``None`` if none was registered yet."""
        return self._db.current_model()

    def set_current_model(self, version_id: str) -> None:
        """Make a registered version current; rollback = ``set_current_model(older_id)``."""
        self._check_writable()
        self._db.set_current_model(version_id)

    # ---- export ------------------------------------------------------------------------------
    def export_masks(
        self,
        out_dir: Path,
        write: Callable[[Path, np.ndarray], None],
        name_for: Callable[[str], str],
    ) -> int:
        """Explicit export: ``write(out_dir / name_for(stem), mask)`` for every corrected mask.

        Returns the count. Refuses (``StoreError``) an ``out_dir`` inside the store, or a name that
        would land outside ``out_dir``. Errors raised by ``write`` propagate.
        """
        out = Path(out_dir).expanduser().absolute()
        resolved = out.resolve()
        if resolved == self.root.resolve() or self.root.resolve() in resolved.parents:
            raise StoreError("cannot export into the project store itself; pick another folder", out)
        stems = self.corrected_stems()
        targets: list[tuple[str, Path]] = []
        for stem in stems:
            target = out / name_for(stem)
            if out.resolve() not in target.resolve().parents:
                raise StoreError(f"export name for {stem!r} leaves the output folder", target)
            targets.append((stem, target))
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create export folder ({exc.strerror or exc})", out) from exc
        count = 0
        for stem, target in targets:
            mask = self.load_mask(stem)
            if mask is None:  # deleted meanwhile by another window
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            write(target, mask)
            count += 1
        return count

    # ---- lifetime ----------------------------------------------------------------------------
    def _check_writable(self) -> None:
        if self.read_only:
            raise StoreError(READ_ONLY_MESSAGE, self.root)

    def _temp_folders(self) -> list[Path]:
        folders = [self.root, self.root / "corrections", self.root / "models", self.root / "imported"]
        with contextlib.suppress(OSError), os.scandir(self.root / "predictions") as entries:
            folders += [Path(e.path) for e in entries if e.is_dir(follow_symlinks=False)]
        return folders

    def _release_lock(self) -> None:
        if self._lock is not None:
            self._lock.release()

    def _write_png(self, path: Path, array: np.ndarray) -> None:
        data = encode_png(array)
        try:
            atomic_write_bytes(path, data)
        except OSError as exc:  # a WriteError: one line naming the file, disk full or read-only
            raise StoreError(str(write_error(exc, path)), path) from exc

    def close(self) -> None:
        """Close the state database and give up the lock; later calls that need it raise ``StoreError``."""
        self._db.close()
        self._release_lock()

    def __enter__(self) -> ProjectStore:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ProjectStore({str(self.root)!r})"


def _quantize_uncertainty(unc: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Uncertainty map -> ``uint8`` 0..255 (floats are clipped to 0..1); ``ValueError`` if unusable."""
    if not isinstance(unc, np.ndarray) or unc.shape != shape:
        got = unc.shape if isinstance(unc, np.ndarray) else type(unc).__name__
        raise ValueError(f"uncertainty_map must be an array of the labels' shape {shape}, got {got}")
    if unc.dtype == np.uint8:
        return unc
    if not np.issubdtype(unc.dtype, np.floating):
        raise ValueError(f"uncertainty_map must be floats in 0..1 or uint8, got dtype {unc.dtype}")
    clean = np.nan_to_num(unc.astype(np.float32), nan=1.0, posinf=1.0, neginf=0.0)
    return np.rint(np.clip(clean, 0.0, 1.0) * 255.0).astype(np.uint8)
