"""Class tables: names and display colours of segmentation classes, plus the built-in dataset tables."""

from __future__ import annotations

import colorsys
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from unet_core.errors import DataError
from unet_core.limits import MAX_CLASSES

Color = tuple[int, int, int]
VOID = 255
"""The ignore label a mask may hold besides its class ids (Pascal VOC's object borders, pixels nobody labelled):
never trained on, left out of every metric, drawn in :data:`VOID_COLOR`."""
VOID_COLOR: Color = (224, 224, 192)
MAX_CLASS_FILE_BYTES = 1 << 20
"""A class file larger than this (256 names and colours take a few kB) is refused before it is read."""


def _as_color(value: Any, index: int) -> Color:
    """Validate one ``[r, g, b]`` entry and return it as a tuple of ints."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or len(value) != 3:
        raise ValueError(f"colour {index} must be [r, g, b], got {value!r}")
    out: list[int] = []
    for c in value:
        if isinstance(c, bool) or not isinstance(c, (int, np.integer)) or not 0 <= int(c) <= 255:
            raise ValueError(f"colour {index} must hold integers 0..255, got {list(value)!r}")
        out.append(int(c))
    return (out[0], out[1], out[2])


@dataclass(frozen=True)
class ClassTable:
    """Ordered segmentation classes: ``names[i]`` and ``colors[i]`` describe class id ``i``."""

    names: tuple[str, ...]
    colors: tuple[Color, ...]

    def __post_init__(self) -> None:
        names = tuple(self.names)
        if not 1 <= len(names) <= MAX_CLASSES:
            raise ValueError(f"a class table needs 1..{MAX_CLASSES} classes, got {len(names)}")
        for i, name in enumerate(names):
            if not isinstance(name, str) or not name.strip():
                raise ValueError(f"class name {i} must be a non-empty string, got {name!r}")
        if len(self.colors) != len(names):
            raise ValueError(f"class table has {len(names)} names but {len(self.colors)} colours")
        colors = tuple(_as_color(c, i) for i, c in enumerate(self.colors))
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "colors", colors)

    @property
    def num_classes(self) -> int:
        """Number of classes (class ids are ``0..num_classes-1``)."""
        return len(self.names)

    def __len__(self) -> int:
        return len(self.names)

    def palette(self) -> np.ndarray:
        """A (256, 3) uint8 palette: row ``i`` is class ``i``'s colour, unused rows black."""
        pal = np.zeros((256, 3), dtype=np.uint8)
        pal[: self.num_classes] = np.asarray(self.colors, dtype=np.uint8)
        return pal

    def lut(self) -> np.ndarray:
        """A (num_classes, 3) uint8 colour lookup table."""
        return np.asarray(self.colors, dtype=np.uint8).reshape(self.num_classes, 3)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: ``{"names": [...], "colors": [[r, g, b], ...]}``."""
        return {"names": list(self.names), "colors": [list(c) for c in self.colors]}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ClassTable:
        """Build a table from :meth:`to_dict` output; raises ``ValueError`` with a clear message."""
        if not isinstance(d, Mapping):
            raise ValueError(f"class table must be a mapping with 'names' and 'colors', got {type(d).__name__}")
        if "names" not in d:
            raise ValueError("class table is missing 'names'")
        names = d["names"]
        if isinstance(names, str) or not isinstance(names, Sequence):
            raise ValueError("class table 'names' must be a list of strings")
        colors = d.get("colors")
        if colors is None:
            colors = numbered_colors(len(names))
        if isinstance(colors, str) or not isinstance(colors, Sequence):
            raise ValueError("class table 'colors' must be a list of [r, g, b]")
        return cls(tuple(names), tuple(_as_color(c, i) for i, c in enumerate(colors)))

    @classmethod
    def numbered(cls, n: int) -> ClassTable:
        """``n`` classes named ``"class 0"``.. with distinct colours (class 0 black)."""
        if not 1 <= n <= MAX_CLASSES:
            raise ValueError(f"a class table needs 1..{MAX_CLASSES} classes, got {n}")
        return cls(tuple(f"class {i}" for i in range(n)), numbered_colors(n))

    @classmethod
    def from_json_file(cls, path: str | Path) -> ClassTable:
        """Read a generic ``classes.json``.

        Accepted shapes: ``{"names": [...], "colors": [[r, g, b], ...]}`` (colours optional),
        a list of names, or a list of ``{"name": ..., "color": [r, g, b]}``. A missing,
        unreadable or malformed file raises :class:`DataError` naming it.
        """
        p = Path(path)
        try:
            size = p.stat().st_size
            if size > MAX_CLASS_FILE_BYTES:  # bounded before it is read
                raise DataError(f"class file is {size} bytes, more than a class table needs ({MAX_CLASS_FILE_BYTES})", p)
            data = json.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise DataError("class file not found", p) from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DataError(f"cannot read class file: {exc}", p) from None
        try:
            return _table_from_json(data)
        except (ValueError, TypeError, KeyError) as exc:
            raise DataError(f"bad class file: {exc}", p) from None


def _table_from_json(data: Any) -> ClassTable:
    """Interpret the decoded JSON of a ``classes.json`` in any of its accepted shapes."""
    if isinstance(data, Mapping):
        return ClassTable.from_dict(data)
    if isinstance(data, list):
        if not data:
            raise ValueError("empty class list")
        if all(isinstance(x, str) for x in data):
            return ClassTable(tuple(data), numbered_colors(len(data)))
        if all(isinstance(x, Mapping) for x in data):
            defaults = numbered_colors(len(data))
            names: list[str] = []
            colors: list[Color] = []
            for i, entry in enumerate(data):
                if "name" not in entry:
                    raise ValueError(f"class entry {i} has no 'name'")
                names.append(entry["name"])
                color = entry.get("color", entry.get("colour"))
                colors.append(defaults[i] if color is None else _as_color(color, i))
            return ClassTable(tuple(names), tuple(colors))
        raise ValueError("a class list must hold only names or only {'name', 'color'} objects")
    raise ValueError(f"expected an object or a list, got {type(data).__name__}")


def spare_colors(used: Sequence[Color], n: int) -> list[Color]:
    """``n`` distinct colours for classes added to a table whose classes have ``used`` colours: the numbered
    palette's colours not in use yet, in order."""
    taken = set(map(tuple, used))
    pool = [c for c in numbered_colors(min(MAX_CLASSES, len(taken) + n + 32)) if c not in taken]
    return (pool + list(numbered_colors(MAX_CLASSES)))[:n]


