"""Dataset folder layouts (Carvana, CARLA, Lyft CARLA, generic, images only): detection and image/mask pairing."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from unet_core.data.classes import CARLA_CLASSES, CARVANA_CLASSES, LYFT_CLASSES, ClassTable
from unet_core.data.io import MaskFormat, check_mask, check_same_size, read_image, read_mask
from unet_core.errors import DataError

IMAGE_EXTS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"})
LAYOUT_KINDS = ("carvana", "carla", "carla_lyft", "generic", "images")
NO_LAYOUT_MESSAGE = (
    "no images and no dataset layout found: expected image files (.jpg, .png, ...) in the folder, "
    "train/ + train_masks/ (Carvana), CameraRGB/ + CameraMask/ (CARLA) or images/ + masks/"
)
IMAGES_CLASSES = ClassTable(("background", "object"), ((0, 0, 0), (255, 96, 0)))
"""The class table a folder of images only starts with, until the user makes their own (kept in the store)."""
CLASSES_FILE = "classes.json"
_GENERIC_SCAN_LIMIT = 50
MAX_GUESSED_CLASSES = 64
"""Without ``classes.json`` a generic folder's mask values are taken as class ids only below this."""
_CARVANA_MASK_SUFFIX = "_mask.gif"
_CARVANA_VIEW = re.compile(r"^(.+)_(\d+)$")


@dataclass(frozen=True)
class Pair:
    """One image and its mask file (``None`` when the image is unlabelled), in ``mask_format`` (``None``: the
    layout's own; masks imported into the project store are index PNGs)."""

    image: Path
    mask: Path | None
    stem: str
    group: str
    mask_format: MaskFormat | None = None


@dataclass(frozen=True)
class DatasetLayout:
    """A recognised dataset folder: where images and masks live and how masks are encoded."""

    kind: str
    root: Path
    image_dir: Path
    mask_dir: Path
    mask_format: MaskFormat
    classes: ClassTable
    image_suffix: str
    own_classes: bool = False  # ``classes`` is the table the user made for this folder (kept in its store)

    def mask_path_for(self, stem: str) -> Path:
        """The native mask path for an image stem (whether or not it exists yet)."""
        if self.kind == "carvana":
            return self.mask_dir / f"{stem}{_CARVANA_MASK_SUFFIX}"
        return self.mask_dir / f"{stem}.png"

    def group_of(self, stem: str) -> str:
        """Split group of an image: the car id for Carvana (``<id>_<nn>``), else the stem itself."""
        if self.kind == "carvana":
            m = _CARVANA_VIEW.match(stem)
            if m:
                return m.group(1)
        return stem

    def _mask_stem(self, name: str) -> str | None:
        """Image stem a mask file name belongs to, or ``None`` if it is not a mask file."""
        lower = name.lower()
        if self.kind == "carvana":
            return name[: -len(_CARVANA_MASK_SUFFIX)] if lower.endswith(_CARVANA_MASK_SUFFIX) else None
        return name[:-4] if lower.endswith(".png") else None

    def pairs(self) -> tuple[list[Pair], int]:
        """Every image (sorted by stem) with its mask or ``None``, plus the number of skipped items.

        Skipped items are masks without an image, images whose stem repeats another image's
        (e.g. ``a.jpg`` and ``a.png``), links that cannot be followed (e.g. a symlink loop) and
        names that are not UTF-8.
        Non-image files and hidden files are ignored.
        One directory scan per folder; nothing is decoded.
        """
        images: dict[str, Path] = {}
        broken: list[str] = []
        names = _file_names(self.image_dir, broken)
        skipped = len(broken)  # a symlink loop, a name that is not UTF-8, ...
        for name in sorted(names):
            stem, ext = os.path.splitext(name)
            if ext.lower() not in IMAGE_EXTS or not stem:
                continue
            if stem in images:
                skipped += 1
                continue
            images[stem] = self.image_dir / name
        masks: dict[str, Path] = {}
        if self.kind != "images" and self.mask_dir.is_dir():  # images only: masks live in the project store
            for name in _file_names(self.mask_dir):
                stem = self._mask_stem(name)
                if stem is None:
                    continue
                if stem in images:
                    masks[stem] = self.mask_dir / name
                else:
                    skipped += 1
        pairs = [
            Pair(image=images[stem], mask=masks.get(stem), stem=stem, group=self.group_of(stem))
            for stem in sorted(images)
        ]
        return pairs, skipped

    def read_pair(self, pair: Pair) -> tuple[np.ndarray, np.ndarray]:
        """Read an image (HxWx3 RGB) and its mask (HxW ids), checking sizes and class ids."""
        if pair.mask is None:
            raise DataError("image has no mask", pair.image)
        image = read_image(pair.image)
        mask = read_mask(pair.mask, pair.mask_format or self.mask_format)
        check_same_size(image, mask, pair.image, pair.mask)
        check_mask(mask, self.classes.num_classes, pair.mask)
        return image, mask


