"""Per-image state and model-version registry of the project store, kept in SQLite (WAL)."""

from __future__ import annotations

import math
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from unet_core.store.files import StoreError, check_name

SCHEMA_VERSION = 1
BUSY_TIMEOUT_S = 30.0
#: What every write to a store opened read-only says (after the store's path).
READ_ONLY_MESSAGE = "opened read-only: another Maskloop window has this project open"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS images (
    stem TEXT PRIMARY KEY NOT NULL,
    status TEXT NOT NULL DEFAULT 'unlabelled',
    model_version TEXT,
    uncertainty REAL,
    edit_seconds REAL NOT NULL DEFAULT 0,
    pixels_changed INTEGER NOT NULL DEFAULT 0,
    strokes INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS models (
    num INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    registered INTEGER NOT NULL DEFAULT 0,
    parent TEXT,
    created REAL NOT NULL,
    val_dice REAL,
    note TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY NOT NULL, value TEXT);
"""
_IMAGE_COLUMNS = (
    "stem, status, model_version, uncertainty, edit_seconds, pixels_changed, strokes, error, created, updated"
)


class ImageStatus(str, Enum):
    """Where an image stands in the correction loop."""

    UNLABELLED = "unlabelled"
    PREDICTED = "predicted"
    CORRECTED = "corrected"
    REVIEWED = "reviewed"


STATUSES: tuple[str, ...] = tuple(s.value for s in ImageStatus)
"""Every status, in the loop's order (unlabelled, predicted, corrected, reviewed)."""

DONE_STATUSES: frozenset[str] = frozenset({ImageStatus.CORRECTED.value, ImageStatus.REVIEWED.value})
"""An image whose mask the user settled (corrected or reviewed): out of the queue, trained on, counted done."""


@dataclass
class ImageState:
    """Everything the store knows about one image (``created == 0`` means never recorded)."""

    stem: str
    status: ImageStatus = ImageStatus.UNLABELLED
    model_version: str | None = None
    uncertainty: float | None = None
    edit_seconds: float = 0.0
    pixels_changed: int = 0
    strokes: int = 0
    error: str | None = None
    created: float = 0.0
    updated: float = 0.0


@dataclass(frozen=True)
class ModelVersion:
    """One registered model version; ``path`` is its ``.safetensors`` file in the store."""

    id: str
    path: Path
    parent: str | None
    created: float
    val_dice: float | None
    note: str


def _opt_float(value: Any, field: str) -> float | None:
    if value is None:
        return None
    return _float(value, field)


def _float(value: Any, field: str, minimum: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{field} must be a number, got {value!r}")
    result = float(value)
    if math.isnan(result) or (minimum is not None and result < minimum):
        raise ValueError(f"{field} must be a number >= {minimum}, got {value!r}")
    return result


def _count(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{field} must be a non-negative int, got {value!r}")
    return int(value)


def _opt_str(value: Any, field: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{field} must be a string or None, got {value!r}")
    return value


def _status(value: Any, field: str) -> str:
    try:
        return ImageStatus(value).value
    except ValueError:
        choices = ", ".join(s.value for s in ImageStatus)
        raise ValueError(f"{field} must be one of {choices}, got {value!r}") from None


_VALIDATORS: dict[str, Callable[[Any, str], Any]] = {
    "status": _status,
    "model_version": _opt_str,
    "uncertainty": _opt_float,
    "edit_seconds": lambda v, f: _float(v, f, 0.0),
    "pixels_changed": _count,
    "strokes": _count,
    "error": _opt_str,
}
#: Fields ``update_state`` accepts (``stem``, ``created`` and ``updated`` are managed by the store).
UPDATABLE_FIELDS = frozenset(_VALIDATORS)


def validate_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Check field names and values of a state update; raise ``ValueError`` on the first bad one."""
    unknown = sorted(set(changes) - UPDATABLE_FIELDS)
    if unknown:
        raise ValueError(f"unknown image-state field(s) {unknown}; allowed: {sorted(UPDATABLE_FIELDS)}")
    return {name: _VALIDATORS[name](value, name) for name, value in changes.items()}


def _row_to_state(row: tuple[Any, ...]) -> ImageState:
    stem, status, model_version, uncertainty, seconds, pixels, strokes, error, created, updated = row
    try:
        status_enum = ImageStatus(status)
    except ValueError:
        status_enum = ImageStatus.UNLABELLED
    return ImageState(
        stem,
        status_enum,
        model_version,
        uncertainty,
        float(seconds),
        int(pixels),
        int(strokes),
        error,
        float(created),
        float(updated),
    )


def _rollback(conn: sqlite3.Connection) -> None:
    """Undo the open transaction, if SQLite has not already (it rolls back by itself on a full disk)."""
    if conn.in_transaction:
        with suppress(sqlite3.Error):  # an unusable database (I/O error): the original error says why
            conn.execute("ROLLBACK")


class StateDB:
    """SQLite database of image states, model versions and settings; safe across threads and processes."""

    def __init__(self, path: Path, models_dir: Path, read_only: bool = False) -> None:
        self.path = path
        self.models_dir = models_dir
        self.read_only = False  # the schema is set up first (idempotent, under SQLite's own locks)
        self._lock = threading.RLock()
        try:
            self._conn: sqlite3.Connection | None = sqlite3.connect(
                str(path), timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open state database ({exc})", path) from exc
        try:
            self._setup()
        except BaseException:
            self.close()
            raise
        self.read_only = read_only

    def _setup(self) -> None:
        conn = self._connection()
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            for _ in range(50):  # switching to WAL needs a moment of exclusive access
                try:
                    conn.execute("PRAGMA journal_mode = WAL")
                    break
                except sqlite3.OperationalError as exc:
                    if "locked" not in str(exc) and "busy" not in str(exc):
                        raise
                    time.sleep(0.05)
            conn.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.Error as exc:
            raise StoreError(f"not a usable state database ({exc})", self.path) from exc
        with self._write() as c:
            version = c.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"state database schema {version} is newer than this Maskloop supports "
                    f"({SCHEMA_VERSION}); upgrade Maskloop",
                    self.path,
                )
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    c.execute(statement)
            if version < SCHEMA_VERSION:
                c.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError("the project store is closed", self.path)
        return self._conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE``: takes the write lock up front, waits if busy)."""
        with self._lock:
            conn = self._connection()
            if self.read_only:
                raise StoreError(READ_ONLY_MESSAGE, self.path)
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StoreError(f"cannot write the state database ({exc})", self.path) from exc
            try:
                yield conn
            except BaseException as exc:
                _rollback(conn)
                if isinstance(exc, sqlite3.Error):
                    raise StoreError(f"cannot write the state database ({exc})", self.path) from exc
                raise
            try:
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                _rollback(conn)
                raise StoreError(f"cannot commit to the state database ({exc})", self.path) from exc

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return self._connection().execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise StoreError(f"cannot read the state database ({exc})", self.path) from exc

    def close(self) -> None:
        """Close the connection (idempotent)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # ---- image state -------------------------------------------------------------------------
    def get(self, stem: str) -> ImageState:
        """The state of ``stem`` (a default state if the image was never recorded)."""
        rows = self._query(f"SELECT {_IMAGE_COLUMNS} FROM images WHERE stem = ?", (stem,))
        return _row_to_state(rows[0]) if rows else ImageState(stem)

    def all(self) -> dict[str, ImageState]:
        """Every recorded state, in one query."""
        return {row[0]: _row_to_state(row) for row in self._query(f"SELECT {_IMAGE_COLUMNS} FROM images")}

    @staticmethod
    def _upsert(conn: sqlite3.Connection, stem: str, values: Mapping[str, Any], now: float) -> None:
        names = list(values)
        columns = ", ".join(["stem", "created", "updated", *names])
        marks = ", ".join("?" * (3 + len(names)))
        sets = ", ".join(["updated = excluded.updated", *(f"{n} = excluded.{n}" for n in names)])
        conn.execute(
            f"INSERT INTO images ({columns}) VALUES ({marks}) ON CONFLICT(stem) DO UPDATE SET {sets}",
            (stem, now, now, *values.values()),
        )

    def update(self, stem: str, changes: Mapping[str, Any]) -> ImageState:
        """Apply validated ``changes`` to ``stem`` in one transaction and return the new state."""
        values = validate_changes(changes)
        with self._write() as conn:
            self._upsert(conn, stem, values, time.time())
            row = conn.execute(f"SELECT {_IMAGE_COLUMNS} FROM images WHERE stem = ?", (stem,)).fetchone()
        return _row_to_state(row)

    def update_many(self, changes_by_stem: Mapping[str, Mapping[str, Any]]) -> None:
        """Apply several updates in one transaction (all validated first: all or nothing)."""
        checked = {check_name(stem): validate_changes(ch) for stem, ch in changes_by_stem.items()}
        now = time.time()
        with self._write() as conn:
            for stem, values in checked.items():
                self._upsert(conn, stem, values, now)

    def add_edit(self, stem: str, seconds: float, pixels: int, strokes: int) -> ImageState:
        """Add editing effort to ``stem`` atomically (concurrent adders all count)."""
        seconds = _float(seconds, "seconds", 0.0)
        pixels = _count(pixels, "pixels")
        strokes = _count(strokes, "strokes")
        now = time.time()
        with self._write() as conn:
            conn.execute(
                "INSERT INTO images (stem, created, updated, edit_seconds, pixels_changed, strokes) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(stem) DO UPDATE SET updated = excluded.updated, "
                "edit_seconds = edit_seconds + excluded.edit_seconds, "
                "pixels_changed = pixels_changed + excluded.pixels_changed, "
                "strokes = strokes + excluded.strokes",
                (stem, now, now, seconds, pixels, strokes),
            )
            row = conn.execute(f"SELECT {_IMAGE_COLUMNS} FROM images WHERE stem = ?", (stem,)).fetchone()
        return _row_to_state(row)

    def record_prediction(self, stem: str, version: str, score: float) -> ImageState:
        """Store a prediction's score; unlabelled becomes predicted, and the version is recorded unless
        the image was already corrected or reviewed (it then keeps the version it was corrected from)."""
        score = _float(score, "score")
        now = time.time()
        with self._write() as conn:
            conn.execute(
                "INSERT INTO images (stem, created, updated, status, model_version, uncertainty) "
                "VALUES (?, ?, ?, 'predicted', ?, ?) ON CONFLICT(stem) DO UPDATE SET "
                "updated = excluded.updated, uncertainty = excluded.uncertainty, "
                "model_version = CASE WHEN status IN ('unlabelled', 'predicted') "
                "THEN excluded.model_version ELSE model_version END, "
                "status = CASE WHEN status = 'unlabelled' THEN 'predicted' ELSE status END",
                (stem, now, now, version, score),
            )
            row = conn.execute(f"SELECT {_IMAGE_COLUMNS} FROM images WHERE stem = ?", (stem,)).fetchone()
        return _row_to_state(row)

    # ---- model versions ----------------------------------------------------------------------
    def model_path(self, version_id: str) -> Path:
        """Where the weights of ``version_id`` live."""
        return self.models_dir / f"{check_name(version_id, 'model version')}.safetensors"

    def reserve_model(self) -> str:
        """Reserve the next free id ``vNNNN`` (unique across processes: taken under the write lock)."""
        with self._write() as conn:
            num = conn.execute("SELECT COALESCE(MAX(num), 0) FROM models").fetchone()[0] + 1
            while self.model_path(f"v{num:04d}").exists():  # leftovers of an older, wiped database
                num += 1
            conn.execute(
                "INSERT INTO models (num, id, registered, created) VALUES (?, ?, 0, ?)",
                (num, f"v{num:04d}", time.time()),
            )
        return f"v{num:04d}"

    def _model_row(self, version_id: str) -> tuple[Any, ...] | None:
        rows = self._query(
            "SELECT id, parent, created, val_dice, note, registered FROM models WHERE id = ?", (version_id,)
        )
        return rows[0] if rows else None

    def _to_version(self, row: tuple[Any, ...]) -> ModelVersion:
        vid, parent, created, val_dice, note = row[:5]
        return ModelVersion(vid, self.model_path(vid), parent, float(created), val_dice, note or "")

    def register_model(
        self, version_id: str, parent: str | None, val_dice: float | None, note: str, make_current: bool
    ) -> ModelVersion:
        """Record a trained version whose weights are already in ``model_path(version_id)``."""
        path = self.model_path(version_id)
        val = _opt_float(val_dice, "val_dice")
        if not isinstance(note, str):
            raise ValueError(f"note must be a string, got {note!r}")
        if not path.is_file():
            raise StoreError("cannot register model version: weights file is missing", path)
        now = time.time()
        with self._write() as conn:
            if (
                parent is not None
                and not conn.execute(
                    "SELECT 1 FROM models WHERE id = ? AND registered = 1", (parent,)
                ).fetchone()
            ):
                raise ValueError(f"parent model version {parent!r} is not registered in this store")
            row = conn.execute("SELECT registered FROM models WHERE id = ?", (version_id,)).fetchone()
            if row is not None and row[0]:
                raise ValueError(f"model version {version_id!r} is already registered")
            if row is None:
                num = conn.execute("SELECT COALESCE(MAX(num), 0) FROM models").fetchone()[0] + 1
                conn.execute("INSERT INTO models (num, id, created) VALUES (?, ?, ?)", (num, version_id, now))
            conn.execute(
                "UPDATE models SET registered = 1, parent = ?, created = ?, val_dice = ?, note = ? "
                "WHERE id = ?",
                (parent, now, val, note, version_id),
            )
            if make_current:
                conn.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES ('current_model', ?)", (version_id,)
                )
        return ModelVersion(version_id, path, parent, now, val, note)

    def models(self) -> list[ModelVersion]:
        """Registered versions, oldest first."""
        rows = self._query(
            "SELECT id, parent, created, val_dice, note FROM models WHERE registered = 1 ORDER BY created, num"
        )
        return [self._to_version(row) for row in rows]

    def current_model(self) -> ModelVersion | None:
        """The version marked current, or ``None``."""
        rows = self._query("SELECT value FROM meta WHERE key = 'current_model'")
        if not rows or rows[0][0] is None:
            return None
        row = self._model_row(rows[0][0])
        return self._to_version(row) if row is not None and row[5] else None

    def set_current_model(self, version_id: str) -> None:
        """Mark a registered version current (``ValueError`` if unknown, ``StoreError`` if its file is gone)."""
        row = self._model_row(version_id)
        if row is None or not row[5]:
            raise ValueError(f"model version {version_id!r} is not registered in this store")
        path = self.model_path(version_id)
        if not path.is_file():
            raise StoreError("model version's weights file is missing", path)
        with self._write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('current_model', ?)", (version_id,)
            )