def numbered_colors(n: int) -> tuple[Color, ...]:
    """``n`` distinct, well-spread colours; colour 0 is black (background)."""
    colors: list[Color] = [(0, 0, 0)]
    seen = {colors[0]}
    golden = 0.618033988749895
    hue = 0.07
    i = 1
    while len(colors) < n:
        hue = (hue + golden) % 1.0
        sat = (0.95, 0.7, 0.5)[(i // 3) % 3]
        val = (1.0, 0.8, 0.6)[i % 3]
        r, g, b = colorsys.hsv_to_rgb(hue, sat, val)
        color = (round(r * 255), round(g * 255), round(b * 255))
        while color in seen:  # practically never; keeps the guarantee for large n
            color = (color[0], color[1], (color[2] + 1) % 256)
        seen.add(color)
        colors.append(color)
        i += 1
    return tuple(colors[:n])


CARVANA_CLASSES = ClassTable(("background", "car"), ((0, 0, 0), (255, 96, 0)))

_CARLA_TAGS: tuple[tuple[str, Color], ...] = (
    ("unlabeled", (0, 0, 0)),
    ("building", (70, 70, 70)),
    ("fence", (100, 40, 40)),
    ("other", (55, 90, 80)),
    ("pedestrian", (220, 20, 60)),
    ("pole", (153, 153, 153)),
    ("road line", (157, 234, 50)),
    ("road", (128, 64, 128)),
    ("sidewalk", (244, 35, 232)),
    ("vegetation", (107, 142, 35)),
    ("vehicle", (0, 0, 142)),
    ("wall", (102, 102, 156)),
    ("traffic sign", (220, 220, 0)),
    ("sky", (70, 130, 180)),
    ("ground", (81, 0, 81)),
    ("bridge", (150, 100, 100)),
    ("rail track", (230, 150, 140)),
    ("guard rail", (180, 165, 180)),
    ("traffic light", (250, 170, 30)),
    ("static", (110, 190, 160)),
    ("dynamic", (170, 120, 50)),
    ("water", (45, 60, 150)),
    ("terrain", (145, 170, 100)),
)

CARLA_CLASSES = ClassTable(tuple(n for n, _ in _CARLA_TAGS), tuple(c for _, c in _CARLA_TAGS))

LYFT_CLASSES = ClassTable(CARLA_CLASSES.names[:13], CARLA_CLASSES.colors[:13])

__all__ = [
    "CARLA_CLASSES",
    "CARVANA_CLASSES",
    "LYFT_CLASSES",
    "VOID",
    "VOID_COLOR",
    "ClassTable",
    "numbered_colors",
    "spare_colors",
]
