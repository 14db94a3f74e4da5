"""kill -9 at random moments while the store and checkpoints are written: nothing half-written survives."""

from __future__ import annotations

import contextlib
import os
import queue
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np

from unet_core.model.checkpoint import load_checkpoint, read_metadata, save_checkpoint
from unet_core.store.project import ProjectStore

KILLS = 24
ROUND = 100_000  # write numbers of round r lie in [r * ROUND, (r + 1) * ROUND)
SHAPE = (48, 64)

# A "zygote" imports torch and the store once, then forks one writer per round (a fresh process per
# round would spend seconds importing torch). The writer acknowledges each completed write on stdout.
ZYGOTE = r"""
    import os, sys, time
    import numpy as np
    from pathlib import Path
    from unet_core.model.checkpoint import CheckpointMeta, save_checkpoint
    from unet_core.data.classes import ClassTable
    from unet_core.model.unet import UNetConfig, build_model
    from unet_core.store.project import ProjectStore
    from unet_core.store.files import encode_png

    import tempfile
    # warm up once here, not in every writer: cv2 is imported lazily, the first checkpoint save is slow
    encode_png(np.zeros((2, 2), np.uint8))
    ARCH = UNetConfig(num_classes=3, base_width=4, depth=2)
    CLASSES = ClassTable(("a", "b", "c"), ((0, 0, 0), (255, 0, 0), (0, 255, 0)))
    with tempfile.TemporaryDirectory() as scratch:
        save_checkpoint(Path(scratch) / "w.safetensors", build_model(ARCH),
                        CheckpointMeta(arch=ARCH, classes=CLASSES, input_size=(32, 32)))
    root, ckpt = Path(sys.argv[1]), Path(sys.argv[2])

    def ack(text):  # one write() of a whole line: a kill never leaves half an acknowledgement
        os.write(1, (text + "\n").encode())

    def write_forever(i):
        store = ProjectStore(root)
        if store.read_only:
            ack("error read-only")
            os._exit(2)
        arch, classes = ARCH, CLASSES
        model = build_model(arch)
        ack("ready")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            i += 1
            stem = f"s{i % 4}"
            mask = np.full((48, 64), i % 3, np.uint8)
            mask[0, :4] = np.frombuffer(i.to_bytes(4, "little"), np.uint8)
            store.save_mask(stem, mask)
            ack(f"mask {stem} {i}")
            store.update_state(stem, status="corrected", strokes=i)
            ack(f"state {stem} {i}")
            if i % 3 == 0:  # a checkpoint save takes longer than the rest: every third round
                meta = CheckpointMeta(arch=arch, classes=classes, input_size=(32, 32), training={"i": i})
                save_checkpoint(ckpt, model, meta)
                ack(f"ckpt - {i}")
        os._exit(3)  # never killed: the test failed to kill it

    for line in sys.stdin:
        start = int(line)
        pid = os.fork()
        if pid == 0:
            try:
                write_forever(start)
            finally:
                os._exit(4)
        print(f"pid {pid}", flush=True)
        _, status = os.waitpid(pid, 0)
        print(f"dead {status}", flush=True)
"""


def _decoded(mask: np.ndarray) -> int:
    number = int.from_bytes(mask[0, :4].tobytes(), "little")
    rest = mask.copy()
    rest[0, :4] = number % 3
    assert mask.shape == SHAPE and (rest == number % 3).all(), "a mask file mixes two writes"
    return number


def _check(root: Path, ckpt: Path, acked: dict[str, dict[str, int]], round_no: int) -> None:
    """Everything on disk is complete, holds at least the last acknowledged write, and no temp is left."""
    high = (round_no + 1) * ROUND
    with ProjectStore(root) as store:
        assert not store.read_only, "the killed writer's lock outlived it"
        leftovers = [p for sub in ("", "corrections", "models") for p in (root / sub).glob(".*.tmp")]
        assert leftovers == [], leftovers
        for stem in store.corrected_stems():
            mask = store.load_mask(stem)
            assert mask is not None
            number = _decoded(mask)
            assert acked["mask"].get(stem, 0) <= number < high
        assert set(acked["mask"]) <= set(store.corrected_stems())
        states = store.states()
        for stem, number in acked["state"].items():
            assert number <= states[stem].strokes < high
    with sqlite3.connect(root / ProjectStore.STATE_DB_NAME) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    if ckpt.exists():
        number = read_metadata(ckpt).training["i"]
        assert acked["ckpt"].get("-", 0) <= number < high
        load_checkpoint(ckpt)
    else:
        assert "-" not in acked["ckpt"]


def test_kill_9_while_writing_store_and_checkpoints(tmp_path: Path) -> None:
    root, ckpt = tmp_path / "ds" / ".maskloop", tmp_path / "models" / "m.safetensors"
    ckpt.parent.mkdir(parents=True)
    ProjectStore(root).close()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    zygote = subprocess.Popen([sys.executable, "-c", textwrap.dedent(ZYGOTE), str(root), str(ckpt)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=env)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(ln.strip()) for ln in zygote.stdout], daemon=True).start()  # type: ignore[union-attr]

    def next_line(timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and zygote.poll() is None:
            try:
                return lines.get(timeout=0.2)
            except queue.Empty:
                pass
        zygote.kill()
        raise AssertionError(f"the writer went silent: {zygote.stderr.read()}")  # type: ignore[union-attr]

    rng = random.Random(8)
    acked: dict[str, dict[str, int]] = {"mask": {}, "state": {}, "ckpt": {}}
    killed_in = {"mask": 0, "state": 0, "ckpt": 0}  # the save a kill interrupted (or the gap after it)
    pid = 0
    try:
        for round_no in range(1, KILLS + 1):
            aged = sorted(ckpt.parent.glob(".*.tmp"))
            old = time.time() - 120  # what a kill left last round, as if minutes had passed since
            for p in aged:
                os.utime(p, (old, old))
            zygote.stdin.write(f"{round_no * ROUND + rng.randrange(4)}\n")  # type: ignore[union-attr]
            zygote.stdin.flush()  # type: ignore[union-attr]
            pid = int(next_line().split()[1])
            assert next_line() == "ready"
            time.sleep(rng.uniform(0.0, 0.15))
            os.kill(pid, signal.SIGKILL)
            kinds: list[str] = []
            last = 0
            while not (line := next_line()).startswith("dead"):
                kind, stem, number = line.split()
                acked[kind][stem] = last = int(number)
                kinds.append(kind)
            assert int(line.split()[1]) == signal.SIGKILL, f"the writer was not killed but ended: {line}"
            after = kinds[-1] if kinds else "ckpt"
            killed_in["state" if after == "mask" else "ckpt" if after == "state" and last % 3 == 0 else "mask"] += 1
            _check(root, ckpt, acked, round_no)
            if "ckpt" in kinds:  # a later save to the folder removed what earlier kills left
                assert not any(p.exists() for p in aged), aged
    finally:
        if pid:  # a failed check leaves no writer behind
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        zygote.stdin.close()  # type: ignore[union-attr]
        zygote.wait(timeout=30)
    assert len(acked["mask"]) == 4 and "-" in acked["ckpt"]
    assert killed_in["ckpt"] >= 3 and killed_in["mask"] >= 3, f"kills spread too thin to mean much: {killed_in}"
    old = time.time() - 120
    for p in ckpt.parent.glob(".*.tmp"):
        os.utime(p, (old, old))
    model, meta = load_checkpoint(ckpt)
    save_checkpoint(ckpt, model, meta)  # the next save after the last kill
    assert sorted(ckpt.parent.iterdir()) == [ckpt]
