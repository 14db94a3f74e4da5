"""Export to other tools' formats: every format read back gives the same masks; bad input writes nothing."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from unet_core.data.classes import ClassTable
from unet_core.data.io import MaskFormat, read_mask
from unet_core.data.layouts import detect_layout
from unet_core.errors import DataError
from unet_core.formats import EXPORT_FORMATS
from unet_core.formats.coco import coco_document, coco_masks, read_coco
from unet_core.formats.export import VOID, VOID_COLOR, export_masks, export_originals
from unet_core.formats.labelme import labelme_document, labelme_labels, labelme_mask, read_labelme
from unet_core.formats.rle import rle_decode, rle_encode
from unet_core.sample.writer import write_sample
from unet_core.store.project import ProjectStore

THREE = ClassTable(("background", "car", "wheel"), ((0, 0, 0), (200, 30, 30), (30, 30, 200)))


def _blobs(h: int = 40, w: int = 56, seed: int = 0, top: int = 2) -> np.ndarray:
    rng = np.random.default_rng(seed)
    mask = np.zeros((h, w), np.uint8)
    for _ in range(6):
        y, x = rng.integers(0, h - 8), rng.integers(0, w - 8)
        mask[y : y + rng.integers(3, 9), x : x + rng.integers(3, 9)] = rng.integers(1, top + 1)
    mask[5:7, 5:7] = 0  # a hole
    return mask


def test_kaggle_run_lengths_number_pixels_row_by_row_from_one() -> None:
    assert rle_encode(np.array([[1, 1], [0, 1]], bool)) == "1 2 4 1"
    assert rle_encode(np.zeros((3, 3), bool)) == ""
    for seed in range(5):
        mask = _blobs(seed=seed) > 0
        assert np.array_equal(rle_decode(rle_encode(mask), mask.shape), mask)
    full = np.ones((4, 5), bool)
    assert np.array_equal(rle_decode(rle_encode(full), (4, 5)), full)


@pytest.mark.parametrize(("text", "why"), [("1 2 3", "pairs"), ("5 2 1 2", "overlap"), ("0 2", ">= 1"),
                                           ("1 0", ">= 1"), ("19 3", "past"), ("1 x", "whole number"),
                                           ("1 99999999999999999999999", "whole number")])
def test_bad_run_lengths_are_refused_with_the_reason(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        rle_decode(text, (4, 5))


def test_coco_run_lengths_and_polygons_read_back() -> None:
    masks = [("a.jpg", _blobs(seed=1)), ("b.jpg", _blobs(seed=2)), ("c.jpg", np.zeros((40, 56), np.uint8))]
    doc = json.loads(json.dumps(coco_document(masks, THREE)))  # through JSON, as a file holds it
    assert [c["name"] for c in doc["categories"]] == ["car", "wheel"]
    back = coco_masks(doc, THREE)
    for name, mask in masks[:2]:
        assert np.array_equal(back[name], mask), name
    assert "c.jpg" not in back  # listed without annotations: a partial export says nothing about it
    polygon = {"images": [{"id": 7, "file_name": "p.png", "height": 20, "width": 30}],
               "categories": [{"id": 3, "name": "Wheel"}],
               "annotations": [{"id": 1, "image_id": 7, "category_id": 3, "segmentation": [[5, 5, 15, 5, 15, 10, 5, 10]]}]}
    painted = coco_masks(polygon, THREE)["p.png"]  # a category matches a class by name, whatever its id
    assert set(np.unique(painted).tolist()) == {0, 2} and 40 <= int((painted == 2).sum()) <= 80
    polygon["categories"] = [{"id": 9, "name": "bus"}]
    with pytest.raises(ValueError, match="matches no class"):
        coco_masks(polygon, THREE)


def test_labelme_polygons_redraw_masks_exactly_holes_and_specks_included() -> None:
    for seed in range(60):
        rng = np.random.default_rng(seed)
        mask = _blobs(seed=seed)
        mask[rng.random(mask.shape) < 0.03] = rng.integers(0, 3)  # one-pixel specks and notches
        mask[20:30, 20:30], mask[23:27, 23:27], mask[24:26, 24:26] = 1, 0, 2  # a ring around a hole around a blob
        doc = json.loads(json.dumps(labelme_document("x.png", mask, THREE)))
        assert all(s["shape_type"] == "polygon" for s in doc["shapes"])
        assert np.array_equal(labelme_mask(doc, THREE), mask), seed
    assert labelme_labels(doc) == [n for n in ("car", "wheel") if n in {s["label"] for s in doc["shapes"]}]


def test_labelme_files_from_elsewhere_read_with_their_shapes() -> None:
    doc = {"imageHeight": 20, "imageWidth": 30, "shapes": [
        {"label": "Car", "shape_type": "rectangle", "points": [[2, 2], [12, 8]]},
        {"label": "wheel", "shape_type": "circle", "points": [[20, 10], [23, 10]]},
        {"label": "_background_", "shape_type": "polygon", "points": [[4, 4], [6, 4], [6, 6], [4, 6]]},
        {"label": "car", "shape_type": "point", "points": [[1, 1]]}]}
    mask = labelme_mask(doc, THREE)
    assert mask[3, 3] == 1 and mask[5, 5] == 0 and mask[10, 20] == 2 and mask[1, 1] == 1  # a point: labelme's disk
    assert labelme_labels(doc) == ["Car", "wheel"]
    doc["shapes"].append({"label": "bus", "points": [[0, 0], [3, 0], [3, 3]]})
    with pytest.raises(ValueError, match="'bus' is not a class"):
        labelme_mask(doc, THREE)


def _project(tmp_path: Path, kind: str = "carvana", count: int = 4) -> tuple[Path, dict[str, np.ndarray]]:
    root = write_sample(tmp_path / kind, kind, count=count, seed=1, size_hw=(48, 64))
    layout = detect_layout(root)
    corrected: dict[str, np.ndarray] = {}
    with ProjectStore.for_dataset(layout.root) as store:
        for pair in layout.pairs()[0][:3]:
            mask = read_mask(pair.mask, layout.mask_format).copy()
            mask[:6, :6] = 1  # a correction differs from the dataset's mask
            store.save_mask(pair.stem, mask)
            corrected[pair.stem] = mask
    return layout.root, corrected


@pytest.mark.parametrize("fmt", EXPORT_FORMATS)
def test_every_format_reads_back_the_corrections(tmp_path: Path, fmt: str) -> None:
    root, corrected = _project(tmp_path)
    layout = detect_layout(root)
    names = {p.stem: p.image.name for p in layout.pairs()[0]}
    out = tmp_path / "out"
    with ProjectStore.for_dataset(root) as store:
        result = export_masks(layout, store, out, fmt)
    assert result.count == 3
    if fmt == "coco":
        back = coco_masks(read_coco(out / "annotations.json"), layout.classes)
        assert {names[s]: m.tolist() for s, m in corrected.items()} == {k: v.tolist() for k, v in back.items()}
        return
    if fmt == "labelme":
        for stem, mask in corrected.items():
            doc = read_labelme(out / f"{stem}.json")
            assert doc["imagePath"] == names[stem] and (doc["imageHeight"], doc["imageWidth"]) == mask.shape
            assert np.array_equal(labelme_mask(doc, layout.classes), mask)
        return
    if fmt == "kaggle-csv":
        rows = list(csv.DictReader((out / "masks.csv").open()))
        assert [r["img"] for r in rows] == [names[s] for s in corrected]
        for row, (_stem, mask) in zip(rows, corrected.items(), strict=True):
            assert np.array_equal(rle_decode(row["rle_mask"], mask.shape), mask == 1)
        return
    for stem, mask in corrected.items():
        if fmt == "native":
            back = read_mask(out / "train_masks" / f"{stem}_mask.gif", MaskFormat.CARVANA_GIF)
        elif fmt == "voc":
            im = Image.open(out / "SegmentationClass" / f"{stem}.png")
            assert im.mode == "P" and tuple(im.getpalette()[3 * VOID : 3 * VOID + 3]) == VOID_COLOR
            back = np.asarray(im)
        elif fmt == "color":
            rgb = np.asarray(Image.open(out / f"{stem}.png").convert("RGB"))
            assert np.array_equal(rgb, layout.classes.lut()[mask])
            continue
        else:
            back = read_mask(out / f"{stem}.png", MaskFormat.INDEX_PNG)
        assert np.array_equal(back, mask), (fmt, stem)


def test_native_carla_keeps_its_folder_and_red_channel(tmp_path: Path) -> None:
    root, corrected = _project(tmp_path, "carla")
    layout = detect_layout(root)
    with ProjectStore.for_dataset(root) as store:
        export_masks(layout, store, tmp_path / "out", "native")
    for stem, mask in corrected.items():
        assert np.array_equal(read_mask(tmp_path / "out" / "CameraMask" / f"{stem}.png", MaskFormat.RED_CHANNEL), mask)


def test_predictions_and_all_take_the_current_models_cache(tmp_path: Path) -> None:
    root, corrected = _project(tmp_path)
    layout = detect_layout(root)
    stems = [p.stem for p in layout.pairs()[0]]
    (root / "train_masks" / f"{stems[3]}_mask.gif").unlink()  # one image with neither correction nor mask
    with ProjectStore.for_dataset(root) as store:
        with pytest.raises(DataError, match="no model"):
            export_masks(layout, store, tmp_path / "none", "index", "predictions")
        assert not (tmp_path / "none").exists()
        version, path = store.new_model_path()
        path.write_bytes(b"weights")
        store.register_model(version, None, None, "test")
        predicted = {s: np.full((48, 64), i % 2, np.uint8) for i, s in enumerate(stems)}
        for stem, labels in predicted.items():
            store.save_prediction(stem, version, labels, None, 0.5)
        assert export_masks(layout, store, tmp_path / "pred", "index", "predictions").count == 4
        assert export_masks(layout, store, tmp_path / "all", "index", "all").count == 4
    for stem in stems:
        pred = read_mask(tmp_path / "pred" / f"{stem}.png", MaskFormat.INDEX_PNG)
        shown = read_mask(tmp_path / "all" / f"{stem}.png", MaskFormat.INDEX_PNG)
        assert np.array_equal(pred, predicted[stem])
        assert np.array_equal(shown, corrected.get(stem, predicted[stem]))  # corrections, else the prediction ...


def test_all_exports_what_each_image_shows_imported_masks_included(tmp_path: Path) -> None:
    root, corrected = _project(tmp_path)
    layout = detect_layout(root)
    pairs = layout.pairs()[0]
    with ProjectStore.for_dataset(root) as store:  # ... and where there is one, the image's own mask
        imported = np.zeros((48, 64), np.uint8)
        imported[10:20, 10:20] = 1
        store.save_import(pairs[3].stem, imported)
        assert export_masks(layout, store, tmp_path / "all", "index", "all").count == 4  # no model needed
    assert np.array_equal(read_mask(tmp_path / "all" / f"{pairs[3].stem}.png", MaskFormat.INDEX_PNG), imported)
    for stem, mask in corrected.items():
        assert np.array_equal(read_mask(tmp_path / "all" / f"{stem}.png", MaskFormat.INDEX_PNG), mask)


def test_exports_that_would_harm_originals_or_the_store_write_nothing(tmp_path: Path) -> None:
    root, _ = _project(tmp_path)
    layout = detect_layout(root)
    masks = sorted((root / "train_masks").iterdir())
    before = {p: p.read_bytes() for p in masks}
    with ProjectStore.for_dataset(root) as store:
        with pytest.raises(DataError, match="replace 3 of the dataset's own files"):
            export_masks(layout, store, root, "native")
        with pytest.raises(DataError, match="project store"):
            export_masks(layout, store, store.root / "out", "index")
        with pytest.raises(DataError, match="one foreground class"):
            export_masks(_three(layout), store, tmp_path / "k", "kaggle-csv")
    assert {p: p.read_bytes() for p in masks} == before
    assert not (tmp_path / "k").exists() and not (store.root / "out").exists()


def _three(layout):  # type: ignore[no-untyped-def]
    from dataclasses import replace

    return replace(layout, classes=THREE)


def test_the_cli_exports_without_writing_to_the_dataset(tmp_path: Path) -> None:
    root, _ = _project(tmp_path)
    state = {p: p.stat().st_mtime_ns for p in (root / ".maskloop").rglob("*") if p.is_file()}
    out = tmp_path / "coco"
    proc = subprocess.run([sys.executable, "-m", "unet_core", "export", "--data", str(root), "--out", str(out),
                           "--format", "coco"], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "exported 3 mask(s) (corrections) as coco" in proc.stderr
    assert len(read_coco(out / "annotations.json")["images"]) == 3
    assert {p: p.stat().st_mtime_ns for p in (root / ".maskloop").rglob("*") if p.is_file()} == state
    bare = write_sample(tmp_path / "bare", "carvana", count=2, seed=0, size_hw=(48, 64))
    proc = subprocess.run([sys.executable, "-m", "unet_core", "export", "--data", str(bare), "--out",
                           str(tmp_path / "x"), "--format", "index"], capture_output=True, text=True, timeout=120,
                          check=False)
    assert proc.returncode == 1 and "no project store" in proc.stderr and "Traceback" not in proc.stderr
    assert not (bare / ".maskloop").exists() and not (tmp_path / "x").exists()


def test_an_export_into_a_folder_of_photos_never_replaces_them(tmp_path: Path) -> None:
    from unet_core.data.io import write_image

    root = tmp_path / "photos"
    write_image(root / "a.png", np.full((12, 16, 3), 90, np.uint8))
    (root / "a.json").write_text("{}")  # the user's own labelme file beside the photo
    before = {p.name: p.read_bytes() for p in root.iterdir() if p.is_file()}
    layout = detect_layout(root)
    with ProjectStore.for_dataset(root) as store:
        store.save_mask("a", np.ones((12, 16), np.uint8))
        for fmt in ("index", "color", "labelme"):  # its files would be taken for images, or are the user's
            with pytest.raises(DataError, match="folder of images itself"):
                export_masks(layout, store, root, fmt)
        with pytest.raises(DataError, match="no mask format of its own"):
            export_masks(layout, store, tmp_path / "elsewhere", "native")
        assert export_originals(layout, [root / "a.png", root / "a.json"], [root / "a.png"]) == [root / "a.png", root / "a.json"]
    # elsewhere, permission covers only the files named: a file it does not name is still refused
    carvana, _ = _project(tmp_path / "c")
    with ProjectStore.for_dataset(carvana) as store, pytest.raises(DataError, match="replace 3"):
        export_masks(detect_layout(carvana), store, carvana, "native", replace_originals=[carvana / "x.gif"])
    assert {p.name: p.read_bytes() for p in root.iterdir() if p.is_file()} == before


def test_void_is_exported_natively_where_the_format_can_hold_it(tmp_path: Path) -> None:
    root, _ = _project(tmp_path)
    layout = detect_layout(root)
    stem = layout.pairs()[0][0].stem
    with ProjectStore.for_dataset(root) as store:
        mask = store.load_mask(stem)
        mask[0, :] = 255
        store.save_mask(stem, mask)
        export_masks(layout, store, tmp_path / "native", "native")  # Carvana's {0, 1} GIF: void as background
        export_masks(_three(layout), store, tmp_path / "index", "voc")
    gif = read_mask(tmp_path / "native" / "train_masks" / f"{stem}_mask.gif", MaskFormat.CARVANA_GIF)
    assert (gif[0] == 0).all() and np.array_equal(gif[1:], mask[1:])
    assert (np.asarray(Image.open(tmp_path / "index" / "SegmentationClass" / f"{stem}.png"))[0] == VOID).all()


def test_a_voc_export_never_replaces_another_datasets_class_names(tmp_path: Path) -> None:
    root, _ = _project(tmp_path)
    out = tmp_path / "VOC2012"
    out.mkdir()
    (out / "class_names.txt").write_text("background\naeroplane\nbicycle\n")
    with ProjectStore.for_dataset(root) as store, pytest.raises(DataError, match="names other classes"):
        export_masks(detect_layout(root), store, out, "voc")
    assert (out / "class_names.txt").read_text() == "background\naeroplane\nbicycle\n"
    assert not (out / "SegmentationClass").exists()  # nothing written
    with ProjectStore.for_dataset(root) as store:  # the same names again (a second export): fine
        export_masks(detect_layout(root), store, tmp_path / "again", "voc")
        assert export_masks(detect_layout(root), store, tmp_path / "again", "voc").count == 3
