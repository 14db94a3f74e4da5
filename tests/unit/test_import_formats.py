"""Import from other tools: what a format exports reads back as the folder's starting truth; bad input is named."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from unet_core.data.io import MaskFormat, read_mask, write_image, write_mask
from unet_core.data.layouts import IMAGES_CLASSES, detect_layout
from unet_core.errors import DataError
from unet_core.formats import IMPORT_FORMATS
from unet_core.formats.export import export_masks
from unet_core.formats.importer import detect_import_format, import_masks
from unet_core.loop.classes import project_layout
from unet_core.loop.truth import project_pairs
from unet_core.sample.writer import write_sample
from unet_core.store.project import ProjectStore


def _corrected_project(tmp_path: Path) -> tuple[Path, dict[str, np.ndarray]]:
    root = write_sample(tmp_path / "a", "carvana", count=4, seed=1, size_hw=(48, 64))
    layout = detect_layout(root)
    corrected = {}
    with ProjectStore.for_dataset(root) as store:
        for pair in layout.pairs()[0][:3]:
            mask = read_mask(pair.mask, layout.mask_format).copy()
            mask[:5, :7] = 1
            store.save_mask(pair.stem, mask)
            corrected[pair.stem] = mask
    return root, corrected


@pytest.mark.parametrize("fmt", IMPORT_FORMATS)
def test_what_is_exported_imports_back_into_a_fresh_copy(tmp_path: Path, fmt: str) -> None:
    root, corrected = _corrected_project(tmp_path)
    with ProjectStore.for_dataset(root) as store:
        export_masks(detect_layout(root), store, tmp_path / "out", fmt)
    source = {"coco": "out/annotations.json", "kaggle-csv": "out/masks.csv"}.get(fmt, "out")
    assert detect_import_format(tmp_path / source) == fmt
    fresh = tmp_path / "b"
    shutil.copytree(root, fresh, ignore=shutil.ignore_patterns(".maskloop"))
    originals = {p: p.read_bytes() for p in (fresh / "train_masks").iterdir()}
    layout = detect_layout(fresh)
    with ProjectStore.for_dataset(fresh) as store:
        result, _ = import_masks(layout, store, tmp_path / source)
        assert result.count == 3 and not result.skipped and not result.unmatched
        pairs, _ = project_pairs(layout, store)
    by_stem = {p.stem: p for p in pairs}
    for stem, mask in corrected.items():
        pair = by_stem[stem]
        assert pair.mask_format is MaskFormat.INDEX_PNG
        assert np.array_equal(read_mask(pair.mask, pair.mask_format), mask), stem
    untouched = [p for p in pairs if p.stem not in corrected]
    assert untouched and all(p.mask_format is None for p in untouched)  # the dataset's own masks elsewhere
    assert {p: p.read_bytes() for p in (fresh / "train_masks").iterdir()} == originals


def _photos(folder: Path, n: int = 3) -> Path:
    for i in range(n):
        write_image(folder / f"p{i}.jpg", np.full((20, 30, 3), 60 * i, np.uint8))
    return folder


def _coco(path: Path, names: list[str], sizes: dict[str, tuple[int, int]]) -> Path:
    images = [{"id": i, "file_name": f"imgs/{n}", "height": hw[0], "width": hw[1]} for i, (n, hw) in enumerate(sizes.items(), 1)]
    anns = [{"id": 1, "image_id": 1, "category_id": 2, "segmentation": [[2, 2, 12, 2, 12, 9, 2, 9]]},
            {"id": 2, "image_id": 1, "category_id": 1, "segmentation": [[15, 10, 25, 10, 25, 18, 15, 18]]}]
    path.write_text(json.dumps({"images": images, "annotations": anns,
                                "categories": [{"id": i + 1, "name": n} for i, n in enumerate(names)]}))
    return path


def test_a_coco_file_from_elsewhere_brings_its_classes_to_a_folder_of_photos(tmp_path: Path) -> None:
    root = _photos(tmp_path / "photos")
    coco = _coco(tmp_path / "other.json", ["cat", "dog"], {"p0.jpg": (20, 30), "zz.jpg": (20, 30)})
    layout = detect_layout(root)
    with ProjectStore.for_dataset(root) as store:
        result, layout = import_masks(layout, store, coco)
        assert layout.classes.names == ("background", "cat", "dog")  # the placeholder "object" gave way
        assert result.count == 1 and result.unmatched == ["zz"] and result.added_classes == ["cat", "dog"]
        assert project_layout(detect_layout(root), store).classes == layout.classes  # saved in the store
        pairs, _ = project_pairs(layout, store)
    mask = read_mask(pairs[0].mask, MaskFormat.INDEX_PNG)
    assert mask[5, 5] == 2 and mask[14, 20] == 1 and mask[0, 0] == 0


def test_a_second_source_adds_only_its_new_classes(tmp_path: Path) -> None:
    root = _photos(tmp_path / "photos")
    with ProjectStore.for_dataset(root) as store:
        _, layout = import_masks(detect_layout(root), store, _coco(tmp_path / "a.json", ["cat", "dog"], {"p0.jpg": (20, 30)}))
        doc = {"imageHeight": 20, "imageWidth": 30, "imagePath": "p1.jpg",
               "shapes": [{"label": "CAT", "points": [[1, 1], [5, 1], [5, 5]]}, {"label": "bird", "points": [[9, 9], [14, 9], [14, 14]]}]}
        (tmp_path / "p1.json").write_text(json.dumps(doc))
        result, layout = import_masks(layout, store, tmp_path / "p1.json")
    assert layout.classes.names == ("background", "cat", "dog", "bird") and result.added_classes == ["bird"]


def test_a_fixed_class_folder_refuses_unknown_classes_and_stores_nothing(tmp_path: Path) -> None:
    root, _ = _corrected_project(tmp_path)
    coco = _coco(tmp_path / "bus.json", ["bus", "car"], {"x.jpg": (48, 64)})
    with ProjectStore.for_dataset(root) as store:
        with pytest.raises(DataError, match="bus: not classes of this carvana folder"):
            import_masks(detect_layout(root), store, coco)
        assert store.imported_stems() == []


def test_masks_of_the_wrong_size_are_skipped_with_the_reason_and_void_is_kept(tmp_path: Path) -> None:
    root = _photos(tmp_path / "photos")
    voc = tmp_path / "voc"
    from unet_core.data.io import write_mask

    write_mask(voc / "p0.png", np.zeros((10, 10), np.uint8), MaskFormat.INDEX_PNG)
    void = np.zeros((20, 30), np.uint8)
    void[0, :] = 255
    write_mask(voc / "p1.png", void, MaskFormat.INDEX_PNG)
    good = np.zeros((20, 30), np.uint8)
    good[5:9, 5:9] = 1
    write_mask(voc / "p2.png", good, MaskFormat.INDEX_PNG)
    with ProjectStore.for_dataset(root) as store:
        result, _ = import_masks(detect_layout(root), store, voc)
        assert result.count == 2 and store.imported_stems() == ["p1", "p2"]  # void (255) is an ignore label
    assert result.skipped == {"p0": "mask is 10x10, image is 30x20"}


@pytest.mark.parametrize(("name", "text", "why"), [("bad.json", "{oops", "not JSON"), ("bad.csv", "a,b\n1,2\n", "img,rle_mask"),
                                                   ("notes.txt", "hello", "cannot tell the format")])
def test_unreadable_sources_are_named(tmp_path: Path, name: str, text: str, why: str) -> None:
    root = _photos(tmp_path / "photos")
    (tmp_path / name).write_text(text)
    with ProjectStore.for_dataset(root) as store, pytest.raises(DataError, match=why):
        import_masks(detect_layout(root), store, tmp_path / name, "coco" if name == "bad.json" else None)


def test_the_cli_imports_and_train_uses_the_imported_masks(tmp_path: Path) -> None:
    root = _photos(tmp_path / "photos", 4)
    sizes = {f"p{i}.jpg": (20, 30) for i in range(4)}
    coco = _coco(tmp_path / "c.json", ["cat", "dog"], sizes)
    doc = json.loads(coco.read_text())
    doc["annotations"] += [{"id": 10 + i, "image_id": i, "category_id": 1, "segmentation": [[1, 1, 9, 1, 9, 9, 1, 9]]}
                           for i in range(2, 5)]
    coco.write_text(json.dumps(doc))
    run = [sys.executable, "-m", "unet_core"]
    proc = subprocess.run([*run, "import", "--data", str(root), "--from", str(coco)], capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "imported 4 mask(s)" in proc.stderr and "classes added: cat, dog" in proc.stderr
    out = tmp_path / "m.safetensors"
    proc = subprocess.run([*run, "train", "--data", str(root), "--out", str(out), "--epochs", "1", "--arch", "unet-tiny",
                           "--size", "32x32", "--val-fraction", "0", "--quiet"], capture_output=True, text=True,
                          timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    from unet_core.model.checkpoint import read_metadata

    assert read_metadata(out).classes.names == ("background", "cat", "dog")
    assert IMAGES_CLASSES.names != ("background", "cat", "dog")


def test_a_source_that_fails_part_way_leaves_nothing_behind(tmp_path: Path) -> None:
    root = _photos(tmp_path / "photos", 2)
    labels = tmp_path / "labelme"
    labels.mkdir()
    good = {"imageHeight": 20, "imageWidth": 30, "imagePath": "p0.jpg",
            "shapes": [{"label": "cat", "points": [[1, 1], [9, 1], [9, 9]]}]}
    (labels / "a.json").write_text(json.dumps(good))
    (labels / "b.json").write_text(json.dumps({"imagePath": "p1.jpg", "imageHeight": 20, "imageWidth": 30,
                                               "shapes": ["not a shape"]}))
    with ProjectStore.for_dataset(root) as store:
        with pytest.raises(DataError, match="not an object"):
            import_masks(detect_layout(root), store, labels)
        assert store.imported_stems() == [] and store.load_classes() is None
        assert not list(store.root.glob(".import-*"))
    csv_path = tmp_path / "masks.csv"
    csv_path.write_text("\ufeffimg,rle_mask\np0.jpg,1 5\np1.jpg,1 2 3\n")  # Excel's BOM; a bad second row
    with ProjectStore.for_dataset(root) as store:
        with pytest.raises(DataError, match="pairs"):
            import_masks(detect_layout(root), store, csv_path)
        assert store.imported_stems() == []


def test_a_nameless_category_is_its_id_and_unannotated_images_keep_their_masks(tmp_path: Path) -> None:
    root = write_sample(tmp_path / "g", "carvana", count=2, seed=3, size_hw=(20, 30))
    layout = detect_layout(root)
    names = [p.image.name for p in layout.pairs()[0]]
    doc = {"images": [{"id": 1, "file_name": names[0], "height": 20, "width": 30},
                      {"id": 2, "file_name": names[1], "height": 20, "width": 30}],
           "categories": [{"id": 1}],
           "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "segmentation": [[2, 2, 12, 2, 12, 9, 2, 9]]}]}
    (tmp_path / "c.json").write_text(json.dumps(doc))
    with ProjectStore.for_dataset(root) as store:
        result, after = import_masks(layout, store, tmp_path / "c.json")
        assert result.count == 1 and after.classes == layout.classes and not result.added_classes
        assert store.imported_stems() == [Path(names[0]).stem]  # the second image keeps the dataset's own mask


@pytest.mark.parametrize("segmentation", [[[0, 0, 4e7, 0, 4e7, 4e7, 0, 4e7]], {"counts": [5, -3]},
                                          {"counts": [10**30]}, {"counts": "!!!"}])
def test_hostile_segmentations_are_bounded_or_named(tmp_path: Path, segmentation: object) -> None:
    root = _photos(tmp_path / "photos", 1)
    doc = {"images": [{"id": 1, "file_name": "p0.jpg", "height": 20, "width": 30}],
           "categories": [{"id": 1, "name": "cat"}],
           "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "segmentation": segmentation}]}
    (tmp_path / "c.json").write_text(json.dumps(doc))
    with ProjectStore.for_dataset(root) as store:
        try:
            result, _ = import_masks(detect_layout(root), store, tmp_path / "c.json")
        except DataError as err:
            assert "cannot import" in str(err)
        else:
            assert result.count == 1  # a huge square, clipped to the image: all of it
            assert (read_mask(store.import_path("p0"), MaskFormat.INDEX_PNG) == 1).all()


def test_run_lengths_past_any_image_are_refused() -> None:
    from unet_core.formats.rle import rle_decode

    with pytest.raises(ValueError, match="past"):
        rle_decode("9223372036854775000 9223372036854775000", (4, 5))
    with pytest.raises(ValueError, match="past"):
        rle_decode("3 99999999999", (4, 5))


def test_a_labelme_folder_beside_png_photos_is_labelme(tmp_path: Path) -> None:
    folder = tmp_path / "shots"
    write_image(folder / "a.png", np.zeros((8, 8, 3), np.uint8))
    (folder / "a.json").write_text(json.dumps({"shapes": [], "imagePath": "a.png"}))
    assert detect_import_format(folder) == "labelme"


def test_voc_ids_without_names_grow_a_folder_of_photos_and_coco_colours_are_kept(tmp_path: Path) -> None:
    root = _photos(tmp_path / "photos", 2)
    mask = np.zeros((20, 30), np.uint8)
    mask[2:6, 2:6], mask[10:14, 10:14] = 1, 3
    write_mask(tmp_path / "voc" / "p0.png", mask, MaskFormat.INDEX_PNG)
    with ProjectStore.for_dataset(root) as store:
        result, layout = import_masks(detect_layout(root), store, tmp_path / "voc")
        assert result.count == 1 and not result.skipped  # ids 2 and 3 became classes, not a reason to drop it
        assert layout.classes.names == ("background", "object", "class 2", "class 3")
    other = _photos(tmp_path / "other", 1)
    coco = _coco(tmp_path / "c.json", ["cat", "dog"], {"p0.jpg": (20, 30)})
    doc = json.loads(coco.read_text())
    doc["categories"][0]["color"] = [200, 40, 40]
    coco.write_text(json.dumps(doc))
    with ProjectStore.for_dataset(other) as store:
        _, layout = import_masks(detect_layout(other), store, coco)
    assert layout.classes.colors[1] == (200, 40, 40) and layout.classes.colors[2] not in ((0, 0, 0), (200, 40, 40))


def test_voc_class_names_travel_with_the_masks_and_map_ids_by_name(tmp_path: Path) -> None:
    from unet_core.data.classes import ClassTable
    from unet_core.loop.classes import save_edit

    root = _photos(tmp_path / "photos", 2)
    mask = np.zeros((20, 30), np.uint8)
    mask[2:6, 2:6], mask[10:14, 10:14], mask[0, 0] = 1, 2, 255
    with ProjectStore.for_dataset(root) as store:
        layout = save_edit(detect_layout(root), store, ClassTable(("background", "car", "road"),
                                                                  ((0, 0, 0), (255, 0, 0), (0, 255, 0))))
        store.save_mask("p0", mask)
        export_masks(layout, store, tmp_path / "voc", "voc")
    assert (tmp_path / "voc" / "class_names.txt").read_text() == "background\ncar\nroad\n"
    other = _photos(tmp_path / "other", 1)
    with ProjectStore.for_dataset(other) as store:  # a folder whose table has road first, and a sky
        layout = save_edit(detect_layout(other), store, ClassTable(("background", "road", "sky"),
                                                                   ((0, 0, 0), (0, 255, 0), (0, 0, 255))))
        result, layout = import_masks(layout, store, tmp_path / "voc" / "SegmentationClass")
        assert result.count == 1 and layout.classes.names == ("background", "road", "sky", "car")
        got = read_mask(store.import_path("p0"), MaskFormat.INDEX_PNG)
    expected = np.zeros_like(mask)
    expected[mask == 1], expected[mask == 2], expected[mask == 255] = 3, 1, 255  # car -> 3, road -> 1, void stays
    assert np.array_equal(got, expected)
    (tmp_path / "voc" / "class_names.txt").write_text("background\n\ncar\n")
    with ProjectStore.for_dataset(_photos(tmp_path / "third", 1)) as store, pytest.raises(DataError, match="blank"):
        import_masks(detect_layout(tmp_path / "third"), store, tmp_path / "voc")


def test_voc_background_stays_background_whatever_it_is_called_and_unnamed_ids_are_void(tmp_path: Path) -> None:
    root = _photos(tmp_path / "photos", 1)
    mask = np.zeros((20, 30), np.uint8)
    mask[2:6, 2:6], mask[10:14, 10:14] = 1, 3  # id 3 has no name in the file
    write_mask(tmp_path / "voc" / "SegmentationClass" / "p0.png", mask, MaskFormat.INDEX_PNG)
    (tmp_path / "voc" / "class_names.txt").write_text("soil\nweed\n")
    with ProjectStore.for_dataset(root) as store:
        result, layout = import_masks(detect_layout(root), store, tmp_path / "voc")
        got = read_mask(store.import_path("p0"), MaskFormat.INDEX_PNG)
    assert result.count == 1 and layout.classes.names == ("background", "weed")
    expected = np.zeros_like(mask)
    expected[2:6, 2:6], expected[10:14, 10:14] = 1, 255
    assert np.array_equal(got, expected)