class NoLayoutError(DataError):
    """The folder holds no recognised dataset layout (other problems, e.g. a broken classes.json, are
    plain :class:`DataError`: a command must report them, not fall back to a plain folder of images)."""


def _entry_is(entry: os.DirEntry, kind: str) -> bool | None:
    """``entry.is_file()`` / ``is_dir()``, or ``None`` for an entry that cannot be followed (a symlink
    loop, a link into a folder we may not read): one bad link must not hide the whole folder."""
    try:
        return entry.is_file() if kind == "file" else entry.is_dir()
    except OSError:
        return None


def _utf8(name: str) -> bool:
    """False for a file name that is not valid UTF-8 (Python keeps its bytes as surrogates)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _file_names(folder: Path, broken: list[str] | None = None) -> list[str]:
    """Names of the non-hidden regular files in ``folder`` (one ``os.scandir``; [] if unreadable).

    Entries that cannot be followed and names that are not UTF-8 (they cannot be stored, shown or
    written to JSON as they are) are left out and, if ``broken`` is given, appended to it.
    """
    names: list[str] = []
    try:
        with os.scandir(folder) as it:
            for e in it:
                if e.name.startswith("."):
                    continue
                verdict = _entry_is(e, "file") if _utf8(e.name) else None
                if verdict:
                    names.append(e.name)
                elif verdict is None and broken is not None:
                    broken.append(e.name)
    except OSError:
        return []
    return names


def image_files(folder: Path) -> tuple[list[Path], int]:
    """The image files of a plain folder, sorted, and the number of entries skipped (broken links,
    names that are not UTF-8): the same listing rules as a dataset layout's folders."""
    broken: list[str] = []
    names = _file_names(folder, broken)
    images = sorted(folder / n for n in names if os.path.splitext(n)[1].lower() in IMAGE_EXTS)
    return images, len(broken)


def _has_file_with_ext(folder: Path, exts: frozenset[str]) -> bool:
    """True if ``folder`` holds at least one non-hidden file with one of ``exts`` (stops early)."""
    try:
        with os.scandir(folder) as it:
            for e in it:
                if (
                    not e.name.startswith(".")
                    and os.path.splitext(e.name)[1].lower() in exts
                    and _entry_is(e, "file")
                ):
                    return True
    except OSError:
        return False
    return False


def make_layout(kind: str, root: str | Path, classes: ClassTable | None = None) -> DatasetLayout:
    """The layout of kind ``kind`` rooted at ``root`` with its standard folder names.

    Useful to write a new dataset (folders need not exist). ``classes`` overrides the
    kind's default table (required to be meaningful for ``generic``; numbered(2) otherwise).
    """
    r = Path(root)
    if kind == "carvana":
        return DatasetLayout(
            kind, r, r / "train", r / "train_masks", MaskFormat.CARVANA_GIF,
            classes or CARVANA_CLASSES, ".jpg",
        )
    if kind == "carla":
        return DatasetLayout(
            kind, r, r / "CameraRGB", r / "CameraMask", MaskFormat.RED_CHANNEL,
            classes or CARLA_CLASSES, ".png",
        )
    if kind == "carla_lyft":
        return DatasetLayout(
            kind, r, r / "CameraRGB", r / "CameraSeg", MaskFormat.RED_CHANNEL,
            classes or LYFT_CLASSES, ".png",
        )
    if kind == "generic":
        return DatasetLayout(
            kind, r, r / "images", r / "masks", MaskFormat.INDEX_PNG,
            classes or ClassTable.numbered(2), ".png",
        )
    if kind == "images":  # a folder of images without masks (e.g. Carvana's test/): its masks are painted
        return DatasetLayout(kind, r, r, r / "masks", MaskFormat.INDEX_PNG, classes or IMAGES_CLASSES, ".png")
    raise ValueError(f"unknown layout kind {kind!r}; expected one of {', '.join(LAYOUT_KINDS)}")


