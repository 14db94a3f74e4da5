"""Tests of the project store: masks, predictions, state, model versions, export, concurrency, crashes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from unet_core.errors import MaskloopError
from unet_core.store.project import FORMAT_VERSION, ImageState, ImageStatus, ProjectStore, StoreError


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ProjectStore]:
    s = ProjectStore(tmp_path / "ds" / ".maskloop")
    yield s
    s.close()


def _mask(h: int = 24, w: int = 32, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 23, size=(h, w), dtype=np.uint8)


def _run_children(code: str, args: list[list[str]], timeout: float = 60.0) -> list[str]:
    """Run ``code`` in one Python process per argument list, released together; return their stdouts."""
    go = Path(args[0][0]).parent / f"go-{time.time_ns()}"
    prelude = f"import os, sys, time\nfrom pathlib import Path\nwhile not os.path.exists({str(go)!r}):\n"
    script = prelude + "    time.sleep(0.005)\n" + textwrap.dedent(code)
    procs = [subprocess.Popen([sys.executable, "-c", script, *a],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for a in args]
    time.sleep(0.2)
    go.touch()
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=timeout)
        assert p.returncode == 0, err
        outs.append(out)
    return outs


# ---- masks ---------------------------------------------------------------------------------------
def test_mask_round_trip_is_single_channel_index_png(store: ProjectStore) -> None:
    mask = _mask()
    assert store.load_mask("car_01") is None and not store.has_mask("car_01")
    store.save_mask("car_01", mask)
    store.save_mask("0002", np.zeros((5, 7), np.uint8))
    assert store.has_mask("car_01")
    np.testing.assert_array_equal(store.load_mask("car_01"), mask)
    assert store.mask_path("car_01") == store.root / "corrections" / "car_01.png"
    on_disk = cv2.imread(str(store.mask_path("car_01")), cv2.IMREAD_UNCHANGED)
    assert on_disk.ndim == 2 and on_disk.dtype == np.uint8
    np.testing.assert_array_equal(on_disk, mask)
    assert store.corrected_stems() == ["0002", "car_01"]
    store.delete_mask("car_01")
    store.delete_mask("car_01")  # absent: no-op
    assert store.corrected_stems() == ["0002"] and store.load_mask("car_01") is None


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((4, 4, 3), np.uint8),
        np.zeros((4, 4), np.int32),
        np.zeros((4, 4), np.float32),
        np.zeros(4, np.uint8),
        np.zeros((0, 4), np.uint8),
        [[0, 1], [1, 0]],
    ],
)
def test_bad_masks_raise_value_error_and_write_nothing(store: ProjectStore, bad: object) -> None:
    old = _mask(seed=3)
    store.save_mask("a", old)
    before = store.mask_path("a").read_bytes()
    with pytest.raises(ValueError):
        store.save_mask("a", bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        store.save_mask("b", bad)  # type: ignore[arg-type]
    assert store.mask_path("a").read_bytes() == before
    assert sorted(os.listdir(store.root / "corrections")) == ["a.png"]


@pytest.mark.parametrize("stem", ["", "..", "../evil", "a/b", "a\\b", "x\0y"])
def test_unsafe_stems_are_refused(store: ProjectStore, stem: str) -> None:
    with pytest.raises(ValueError):
        store.save_mask(stem, _mask())
    with pytest.raises(ValueError):
        store.update_state(stem, status="corrected")
    assert os.listdir(store.root / "corrections") == []
    assert store.states() == {}


def test_corrupt_mask_file_raises_store_error_naming_it(store: ProjectStore) -> None:
    store.mask_path("bad").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    with pytest.raises(StoreError) as info:
        store.load_mask("bad")
    assert str(store.mask_path("bad")) in str(info.value) and "\n" not in str(info.value)
    assert isinstance(info.value, MaskloopError)
    cv2.imwrite(str(store.mask_path("rgb")), np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(StoreError, match=r"rgb\.png"):
        store.load_mask("rgb")


@pytest.mark.parametrize("failing", ["replace", "fsync"])
def test_failed_write_keeps_old_mask_and_leaves_no_temp(
    store: ProjectStore, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    old = _mask(seed=1)
    store.save_mask("img", old)

    def boom(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, failing, boom)
    with pytest.raises(StoreError, match=r"img\.png"):
        store.save_mask("img", _mask(seed=2))
    monkeypatch.undo()
    np.testing.assert_array_equal(store.load_mask("img"), old)
    assert os.listdir(store.root / "corrections") == ["img.png"]


def test_process_killed_mid_save_leaves_old_mask(store: ProjectStore) -> None:
    old = _mask(seed=4)
    store.save_mask("img", old)
    store.close()  # the child is the writer now
    code = """
        import numpy as np
        from unet_core.store.project import ProjectStore
        s = ProjectStore(Path(sys.argv[1]))
        os.replace = lambda *a, **k: os._exit(9)  # killed between temp write and rename
        s.save_mask("img", np.full((24, 32), 7, np.uint8))
    """
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import os, sys\nfrom pathlib import Path\n" + textwrap.dedent(code),
            str(store.root),
        ],
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == 9
    temps = [n for n in os.listdir(store.root / "corrections") if n.endswith(".tmp")]
    assert len(temps) == 1
    leftover = store.root / "corrections" / temps[0]
    with ProjectStore(store.root) as holder, ProjectStore(store.root) as reader:
        assert reader.read_only and not leftover.exists()  # the lock's holder knows no one else writes
        np.testing.assert_array_equal(reader.load_mask("img"), old)
        assert holder.corrected_stems() == ["img"]


# ---- predictions ---------------------------------------------------------------------------------
def test_prediction_cache_round_trip_and_state(store: ProjectStore) -> None:
    labels = _mask(seed=5)
    unc = np.linspace(0, 1, labels.size, dtype=np.float32).reshape(labels.shape)
    assert store.load_prediction("p", "v0001") is None and not store.has_prediction("p", "v0001")
    store.save_prediction("p", "v0001", labels, unc, 0.25)
    assert store.has_prediction("p", "v0001") and not store.has_prediction("p", "v0002")
    got_labels, got_unc = store.load_prediction("p", "v0001")
    np.testing.assert_array_equal(got_labels, labels)
    assert got_unc.dtype == np.float32 and np.abs(got_unc - unc).max() <= 0.5 / 255 + 1e-6
    assert (store.root / "predictions" / "v0001" / "p_unc.png").is_file()
    state = store.state("p")
    assert (state.status, state.model_version, state.uncertainty) == (ImageStatus.PREDICTED, "v0001", 0.25)
    store.save_prediction("p", "v0002", labels, None, 0.5)
    assert store.load_prediction("p", "v0002")[1] is None
    assert store.state("p").model_version == "v0002"
    # a corrected image keeps the version it was corrected from; only the score is refreshed
    store.update_state("p", status=ImageStatus.CORRECTED)
    store.save_prediction("p", "v0003", labels, None, 0.75)
    state = store.state("p")
    assert (state.status, state.model_version, state.uncertainty) == (ImageStatus.CORRECTED, "v0002", 0.75)


def test_bad_prediction_inputs_write_nothing(store: ProjectStore) -> None:
    labels = _mask()
    with pytest.raises(ValueError):
        store.save_prediction("p", "v1", labels.astype(np.int64), None, 0.1)
    with pytest.raises(ValueError):
        store.save_prediction("p", "v1", labels, np.zeros((3, 3), np.float32), 0.1)
    with pytest.raises(ValueError):
        store.save_prediction("p", "v1", labels, np.zeros(labels.shape, np.int16), 0.1)
    with pytest.raises(ValueError):
        store.save_prediction("p", "../v1", labels, None, 0.1)
    assert os.listdir(store.root / "predictions") == [] and store.states() == {}


# ---- state ---------------------------------------------------------------------------------------
def test_state_update_read_and_persistence(tmp_path: Path) -> None:
    root = tmp_path / "store"
    with ProjectStore(root) as store:
        default = store.state("x")
        assert default == ImageState("x") and default.status is ImageStatus.UNLABELLED
        first = store.update_state("x", status="predicted", model_version="v0001", uncertainty=0.3)
        assert first.status is ImageStatus.PREDICTED and first.created > 0
        time.sleep(0.01)
        second = store.update_state("x", status=ImageStatus.CORRECTED, error=None)
        assert second.updated > first.updated and second.created == first.created
        assert (second.model_version, second.uncertainty) == ("v0001", 0.3)
        edited = store.add_edit("x", 1.5, 120, 2)
        edited = store.add_edit("x", 0.5, 30, 1)
        assert (edited.edit_seconds, edited.pixels_changed, edited.strokes) == (2.0, 150, 3)
        store.update_state("bad", error="cannot read image: bad.jpg")
        with pytest.raises(ValueError, match="colour"):
            store.update_state("x", colour="red")
        with pytest.raises(ValueError):
            store.update_state("x", status="done")
        with pytest.raises(ValueError):
            store.update_state("x", strokes=-1)
        with pytest.raises(ValueError):
            store.add_edit("x", -1.0, 0, 0)
        with pytest.raises(ValueError):
            store.update_state("x", created=0.0)
    with ProjectStore(root) as again:
        states = again.states()
        assert set(states) == {"x", "bad"}
        assert states["x"].status is ImageStatus.CORRECTED and states["x"].pixels_changed == 150
        assert states["bad"].error == "cannot read image: bad.jpg"
    with pytest.raises(StoreError, match="closed"):
        again.state("x")


def test_states_of_5000_images_is_one_query(store: ProjectStore) -> None:
    store.update_states(
        {f"img_{i:05d}": {"uncertainty": i / 5000, "status": "predicted"} for i in range(5000)}
    )
    statements: list[str] = []
    store._db._conn.set_trace_callback(statements.append)  # type: ignore[union-attr]
    states = store.states()
    store._db._conn.set_trace_callback(None)  # type: ignore[union-attr]
    assert len(states) == 5000 and states["img_04999"].uncertainty == pytest.approx(0.9998)
    assert len(statements) == 1 and statements[0].startswith("SELECT")
    with pytest.raises(ValueError):  # all-or-nothing: one bad entry writes nothing
        store.update_states({"new_a": {"strokes": 1}, "new_b": {"nope": 1}})
    assert "new_a" not in store.states()


def test_two_threads_on_one_store_do_not_lose_updates(tmp_path: Path) -> None:
    """The app's autosave thread and GUI thread share one store (a second store would be read-only:
    tests/unit/test_store_lock.py)."""
    root = tmp_path / "shared"
    a = ProjectStore(root)
    b = ProjectStore(root, read_only=True)

    def work(s: ProjectStore, prefix: str) -> None:
        for i in range(40):
            s.add_edit("common", 1.0, 1, 1)
            s.update_state(f"{prefix}{i}", status="corrected", pixels_changed=i)

    threads = [threading.Thread(target=work, args=(a, "a")), threading.Thread(target=work, args=(a, "b"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    states = a.states()
    assert states == b.states() and len(states) == 81
    assert (states["common"].strokes, states["common"].edit_seconds) == (80, 80.0)
    assert states["b39"].pixels_changed == 39 and states["a0"].status is ImageStatus.CORRECTED
    a.close()
    b.close()


def test_two_processes_add_edits_exactly(tmp_path: Path) -> None:
    """Only one store writes a folder, but where the file system cannot lock (store_lock falls back to
    no lock) the state database itself still never loses an update between processes."""
    root = tmp_path / "store"
    ProjectStore(root).close()
    code = """
        from unet_core.store.state import StateDB
        db = StateDB(Path(sys.argv[1]) / "state.sqlite3", Path(sys.argv[1]) / "models")
        for i in range(50):
            db.add_edit("shared", 0.5, 10, 1)
            db.update(f"{sys.argv[2]}_{i}", {"status": "reviewed"})
        db.close()
    """
    _run_children(code, [[str(root), "p1"], [str(root), "p2"]])
    with ProjectStore(root) as s:
        states = s.states()
    shared = states["shared"]
    assert (shared.strokes, shared.pixels_changed, shared.edit_seconds) == (100, 1000, 50.0)
    assert len(states) == 101 and all(
        states[f"p{k}_{i}"].status is ImageStatus.REVIEWED for k in (1, 2) for i in range(50)
    )


# ---- model versions ------------------------------------------------------------------------------
def test_model_ids_unique_across_processes(tmp_path: Path) -> None:
    root = tmp_path / "store"
    ProjectStore(root).close()
    code = """
        from unet_core.store.state import StateDB
        db = StateDB(Path(sys.argv[1]) / "state.sqlite3", Path(sys.argv[1]) / "models")
        print(" ".join(db.reserve_model() for _ in range(15)))
    """
    outs = _run_children(code, [[str(root)], [str(root)]])
    ids = [vid for out in outs for vid in out.split()]
    assert len(ids) == 30 and len(set(ids)) == 30
    assert sorted(ids) == [f"v{i:04d}" for i in range(1, 31)]


def test_register_current_and_rollback(tmp_path: Path) -> None:
    root = tmp_path / "store"
    with ProjectStore(root) as store:
        assert store.models() == [] and store.current_model() is None
        v1, p1 = store.new_model_path()
        assert (v1, p1) == ("v0001", store.models_dir() / "v0001.safetensors")
        with pytest.raises(StoreError, match=r"v0001\.safetensors"):
            store.register_model(v1, None, 0.8, "from scratch")  # weights not written yet
        p1.write_bytes(b"weights-1")
        m1 = store.register_model(v1, None, 0.8, "from scratch")
        assert store.current_model() == m1 and m1.path == p1
        v2, p2 = store.new_model_path()
        p2.write_bytes(b"weights-2")
        with pytest.raises(ValueError, match="parent"):
            store.register_model(v2, "v0099", 0.7, "x")
        m2 = store.register_model(v2, v1, 0.75, "fine-tune on 12 corrections")
        with pytest.raises(ValueError, match="already"):
            store.register_model(v2, v1, 0.75, "again")
        assert [m.id for m in store.models()] == ["v0001", "v0002"]
        assert store.current_model() == m2 and m2.parent == "v0001" and m2.note.startswith("fine-tune")
        store.set_current_model(v1)  # rollback
        assert store.current_model().id == "v0001"
        with pytest.raises(ValueError):
            store.set_current_model("v0042")
        v3, p3 = store.new_model_path()
        p3.write_bytes(b"w3")
        store.register_model(v3, v1, 0.6, "worse", make_current=False)
        assert store.current_model().id == "v0001"
    with ProjectStore(root) as again:
        assert again.current_model().id == "v0001" and len(again.models()) == 3
        p3.unlink()
        with pytest.raises(StoreError, match=r"v0003\.safetensors"):
            again.set_current_model("v0003")


# ---- opening, fallback, metadata -----------------------------------------------------------------
def test_for_dataset_uses_dot_maskloop_and_records_dataset(tmp_path: Path) -> None:
    dataset = tmp_path / "carvana"
    dataset.mkdir()
    with ProjectStore.for_dataset(dataset) as store:
        assert store.root == dataset / ".maskloop"
        meta = json.loads((store.root / "store.json").read_text())
        assert meta["format"] == FORMAT_VERSION and meta["dataset"] == str(dataset)
    with pytest.raises(StoreError, match="missing"):
        ProjectStore.for_dataset(tmp_path / "missing")


def test_read_only_dataset_falls_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dataset = tmp_path / "ro"
    dataset.mkdir()
    (dataset / "a.jpg").write_bytes(b"original")
    real_access = os.access

    def fake_access(path: object, mode: int, *args: object, **kwargs: object) -> bool:
        p = Path(os.fsdecode(path))
        if (p == dataset or dataset in p.parents) and mode & os.W_OK:
            return False
        return real_access(path, mode, *args, **kwargs)

    monkeypatch.setattr(os, "access", fake_access)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    picked = tmp_path / "picked"
    with ProjectStore.for_dataset(dataset, fallback=picked) as store:
        assert store.root == picked
        store.save_mask("a", _mask())
    if sys.platform.startswith("linux"):
        with ProjectStore.for_dataset(dataset) as store:
            assert store.root.is_relative_to(tmp_path / "xdg" / "maskloop" / "stores")
            assert store.root.name.startswith("ro-")
            assert store.dataset_dir == dataset
    assert sorted(os.listdir(dataset)) == ["a.jpg"]  # nothing created in the read-only folder
    other = tmp_path / "other"
    other.mkdir()
    with pytest.raises(StoreError, match="another dataset"):  # a fallback store is not shared
        ProjectStore(picked, dataset_dir=other)


def test_read_only_dataset_falls_back_chmod(tmp_path: Path) -> None:
    """A folder without write bits is left alone, even by root (who could write anyway)."""
    dataset = tmp_path / "ro"
    dataset.mkdir()
    dataset.chmod(0o555)
    try:
        with ProjectStore.for_dataset(dataset, fallback=tmp_path / "fb") as store:
            assert store.root == tmp_path / "fb"
        assert os.listdir(dataset) == []
    finally:
        dataset.chmod(0o755)


def test_unusable_store_folders_are_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(StoreError, match="file"):
        ProjectStore(tmp_path / "file" / "store")
    (tmp_path / "db").mkdir()
    (tmp_path / "db" / "state.sqlite3").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match=r"state\.sqlite3"):
        ProjectStore(tmp_path / "db")
    root = tmp_path / "store"
    ProjectStore(root).close()
    (root / "store.json").write_text(json.dumps({"format": FORMAT_VERSION + 1}))
    with pytest.raises(StoreError, match="newer") as info:
        ProjectStore(root)
    assert "store.json" in str(info.value)
    (root / "store.json").write_text("{broken")
    with pytest.raises(StoreError, match=r"store\.json"):
        ProjectStore(root)


# ---- export --------------------------------------------------------------------------------------
def test_export_writes_only_corrected_and_never_touches_originals(tmp_path: Path) -> None:
    dataset = tmp_path / "ds"
    (dataset / "masks").mkdir(parents=True)
    originals = {name: f"orig-{name}".encode() for name in ("a.png", "b.png", "c.png")}
    for name, data in originals.items():
        (dataset / "masks" / name).write_bytes(data)
    stamps = {n: (dataset / "masks" / n).stat().st_mtime_ns for n in originals}
    written: list[Path] = []

    def write(path: Path, mask: np.ndarray) -> None:
        written.append(path)
        cv2.imwrite(str(path), mask * 255)

    with ProjectStore.for_dataset(dataset) as store:
        store.save_mask("a", np.eye(6, dtype=np.uint8))
        store.save_mask("c", np.zeros((6, 6), np.uint8))
        store.update_state("b", status="predicted")
        out = tmp_path / "export"
        assert store.export_masks(out, write, lambda s: f"{s}_mask.png") == 2
        assert sorted(p.name for p in out.iterdir()) == ["a_mask.png", "c_mask.png"]
        assert cv2.imread(str(out / "a_mask.png"), cv2.IMREAD_UNCHANGED)[0, 0] == 255
        with pytest.raises(StoreError, match="project store"):
            store.export_masks(store.root / "exports", write, lambda s: f"{s}.png")
        with pytest.raises(StoreError, match="leaves"):
            store.export_masks(out, write, lambda s: f"../{s}.png")
    assert len(written) == 2 and not (store.root / "exports").exists()
    for name, data in originals.items():
        path = dataset / "masks" / name
        assert path.read_bytes() == data and path.stat().st_mtime_ns == stamps[name]


def test_store_module_imports_no_torch_or_qt() -> None:
    code = (
        "import sys, unet_core.store.project\n"
        "bad = [m for m in ('torch', 'PySide6', 'qimage2ndarray', 'pyqtgraph') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
