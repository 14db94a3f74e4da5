"""Runs in the store: a version number is taken only for a kept, valid run; nothing of a run is left."""

from __future__ import annotations

from pathlib import Path

import pytest

from unet_core.data.classes import CARVANA_CLASSES
from unet_core.errors import CheckpointError
from unet_core.loop.runs import adopt_run, new_run_path, remove_run
from unet_core.model.checkpoint import CheckpointMeta, save_checkpoint
from unet_core.model.unet import UNetConfig, build_model
from unet_core.store.project import ProjectStore
from unet_core.training.resume import last_path_for


def test_a_valid_run_becomes_the_next_version_and_a_broken_one_takes_no_number(tmp_path: Path) -> None:
    arch = UNetConfig(base_width=2, depth=1)
    with ProjectStore(tmp_path / "store") as store:
        broken = new_run_path(store)
        broken.write_bytes(b"not a checkpoint")
        with pytest.raises(CheckpointError):
            adopt_run(store, broken, None, 0.5, "broken")
        assert store.models() == []
        run = new_run_path(store)
        assert run.parent == store.models_dir() and run != broken
        save_checkpoint(run, build_model(arch), CheckpointMeta(arch=arch, classes=CARVANA_CLASSES, input_size=(32, 48)))
        last_path_for(run).write_bytes(b"resume state")
        version, path = adopt_run(store, run, None, 0.7, "kept")
        assert version == "v0001" and path.exists() and not run.exists()
        assert store.current_model().id == "v0001"
        remove_run(run)
        remove_run(broken)
        assert sorted(p.name for p in store.models_dir().iterdir()) == ["v0001.safetensors"]


def test_runs_left_by_a_killed_session_are_removed_by_the_next_writer(tmp_path: Path) -> None:
    from unet_core.loop.runs import remove_orphan_runs

    with ProjectStore(tmp_path / "store") as store:
        run = new_run_path(store)
        run.write_bytes(b"half a run")
        last_path_for(run).write_bytes(b"state")
        (store.models_dir() / "v0001.safetensors").write_bytes(b"a version: kept")
        with ProjectStore(tmp_path / "store") as reader:
            assert reader.read_only and remove_orphan_runs(reader) == 0 and run.exists()
        assert remove_orphan_runs(store) == 1
        assert sorted(p.name for p in store.models_dir().iterdir()) == ["v0001.safetensors"]


def test_a_model_file_is_imported_one_way(tmp_path: Path) -> None:
    from unet_core.errors import DataError
    from unet_core.loop.runs import import_model_file

    arch = UNetConfig(base_width=2, depth=1)
    model_file = tmp_path / "m.safetensors"
    save_checkpoint(model_file, build_model(arch),
                    CheckpointMeta(arch=arch, classes=CARVANA_CLASSES, input_size=(32, 48)))
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"nope")
    with ProjectStore(tmp_path / "store") as store:
        with pytest.raises(CheckpointError):
            import_model_file(store, bad, 2)
        with pytest.raises(DataError, match="predicts 2 classes; the data has 23"):
            import_model_file(store, model_file, 23)
        assert store.models() == []
        assert import_model_file(store, model_file, 2)[::2] == ("v0001", False)
        assert import_model_file(store, model_file, None)[::2] == ("v0001", True)  # the same file: reused
        assert [m.id for m in store.models()] == ["v0001"]