def _generic_classes(root: Path) -> ClassTable:
    """Classes of a generic layout: ``classes.json`` beside images/ or in masks/, else guessed from the ids.

    Without a class file the masks' values must look like class ids: at most
    :data:`MAX_GUESSED_CLASSES` of them (JPEG-compressed or 0..255-scaled masks hold dozens to
    hundreds of values, and guessing a 256-class problem from them helps nobody); otherwise a
    :class:`DataError` says what was found and asks for ``classes.json``.
    """
    for candidate in (root / CLASSES_FILE, root / "masks" / CLASSES_FILE):
        if candidate.is_file():
            return ClassTable.from_json_file(candidate)
    values = np.zeros(256, dtype=bool)
    names = sorted(n for n in _file_names(root / "masks") if n.lower().endswith(".png"))
    for name in names[:_GENERIC_SCAN_LIMIT]:
        try:
            mask = read_mask(root / "masks" / name, MaskFormat.INDEX_PNG)
        except DataError:
            continue  # reported later, when the pair is read
        values[np.unique(mask)] = True
    found = np.flatnonzero(values)
    top = int(found[-1]) if found.size else 0
    if top >= MAX_GUESSED_CLASSES:
        shown = ", ".join(str(v) for v in found[:6]) + (", ..." if found.size > 6 else "")
        raise DataError(
            f"masks hold {found.size} different values up to {top} ({shown}): too many to take as class ids "
            f"without a class file (JPEG-compressed or 0-255 scaled masks?). Add {CLASSES_FILE} beside "
            f"images/ naming the classes, e.g. [\"background\", \"object\"]", root / "masks")
    return ClassTable.numbered(max(2, top + 1))


def _match(folder: Path) -> DatasetLayout | None:
    """The layout ``folder`` itself holds, or ``None``."""
    if (folder / "train").is_dir() and _has_file_with_ext(folder / "train", frozenset({".jpg", ".jpeg"})):
        return make_layout("carvana", folder)
    if (folder / "CameraRGB").is_dir():
        if (folder / "CameraMask").is_dir():
            return make_layout("carla", folder)
        if (folder / "CameraSeg").is_dir():
            return make_layout("carla_lyft", folder)
        return make_layout("carla", folder)  # unlabelled CARLA frames
    if (folder / "images").is_dir():
        return make_layout("generic", folder, _generic_classes(folder))
    return None


INNER_FOLDERS = frozenset({"train", "train_masks", "CameraRGB", "CameraMask", "CameraSeg", "images", "masks"})
"""Names of the folders inside a layout that hold its original images and masks."""


def layout_at(folder: str | Path) -> DatasetLayout | None:
    """The layout ``folder`` itself holds (its subfolders are not searched), or ``None``."""
    p = Path(folder)
    return _match(p) if p.is_dir() else None


def detect_layout(path: str | Path) -> DatasetLayout:
    """Recognise the dataset layout in ``path`` or, failing that, in its immediate subfolders.

    The folder itself is checked first, then its non-hidden subfolders in sorted order; the
    first match wins. When ``path`` is one of a layout's inner folders (``train/``,
    ``CameraRGB/``, ``images/`` ...) its parent is used. Otherwise a folder that holds image files
    is an ``images`` layout (images only: masks are painted and kept in the project store), e.g.
    Carvana's ``test/``. Raises :class:`DataError` for a missing folder, and :class:`NoLayoutError`
    when the folder holds neither a layout nor images (the message says what was expected).
    """
    p = Path(path).expanduser()
    if not p.exists():
        raise DataError("no such folder", p)
    if not p.is_dir():
        raise DataError("not a folder", p)
    found = _match(p)
    if found is not None:
        return found
    try:
        with os.scandir(p) as it:
            subdirs = sorted(e.name for e in it if not e.name.startswith(".") and _entry_is(e, "dir"))
    except OSError as exc:
        raise DataError(f"cannot list folder: {exc.strerror or exc}", p) from None
    for name in subdirs:
        found = _match(p / name)
        if found is not None:
            return found
    if p.name in INNER_FOLDERS:
        found = _match(p.absolute().parent)
        if found is not None:
            return found
    if _has_file_with_ext(p, IMAGE_EXTS):
        return make_layout("images", p)
    raise NoLayoutError(NO_LAYOUT_MESSAGE, p)


__all__ = [
    "IMAGES_CLASSES",
    "IMAGE_EXTS",
    "INNER_FOLDERS",
    "LAYOUT_KINDS",
    "NO_LAYOUT_MESSAGE",
    "DatasetLayout",
    "NoLayoutError",
    "Pair",
    "detect_layout",
    "image_files",
    "layout_at",
    "make_layout",
]
