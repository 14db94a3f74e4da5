"""Model files in the app: Save Model As never replaces a dataset file; a read-only window switches versions
for itself without writing the store."""

from __future__ import annotations

import shutil
from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from tests.gui.app_helpers import make_window, wait_for
from tests.tree_hash import tree_hashes
from unet_core.model.checkpoint import load_checkpoint, save_checkpoint
from unet_core.store.project import ProjectStore


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


def test_no_other_folder_opens_while_training_runs(qtbot, tmp_path: Path, carvana_dir: Path,  # type: ignore[no-untyped-def]
                                                   monkeypatch) -> None:
    data = Path(shutil.copytree(carvana_dir, tmp_path / "data"))
    other = Path(shutil.copytree(carvana_dir, tmp_path / "other"))
    w = make_window(qtbot, tmp_path)
    assert w.open_folder(data)
    monkeypatch.setattr(w.train_ctl, "is_running", lambda: True)
    assert not w.open_folder(other)
    assert w.ws.layout.root in (data, data.resolve())
    assert "Training is running" in w.status.currentMessage()


def test_a_trained_model_that_cannot_be_stored_is_one_message(qtbot, tmp_path: Path, carvana_dir: Path,  # type: ignore[no-untyped-def]
                                                              tiny_model: Path, monkeypatch) -> None:
    from PySide6.QtCore import Qt

    from app.panels.train_form import TrainSettings
    from tests.gui.app_helpers import window_with_model
    from unet_core.errors import WriteError

    data = Path(shutil.copytree(carvana_dir, tmp_path / "data"))
    w = window_with_model(qtbot, tmp_path, data, tiny_model)
    problems: list[str] = []
    w.ws.problem.connect(problems.append)
    w.train_ctl._ask = lambda *a: True

    def full_disk(*a, **k):  # type: ignore[no-untyped-def]
        raise WriteError("cannot write: the disk is full", w.ws.store.models_dir() / "v0002.safetensors")

    monkeypatch.setattr(w.ws.model, "register_trained", full_disk)
    w.training.forms["scratch"].set_values(TrainSettings("scratch", None, 1, (32, 48), 1e-3, "cpu", 0.3, "unet-tiny"))
    w.train_ctl.refresh_availability()
    with qtbot.waitSignal(w.train_ctl.runFinished, timeout=120000):
        qtbot.mouseClick(w.training.train_button, Qt.MouseButton.LeftButton)
    assert any("could not be stored" in p and "disk is full" in p and "\n" not in p for p in problems), problems
    assert not w.training.is_busy() and w.train_ctl.worker is None
    assert [m.id for m in w.ws.store.models()] == ["v0001"]


def test_a_reopened_image_starts_from_its_cached_prediction(qtbot, tmp_path: Path, carvana_dir: Path,  # type: ignore[no-untyped-def]
                                                            tiny_model: Path) -> None:
    """At launch the first image opens before the model is ready (its working mask is the dataset's);
    when the model comes, a prediction cached by an earlier session must still replace it."""
    import numpy as np

    data = Path(shutil.copytree(carvana_dir, tmp_path / "data"))
    a = make_window(qtbot, tmp_path / "a")
    assert a.open_folder(data) and a.open_model(tiny_model)
    wait_for(qtbot, lambda: a.ws.current is not None and a.ws.model.labels(a.ws.current) is not None)
    row = a.ws.current
    prediction = a.ws.model.labels(row).copy()
    assert not np.array_equal(prediction, a.ws.loaded.original_mask)
    a.close()
    b = make_window(qtbot, tmp_path / "b")
    assert b.open_folder(data)
    wait_for(qtbot, lambda: b.ws.model.predictor is not None and b.ws.current == row)
    wait_for(qtbot, lambda: np.array_equal(b.ws.working_mask(), prediction))
    assert b.ws.records[row].status != "corrected"


def test_a_read_only_dataset_says_where_edits_are_kept(qtbot, tmp_path: Path, carvana_dir: Path,  # type: ignore[no-untyped-def]
                                                       monkeypatch) -> None:
    import os

    data = Path(shutil.copytree(carvana_dir, tmp_path / "data"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "user"))
    os.chmod(data, 0o555)  # no write bits: treated as read-only even for root
    try:
        w = make_window(qtbot, tmp_path)
        assert w.open_folder(data)
        assert not (data / ".maskloop").exists()
        assert w.status.store_place.isVisible()
        assert str(w.ws.store.root) in w.status.store_place.toolTip()
        w.close()
    finally:
        os.chmod(data, 0o755)
