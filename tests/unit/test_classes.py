"""Tests for class tables: validation, palettes, dict/JSON round trips and the built-in tables."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from unet_core.data.classes import CARLA_CLASSES, CARVANA_CLASSES, LYFT_CLASSES, ClassTable
from unet_core.errors import DataError


def test_builtin_tables() -> None:
    assert CARVANA_CLASSES.names == ("background", "car")
    assert CARVANA_CLASSES.colors == ((0, 0, 0), (255, 96, 0))
    assert CARLA_CLASSES.num_classes == 23
    assert CARLA_CLASSES.names[0] == "unlabeled" and CARLA_CLASSES.colors[0] == (0, 0, 0)
    assert CARLA_CLASSES.names[7] == "road" and CARLA_CLASSES.colors[7] == (128, 64, 128)
    assert CARLA_CLASSES.names[10] == "vehicle" and CARLA_CLASSES.colors[10] == (0, 0, 142)
    assert CARLA_CLASSES.names[22] == "terrain" and CARLA_CLASSES.colors[22] == (145, 170, 100)
    assert LYFT_CLASSES.num_classes == 13
    assert LYFT_CLASSES.names == CARLA_CLASSES.names[:13]
    assert LYFT_CLASSES.colors[12] == (220, 220, 0)


def test_palette_and_lut() -> None:
    pal = CARLA_CLASSES.palette()
    assert pal.shape == (256, 3) and pal.dtype == np.uint8
    assert tuple(pal[4]) == (220, 20, 60)
    assert not pal[23:].any()
    lut = CARVANA_CLASSES.lut()
    assert lut.shape == (2, 3) and lut.dtype == np.uint8
    assert tuple(lut[1]) == (255, 96, 0)
    assert len(CARVANA_CLASSES) == 2


def test_dict_round_trip_and_hashable() -> None:
    d = CARLA_CLASSES.to_dict()
    assert json.loads(json.dumps(d)) == d
    again = ClassTable.from_dict(d)
    assert again == CARLA_CLASSES
    assert hash(again) == hash(CARLA_CLASSES)


def test_lists_are_normalised_to_tuples() -> None:
    t = ClassTable(["a", "b"], [[1, 2, 3], [4, 5, 6]])  # type: ignore[arg-type]
    assert t.names == ("a", "b") and t.colors == ((1, 2, 3), (4, 5, 6))
    hash(t)


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"names": ["a", "b"], "colors": [[0, 0, 0]]}, "2 names but 1 colours"),
        ({"names": ["a"], "colors": [[0, 0, 256]]}, "0..255"),
        ({"names": ["a"], "colors": [[0, 0]]}, "[r, g, b]"),
        ({"names": [], "colors": []}, "1..255 classes"),
        ({"names": [f"c{i}" for i in range(256)]}, "1..255 classes"),
        ({"colors": [[0, 0, 0]]}, "missing 'names'"),
        ({"names": ["a", ""], "colors": [[0, 0, 0], [1, 1, 1]]}, "non-empty"),
        ([1, 2], "mapping"),
    ],
)
def test_from_dict_rejects_bad_tables(data: object, fragment: str) -> None:
    with pytest.raises(ValueError) as info:
        ClassTable.from_dict(data)  # type: ignore[arg-type]
    assert fragment in str(info.value)


def test_numbered_has_distinct_colours_and_black_background() -> None:
    for n in (1, 2, 5, 255):
        t = ClassTable.numbered(n)
        assert t.num_classes == n
        assert t.names[0] == "class 0" and t.names[-1] == f"class {n - 1}"
        assert t.colors[0] == (0, 0, 0)
        assert len(set(t.colors)) == n
    with pytest.raises(ValueError):
        ClassTable.numbered(0)


def _write(path: Path, obj: object) -> Path:
    path.write_text(json.dumps(obj), encoding="utf-8")
    return path


def test_from_json_file_accepts_all_shapes(tmp_path: Path) -> None:
    t1 = ClassTable.from_json_file(_write(tmp_path / "a.json", {"names": ["bg", "fg"], "colors": [[0, 0, 0], [9, 9, 9]]}))
    assert t1.names == ("bg", "fg") and t1.colors[1] == (9, 9, 9)
    t2 = ClassTable.from_json_file(_write(tmp_path / "b.json", ["bg", "road", "sky"]))
    assert t2.names == ("bg", "road", "sky") and len(set(t2.colors)) == 3
    t3 = ClassTable.from_json_file(
        _write(tmp_path / "c.json", [{"name": "bg", "color": [0, 0, 0]}, {"name": "x", "color": [1, 2, 3]}])
    )
    assert t3.names == ("bg", "x") and t3.colors == ((0, 0, 0), (1, 2, 3))
    t4 = ClassTable.from_json_file(_write(tmp_path / "d.json", {"names": ["bg", "fg"]}))
    assert t4.colors[0] == (0, 0, 0) and len(set(t4.colors)) == 2


@pytest.mark.parametrize(
    "content",
    ["{not json", json.dumps({"names": ["a"], "colors": [[0, 0, 300]]}), json.dumps(42), json.dumps([]),
     json.dumps([{"color": [0, 0, 0]}]), json.dumps(["a", {"name": "b"}])],
)
def test_from_json_file_bad_content_names_file(tmp_path: Path, content: str) -> None:
    p = tmp_path / "classes.json"
    p.write_text(content, encoding="utf-8")
    with pytest.raises(DataError) as info:
        ClassTable.from_json_file(p)
    assert str(p) in str(info.value)
    assert "\n" not in str(info.value)


def test_from_json_file_missing(tmp_path: Path) -> None:
    p = tmp_path / "nope.json"
    with pytest.raises(DataError) as info:
        ClassTable.from_json_file(p)
    assert str(p) in str(info.value) and "not found" in str(info.value)
