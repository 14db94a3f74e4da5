"""Classes put in a new order: masks, predictions and models in the store follow, as one change."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from unet_core.data.classes import ClassTable
from unet_core.data.guides import guide_channels
from unet_core.data.io import MaskFormat, write_image, write_mask
from unet_core.data.layouts import detect_layout
from unet_core.loop.classes import project_layout, save_edit
from unet_core.loop.reorder import order_problem, reorder_classes
from unet_core.model.checkpoint import CheckpointMeta, load_checkpoint, read_metadata, save_checkpoint
from unet_core.model.unet import UNetConfig, build_model
from unet_core.store.project import ProjectStore
from unet_core.store.replacement import PREFIX

COLORS = ((0, 0, 0), (255, 0, 0), (0, 200, 0), (0, 0, 255))
THREE = ClassTable(("background", "car", "road"), COLORS[:3])


def _project(tmp_path: Path, interactive: bool = False) -> tuple[Path, np.ndarray]:
    """A folder of images with the classes background, car, road; one correction, one imported mask, one
    cached prediction and two model versions (the second a child of the first)."""
    root = tmp_path / "shots"
    for i in range(3):
        write_image(root / f"f{i}.png", np.full((16, 24, 3), 60 * i, np.uint8))
    mask = np.zeros((16, 24), np.uint8)
    mask[2:6, 2:10], mask[8:14, :] = 1, 2
    mask[0, 0] = 255  # void is no class: it stays
    layout = detect_layout(root)
    with ProjectStore.for_dataset(root) as store:
        save_edit(layout, store, THREE)
        store.save_mask("f0", mask)
        store.save_import("f1", mask)
        torch.manual_seed(0)
        arch = UNetConfig.preset("unet-tiny", 3, guide_channels=guide_channels(3) if interactive else 0)
        meta = CheckpointMeta(arch=arch, classes=THREE, input_size=(16, 24), dataset_kind="images", scale=1.0)
        parent = None
        for _ in range(2):
            version, path = store.new_model_path()
            digest = save_checkpoint(path, build_model(arch), meta)
            store.register_model(version, parent, 0.5, "test")
            meta.parent_hash, parent = digest, version
        store.save_prediction("f2", version, mask, None, 0.1)
    return root, mask


def test_moving_classes_rewrites_masks_predictions_and_models_to_the_new_ids(tmp_path: Path) -> None:
    root, mask = _project(tmp_path)
    with ProjectStore.for_dataset(root) as store:
        versions = store.models()
        before = [load_checkpoint(v.path)[0] for v in versions]
    new = ClassTable(("background", "road", "car"), (COLORS[0], COLORS[2], COLORS[1]))
    with ProjectStore.for_dataset(root) as store:
        layout = reorder_classes(project_layout(detect_layout(root), store), store, new, [0, 2, 1])
        assert layout.classes == new and store.load_classes() == new
        swapped = np.choose(mask.clip(0, 2), [0, 2, 1]).astype(np.uint8)
        swapped[mask == 255] = 255
        np.testing.assert_array_equal(store.load_mask("f0"), swapped)
        from unet_core.store.files import read_png

        np.testing.assert_array_equal(read_png(store.import_path("f1")), swapped)
        labels, _ = store.load_prediction("f2", versions[-1].id)
        np.testing.assert_array_equal(labels, swapped)
        x = torch.randn(1, 3, 16, 24)
        for version, old in zip(versions, before, strict=True):
            model, meta = load_checkpoint(version.path)
            assert meta.classes == new
            with torch.no_grad():
                assert torch.allclose(model(x), old(x)[:, [0, 2, 1]], atol=1e-6)
        _first, second = (read_metadata(v.path) for v in versions)
        from unet_core.model.checkpoint import file_hash

        assert second.parent_hash == file_hash(versions[0].path)  # the lineage follows the rewritten parent
    assert not list((root / ".maskloop").glob(PREFIX + "*"))
    with ProjectStore.for_dataset(root) as store:  # and it is what the folder opens with next time
        assert project_layout(detect_layout(root), store).classes == new


def test_an_interactive_model_keeps_its_clicks_meaning_and_a_class_added_in_between_is_silent(tmp_path: Path) -> None:
    root, _ = _project(tmp_path, interactive=True)
    with ProjectStore.for_dataset(root) as store:
        version = store.current_model()
        old, _ = load_checkpoint(version.path)
        new = ClassTable(("background", "sky", "road", "car"), (COLORS[0], COLORS[3], COLORS[2], COLORS[1]))
        reorder_classes(project_layout(detect_layout(root), store), store, new, [0, None, 2, 1])
        model, meta = load_checkpoint(version.path)
    assert meta.arch.num_classes == 4 and meta.arch.guide_channels == guide_channels(4)
    x = torch.randn(1, 3, 16, 24)
    guide = torch.zeros(1, guide_channels(3), 16, 24)
    guide[:, 0, 2:8, 2:8] = 1.0
    guide[:, 1 + 1, 3:5, 3:5] = 1.0  # a positive click on "car" (old id 1)
    guide[:, 1 + 3 + 2, 10:12, 10:12] = 1.0  # a negative click on "road" (old id 2)
    moved = torch.zeros(1, guide_channels(4), 16, 24)
    moved[:, 0] = guide[:, 0]
    moved[:, 1 + 3] = guide[:, 1 + 1]  # car is class 3 now
    moved[:, 1 + 4 + 2] = guide[:, 1 + 3 + 2]  # road is class 2
    with torch.no_grad():
        before, after = old(x, guide), model(x, moved)
    assert torch.allclose(after[:, [0, 3, 2]], before[:, [0, 1, 2]], atol=1e-5)
    assert (after.argmax(1) != 1).all()  # the class added in between stays silent until trained


def test_a_reorder_stopped_part_way_changes_nothing(tmp_path: Path) -> None:
    root, _mask = _project(tmp_path)
    store_dir = root / ".maskloop"
    files = {p: p.read_bytes() for p in store_dir.rglob("*") if p.is_file() and p.suffix in (".png", ".json",
                                                                                              ".safetensors")}

    def stop(done: int, total: int) -> None:
        if done == 3:
            raise InterruptedError("stopped")

    with ProjectStore.for_dataset(root) as store, pytest.raises(InterruptedError):
        reorder_classes(project_layout(detect_layout(root), store), store,
                        ClassTable(("background", "road", "car"), COLORS[:3]), [0, 2, 1], progress=stop)
    assert {p: p.read_bytes() for p in files} == files
    assert not list(store_dir.glob(PREFIX + "*"))


def test_a_committed_change_killed_before_it_finished_is_finished_when_the_store_opens(tmp_path: Path) -> None:
    root, _mask = _project(tmp_path)
    with ProjectStore.for_dataset(root) as store:
        change = store.replacement()
        change.stage(store.mask_path("f0"), b"new mask bytes")
        change.stage(store.class_table_path(), b"{}\n")
        import json

        (change.folder / "plan.json").write_text(json.dumps({"targets": ["corrections/f0.png", "classes.json"]}))
        (change.folder / "0").replace(store.mask_path("f0"))  # one file moved, then the process died
        uncommitted = store.replacement()
        uncommitted.stage(store.mask_path("f1"), b"never committed")
    with ProjectStore.for_dataset(root) as store:
        assert store.mask_path("f0").read_bytes() == b"new mask bytes"
        assert store.class_table_path().read_bytes() == b"{}\n"
        assert not store.mask_path("f1").exists()
    assert not list((root / ".maskloop").glob(PREFIX + "*"))


def test_orders_that_would_lose_or_confuse_classes_are_refused() -> None:
    new = ClassTable(("background", "road", "car"), COLORS[:3])
    assert order_problem(THREE, new, [0, 2, 1]) == ""
    assert "cannot be removed" in order_problem(THREE, new, [0, 2, None])
    assert "stays first" in order_problem(THREE, ClassTable(("car", "background", "road"), COLORS[:3]), [1, 0, 2])
    assert "same name" in order_problem(THREE, ClassTable(("background", "car", "Car"), COLORS[:3]), [0, 2, 1])
    assert "names 2 classes" in order_problem(THREE, new, [0, 2])


def test_a_folder_whose_own_masks_store_ids_cannot_move_its_classes(tmp_path: Path) -> None:
    root = tmp_path / "data"
    write_image(root / "images" / "a.png", np.zeros((8, 8, 3), np.uint8))
    write_mask(root / "masks" / "a.png", np.ones((8, 8), np.uint8), MaskFormat.INDEX_PNG)
    layout = detect_layout(root)
    with ProjectStore.for_dataset(root) as store:
        layout = save_edit(layout, store, ClassTable(("background", "car"), COLORS[:2]))
        with pytest.raises(ValueError, match="never rewrites a dataset's own files"):
            reorder_classes(layout, store, ClassTable(("background", "car", "road"), COLORS[:3]), [0, None, 1])
        grown = reorder_classes(layout, store, ClassTable(("background", "car", "road"), COLORS[:3]), [0, 1, None])
        assert grown.classes.names == ("background", "car", "road")  # adding at the end is still fine


@pytest.mark.parametrize("plan", [
    {"targets": ["/tmp/PLACEHOLDER"]},  # an absolute path: out of the store
    {"targets": ["../outside.txt"]},
    {"targets": ["state.sqlite3"]},  # in the store, but not a file a replacement rewrites
    {"targets": 5},
    {"targets": None},
    ["not", "an", "object"],
])
def test_a_plan_that_is_not_ours_writes_nothing_and_the_store_still_opens(tmp_path: Path, plan: object) -> None:
    import json

    root, _ = _project(tmp_path)
    victim = tmp_path / "victim.txt"
    victim.write_text("mine")
    (tmp_path / "outside.txt").write_text("mine")
    store_dir = root / ".maskloop"
    state_before = (store_dir / "state.sqlite3").read_bytes()
    if isinstance(plan, dict) and isinstance(plan["targets"], list):
        plan = {"targets": [str(victim) if t == "/tmp/PLACEHOLDER" else t for t in plan["targets"]]}
    hostile = store_dir / (PREFIX + "x")
    hostile.mkdir()
    (hostile / "0").write_text("PWNED")
    (hostile / "plan.json").write_text(json.dumps(plan))
    with ProjectStore.for_dataset(root) as store:
        assert store.load_classes() == THREE
    assert victim.read_text() == "mine" and (tmp_path / "outside.txt").read_text() == "mine"
    assert (store_dir / "state.sqlite3").read_bytes() == state_before
    assert not hostile.exists()


def test_a_plan_through_a_linked_folder_is_not_followed(tmp_path: Path) -> None:
    import json

    root, _ = _project(tmp_path)
    store_dir = root / ".maskloop"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "f0.png").write_text("mine")
    (store_dir / "imported").rename(store_dir / "imported-real")
    (store_dir / "imported").symlink_to(elsewhere)
    hostile = store_dir / (PREFIX + "y")
    hostile.mkdir()
    (hostile / "0").write_text("PWNED")
    (hostile / "plan.json").write_text(json.dumps({"targets": ["imported/f0.png"]}))
    with ProjectStore.for_dataset(root):
        pass
    assert (elsewhere / "f0.png").read_text() == "mine"


def test_versions_are_rewritten_parents_first_whatever_order_they_were_registered_in() -> None:
    from unet_core.loop.reorder import parents_first
    from unet_core.store.state import ModelVersion

    def v(name: str, parent: str | None) -> ModelVersion:
        return ModelVersion(name, Path(name), parent, 0.0, None, "")

    got = [m.id for m in parents_first([v("c", "b"), v("a", None), v("b", "a"), v("d", "gone")])]
    assert got == ["a", "b", "c", "d"]
