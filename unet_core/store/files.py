"""File-level helpers of the project store: StoreError, index-PNG codec, name checks, folders."""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

from unet_core.data.image_headers import DamagedImage, clean_png, png_size
from unet_core.errors import MaskloopError
from unet_core.limits import MAX_IMAGE_PIXELS

STORE_DIRNAME = ".maskloop"
"""The project store's folder inside a dataset (when the dataset is writable)."""


class StoreError(MaskloopError):
    """The project store cannot be created, read or written (message names the file or folder)."""


def check_name(name: str, what: str = "stem") -> str:
    """Return ``name`` if it is safe as a single file-name component, else raise ``ValueError``."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"{what} must be a non-empty string, got {name!r}")
    if name in (".", "..") or any(ch in name for ch in ("/", "\\", "\0")):
        raise ValueError(f"{what} {name!r} is not a plain file name (no path separators, '.' or '..')")
    return name


def check_mask_array(mask: object, what: str = "mask") -> np.ndarray:
    """Return ``mask`` if it is a 2-D ``uint8`` array, else raise ``ValueError`` describing it."""
    if not isinstance(mask, np.ndarray):
        raise ValueError(f"{what} must be a numpy array, got {type(mask).__name__}")
    if mask.ndim != 2:
        raise ValueError(f"{what} must be 2-D (height, width), got shape {mask.shape}")
    if mask.dtype != np.uint8:
        raise ValueError(f"{what} must have dtype uint8 (class ids 0..255), got {mask.dtype}")
    if mask.shape[0] == 0 or mask.shape[1] == 0:
        raise ValueError(f"{what} must not be empty, got shape {mask.shape}")
    return mask


def encode_png(mask: np.ndarray) -> bytes:
    """Encode a 2-D ``uint8`` array as a single-channel 8-bit PNG."""
    import cv2  # lazy: keeps `import unet_core.store.project` light for the app's start-up

    ok, buf = cv2.imencode(".png", np.ascontiguousarray(mask))
    if not ok:  # pragma: no cover - cv2 only fails on unsupported arrays, which check_mask_array rejects
        raise ValueError("could not encode mask as PNG")
    return buf.tobytes()


def read_png(path: Path) -> np.ndarray | None:
    """Read a single-channel 8-bit PNG; ``None`` if the file is absent, ``StoreError`` if unusable."""
    import cv2

    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StoreError(f"cannot read mask ({exc.strerror or exc})", path) from exc
    try:  # a store travels with a dataset: its files get the same checks as any image
        data = clean_png(data)
        size = png_size(data)
        if size is None or size[0] * size[1] > MAX_IMAGE_PIXELS:
            raise DamagedImage("not a PNG" if size is None else f"{size[0]}x{size[1]} is over the pixel limit")
        array = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    except (DamagedImage, cv2.error) as exc:
        raise StoreError(f"corrupt or unreadable PNG in the project store ({exc})", path) from exc
    if array is None:
        raise StoreError("corrupt or unreadable PNG in the project store", path)
    if array.ndim != 2 or array.dtype != np.uint8:
        raise StoreError(f"not a single-channel 8-bit mask (shape {array.shape}, dtype {array.dtype})", path)
    return array


def remove_file(path: Path) -> None:
    """Delete ``path`` if it exists; a failure becomes ``StoreError`` naming it."""
    try:
        path.unlink()
    except FileNotFoundError:
        return
    except OSError as exc:
        raise StoreError(f"cannot delete ({exc.strerror or exc})", path) from exc


def _may_write(folder: Path) -> bool:
    """Writable for us *and* not marked read-only: root ignores permissions, but a folder with no write
    bit at all (e.g. a shared, read-only dataset) is treated as read-only anyway."""
    return os.access(folder, os.W_OK | os.X_OK) and bool(folder.stat().st_mode & 0o222)


def writable_dir(path: Path) -> bool:
    """True if ``path`` exists (or can be created) as a folder we can create files in.

    Nothing is created unless the folder's parent is writable; a probe file is made and removed.
    """
    try:
        if path.exists():
            if not path.is_dir() or not _may_write(path):
                return False
        else:
            parent = path.parent
            if not parent.is_dir() or not _may_write(parent):
                return False
            path.mkdir()
        with tempfile.TemporaryFile(dir=path, prefix=".probe.", suffix=".tmp"):
            pass
    except OSError:
        return False
    return True


def user_data_dir() -> Path:
    """The per-user data folder of Maskloop (XDG on Linux, Application Support on macOS, LOCALAPPDATA)."""
    if sys.platform.startswith("win"):
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "maskloop"


def fallback_store_dir(dataset_dir: Path) -> Path:
    """Per-dataset store folder under the user's data folder: ``stores/<name>-<hash of abs path>``."""
    absolute = str(dataset_dir.resolve())
    digest = hashlib.sha256(absolute.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    name = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in dataset_dir.resolve().name)[:40]
    return user_data_dir() / "stores" / f"{name or 'dataset'}-{digest}"


def existing_store_root(dataset_dir: Path, marker: str) -> Path | None:
    """The store folder of a dataset that already holds ``marker`` (its state file): ``<dataset_dir>/.maskloop``,
    else the per-user one; ``None`` when neither does. Creates nothing (for commands that only read)."""
    dataset = Path(dataset_dir).expanduser().absolute()
    for root in (dataset / STORE_DIRNAME, fallback_store_dir(dataset)):
        if (root / marker).is_file():
            return root
    return None


def store_root_for(dataset_dir: Path) -> Path:
    """Where a dataset's project store lives: ``<dataset_dir>/.maskloop`` if writable, else per user."""
    dataset = Path(dataset_dir).expanduser().absolute()
    inside = dataset / STORE_DIRNAME
    return inside if writable_dir(inside) else fallback_store_dir(dataset)
