"""Write failures (full disk, read-only folders) on outputs: one line naming the file, nothing half-written."""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.unit.fault_helpers import deny_writes_under, fill_disk, temp_files
from unet_core.errors import MaskloopError, WriteError
from unet_core.fsutil import append_text, atomic_write_bytes
from unet_core.store.project import ProjectStore, StoreError


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ProjectStore]:
    s = ProjectStore(tmp_path / "ds" / ".maskloop")
    yield s
    s.close()


def _one_line_naming(err: BaseException, path: Path) -> None:
    text = str(err)
    assert "\n" not in text and str(path) in text, text


def test_atomic_write_on_a_full_disk_names_the_file_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "out" / "model.safetensors"
    atomic_write_bytes(target, b"old contents")
    fill_disk(monkeypatch)
    with pytest.raises(WriteError) as info:
        atomic_write_bytes(target, b"new" * 1000)
    monkeypatch.undo()
    assert isinstance(info.value, MaskloopError) and isinstance(info.value, OSError)
    assert info.value.errno == errno.ENOSPC and "disk is full" in str(info.value)
    _one_line_naming(info.value, target)
    assert target.read_bytes() == b"old contents" and temp_files(tmp_path) == []


@pytest.mark.parametrize("code", [errno.EACCES, errno.EROFS])
def test_atomic_write_in_a_read_only_folder_names_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    deny_writes_under(monkeypatch, folder, code)
    for target in (folder / "a.png", folder / "sub" / "b.png"):  # the file, and a folder to create
        with pytest.raises(WriteError) as info:
            atomic_write_bytes(target, b"x")
        _one_line_naming(info.value, target)
        assert "read-only" in str(info.value)
    monkeypatch.undo()
    assert list(folder.iterdir()) == []


def test_append_text_failures_name_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "logs" / "metrics.jsonl"
    append_text(log, "one\n")
    append_text(log, "two\n")
    assert log.read_text() == "one\ntwo\n"
    fill_disk(monkeypatch, tmp_path)
    with pytest.raises(WriteError) as info:
        append_text(log, "three\n")
    _one_line_naming(info.value, log)


def test_store_mask_and_prediction_on_a_full_disk(store: ProjectStore, monkeypatch: pytest.MonkeyPatch) -> None:
    old = np.full((8, 8), 3, np.uint8)
    store.save_mask("img", old)
    fill_disk(monkeypatch, store.root)
    with pytest.raises(StoreError) as info:
        store.save_mask("img", np.zeros((8, 8), np.uint8))
    _one_line_naming(info.value, store.mask_path("img"))
    assert "disk is full" in str(info.value)
    with pytest.raises(StoreError) as info:
        store.save_prediction("img", "v0001", np.zeros((8, 8), np.uint8), np.zeros((8, 8), np.float32), 0.5)
    assert "\n" not in str(info.value) and str(store.root / "predictions") in str(info.value)
    monkeypatch.undo()
    np.testing.assert_array_equal(store.load_mask("img"), old)
    assert temp_files(store.root) == [] and not store.has_prediction("img", "v0001")


def test_store_mask_in_a_read_only_store_folder(store: ProjectStore, monkeypatch: pytest.MonkeyPatch) -> None:
    deny_writes_under(monkeypatch, store.root / "corrections", errno.EROFS)
    with pytest.raises(StoreError) as info:
        store.save_mask("img", np.zeros((8, 8), np.uint8))
    _one_line_naming(info.value, store.mask_path("img"))


def test_full_state_database_is_a_store_error_naming_it(store: ProjectStore) -> None:
    """SQLite rolls the transaction back itself on SQLITE_FULL; that must not turn into a raw
    ``sqlite3.OperationalError`` ('cannot rollback - no transaction is active')."""
    db_path = store.root / ProjectStore.STATE_DB_NAME
    store.update_state("first", status="corrected")
    conn = store._db._conn
    assert conn is not None
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages}")  # the database file cannot grow: a full disk
    with pytest.raises(StoreError) as info:
        for i in range(500):
            store.update_state(f"stem_{i:04d}_" + "x" * 100, status="corrected", error="e" * 300)
    _one_line_naming(info.value, db_path)
    assert "full" in str(info.value)
    with pytest.raises(StoreError):
        store.update_states({f"batch_{i}_" + "y" * 200: {"error": "z" * 400} for i in range(200)})
    with pytest.raises(StoreError):
        for _ in range(100):
            store.new_model_path()
            store.update_state("bulk_" + "w" * 300 + str(_), error="q" * 400)
    conn.execute("PRAGMA max_page_count = 1073741823")  # space again: the store still works
    assert store.update_state("after", status="reviewed").status.value == "reviewed"
    assert store.state("first").status.value == "corrected"


def test_read_only_state_database_is_a_store_error_naming_it(store: ProjectStore) -> None:
    db_path = store.root / ProjectStore.STATE_DB_NAME
    store.update_state("first", status="corrected")
    store._db._conn.close()  # type: ignore[union-attr]
    store._db._conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, isolation_level=None,
                                      check_same_thread=False)
    for write in (lambda: store.update_state("x", status="corrected"), lambda: store.add_edit("x", 1.0, 1, 1),
                  store.new_model_path):
        with pytest.raises(StoreError) as info:
            write()
        _one_line_naming(info.value, db_path)
    assert store.state("first").status.value == "corrected"


def test_model_version_written_to_a_full_disk(store: ProjectStore, monkeypatch: pytest.MonkeyPatch) -> None:
    from unet_core.data.classes import ClassTable
    from unet_core.model.checkpoint import CheckpointMeta, save_checkpoint
    from unet_core.model.unet import UNetConfig, build_model

    arch = UNetConfig(num_classes=2, base_width=4, depth=2)
    meta = CheckpointMeta(arch=arch, classes=ClassTable(("a", "b"), ((0, 0, 0), (255, 0, 0))), input_size=(32, 32))
    _, path = store.new_model_path()
    fill_disk(monkeypatch, store.root)
    with pytest.raises(WriteError) as info:
        save_checkpoint(path, build_model(arch), meta)
    monkeypatch.undo()
    _one_line_naming(info.value, path)
    assert not path.exists() and temp_files(store.root) == []


def test_damaged_or_oversized_store_pngs_are_store_errors(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    """A store travels with its dataset: its PNGs get the checks any image gets (no bomb, no libpng output)."""
    from tests.bad_files import png_bomb
    from unet_core.store.project import ProjectStore

    with ProjectStore(tmp_path / "store") as store:
        store.save_mask("a", np.ones((8, 8), np.uint8))
        path = store.root / "corrections" / "a.png"
        data = bytearray(path.read_bytes())
        data[data.index(b"IDAT") + 6] ^= 0xFF
        path.write_bytes(bytes(data))
        with pytest.raises(StoreError, match="IDAT chunk fails its checksum"):
            store.load_mask("a")
        png_bomb(path, 12000, 12000)
        with pytest.raises(StoreError, match="over the pixel limit"):
            store.load_mask("a")
    assert capfd.readouterr().err == ""
