"""Model files in the app: Save Model As never replaces a dataset file; a read-only window switches versions
for itself without writing the store."""

from __future__ import annotations

import shutil
from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from tests.gui.app_helpers import make_window, wait_for
from tests.tree_hash import tree_hashes
from unet_core.checkpoint import load_checkpoint, save_checkpoint
from unet_core.store import ProjectStore


def test_save_model_as_never_replaces_a_dataset_image(qtbot, tmp_path: Path, carvana_dir: Path,  # type: ignore[no-untyped-def]
                                                      tiny_model: Path, monkeypatch) -> None:
    data = Path(shutil.copytree(carvana_dir, tmp_path / "data"))
    w = make_window(qtbot, tmp_path)
    assert w.open_folder(data) and w.open_model(tiny_model)
    wait_for(qtbot, lambda: w.ws.model.path is not None)
    before = tree_hashes(data)
    image = sorted((data / "train").iterdir())[0]
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(image), ""))
    w.save_model_as()
    assert tree_hashes(data) == before
    assert "image or mask folder" in w.status.currentMessage()
    elsewhere = tmp_path / "kept.safetensors"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(elsewhere), ""))
    w.save_model_as()
    assert load_checkpoint(elsewhere)[1].classes == load_checkpoint(tiny_model)[1].classes


def test_a_read_only_window_switches_versions_for_itself(qtbot, tmp_path: Path, carvana_dir: Path,  # type: ignore[no-untyped-def]
                                                         tiny_model: Path) -> None:
    data = Path(shutil.copytree(carvana_dir, tmp_path / "data"))
    model, meta = load_checkpoint(tiny_model)
    meta.training = {**meta.training, "note": "second"}
    second = tmp_path / "second.safetensors"
    save_checkpoint(second, model, meta)
    a = make_window(qtbot, tmp_path / "a")
    assert a.open_folder(data) and a.open_model(tiny_model) and a.open_model(second)
    wait_for(qtbot, lambda: a.ws.model.version == "v0002")
    b = make_window(qtbot, tmp_path / "b")
    assert b.open_folder(data) and b.ws.read_only
    wait_for(qtbot, lambda: b.ws.model.version == "v0002")
    assert b.ws.model.set_version("v0001")
    wait_for(qtbot, lambda: b.ws.model.version == "v0001")
    assert a.ws.store.current_model().id == "v0002"  # the writer's choice is untouched
    a.close()
    b.close()
    with ProjectStore(data / ".maskloop", read_only=True) as store:
        assert store.current_model().id == "v0002"
