"""One writer per store: a second opener (same or another process) is read-only and every write says so."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from unet_core.store.project import ProjectStore, StoreError

READ_ONLY = "opened read-only: another Maskloop window has this project open"


def _writes(store: ProjectStore) -> dict[str, object]:
    mask = np.ones((6, 8), np.uint8)
    return {
        "save_mask": lambda: store.save_mask("shared", mask),
        "delete_mask": lambda: store.delete_mask("shared"),
        "save_prediction": lambda: store.save_prediction("shared", "v0001", mask, None, 0.5),
        "update_state": lambda: store.update_state("shared", status="corrected"),
        "update_states": lambda: store.update_states({"shared": {"strokes": 3}}),
        "add_edit": lambda: store.add_edit("shared", 1.0, 5, 1),
        "new_model_path": store.new_model_path,
        "register_model": lambda: store.register_model("v0001", None, 0.5, "x"),
        "set_current_model": lambda: store.set_current_model("v0001"),
    }


def test_second_store_in_one_process_is_read_only_and_refuses_every_write(tmp_path: Path) -> None:
    root = tmp_path / "ds" / ".maskloop"
    first = ProjectStore(root)
    first.save_mask("shared", np.full((6, 8), 2, np.uint8))
    first.update_state("shared", status="corrected", strokes=1)
    version, weights = first.new_model_path()
    weights.write_bytes(b"weights")
    first.register_model(version, None, 0.5, "first")
    second = ProjectStore(root)
    assert not first.read_only and second.read_only
    for name, write in _writes(second).items():
        with pytest.raises(StoreError) as info:
            write()  # type: ignore[operator]
        text = str(info.value)
        assert READ_ONLY in text and str(root) in text and "\n" not in text, name
    # nothing of the second store's reached the disk; it still reads everything the first one writes
    np.testing.assert_array_equal(second.load_mask("shared"), np.full((6, 8), 2, np.uint8))
    assert second.state("shared").strokes == 1 and not second.has_prediction("shared", "v0001")
    assert [m.id for m in second.models()] == [version] and second.current_model().id == version
    first.update_state("shared", status="reviewed")
    assert second.state("shared").status.value == "reviewed"
    second.close()
    first.close()
    with ProjectStore(root) as third:  # the lock went with the first store
        assert not third.read_only
        third.update_state("shared", strokes=9)


def test_a_reader_does_not_take_the_lock(tmp_path: Path) -> None:
    root = tmp_path / "store"
    ProjectStore(root).close()
    with ProjectStore(root, read_only=True) as reader, ProjectStore(root) as writer:
        assert reader.read_only and not writer.read_only
        writer.update_state("a", status="corrected")
        assert reader.state("a").status.value == "corrected"
        with pytest.raises(StoreError, match="read-only"):
            reader.update_state("a", status="reviewed")


_HOLDER = """
    import sys, time
    from pathlib import Path
    from unet_core.store.project import ProjectStore
    store = ProjectStore(Path(sys.argv[1]))
    print("read_only" if store.read_only else "writer", flush=True)
    if store.read_only:
        try:
            store.save_mask("x", __import__("numpy").zeros((4, 4), "uint8"))
        except Exception as exc:
            print(type(exc).__name__, exc, flush=True)
        sys.exit(0)
    store.update_state("child", status="corrected")
    print("ready", flush=True)
    time.sleep(120)
"""


def _child(root: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(_HOLDER), str(root)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_lock_holds_across_processes_and_dies_with_its_holder(tmp_path: Path) -> None:
    root = tmp_path / "store"
    with ProjectStore(root) as mine:  # this process writes: another process gets read-only
        out, err = _child(root).communicate(timeout=60)
        lines = out.splitlines()
        assert lines[0] == "read_only", err
        assert lines[1].startswith("StoreError") and READ_ONLY in lines[1]
        assert not (root / "corrections" / "x.png").exists() and not mine.read_only
    child = _child(root)  # another process holds it: this one is read-only
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "writer" and child.stdout.readline().strip() == "ready"
        with ProjectStore(root) as second:
            assert second.read_only and second.state("child").status.value == "corrected"
        os.kill(child.pid, signal.SIGKILL)  # a crash: the OS releases the lock, no stale lock file
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    with ProjectStore(root) as after:
        assert not after.read_only
        after.update_state("child", status="reviewed")
