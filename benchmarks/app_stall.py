"""Benchmark: the longest GUI event-loop stall in the real main window while a training run works (JSON).

Opens a generated Carvana folder, trains a model from scratch (then fine-tunes it on a few painted
corrections) through the Training panel's own controller, and meanwhile keeps using the app: every
0.4 s it switches image and paints a stroke. A 1 ms QTimer in the GUI thread records the gaps between
its ticks; a gap is a stall. Usage: ``python benchmarks/app_stall.py [--seconds 45]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_DRIVER", "PySide6")

from PySide6.QtCore import QElapsedTimer, QPoint, Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication


class StallMeter:
    """Gaps between 1 ms timer ticks on the GUI thread."""

    def __init__(self) -> None:
        self.clock = QElapsedTimer()
        self.clock.start()
        self.last = 0
        self.gaps: list[float] = []
        self.timer = QTimer()
        self.timer.setInterval(1)
        self.timer.timeout.connect(self._tick)
        self.timer.start()

    def _tick(self) -> None:
        now = self.clock.nsecsElapsed()
        if self.last:
            self.gaps.append((now - self.last) / 1e6)
        self.last = now

    def reset(self) -> None:
        self.gaps.clear()
        self.last = 0


def _stroke(window, x: int, y: int) -> None:  # type: ignore[no-untyped-def]
    vp = window.canvas.viewport()
    p0 = window.canvas.mapFromScene(x, y)
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, pos=QPoint(p0.x(), p0.y()))
    for dx in range(0, 80, 10):
        p = window.canvas.mapFromScene(x + dx, y + dx // 4)
        QTest.mouseMove(vp, QPoint(p.x(), p.y()))
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=QPoint(p.x(), p.y()))


def run_phase(app: QApplication, window, meter: StallMeter, start, mode: str,  # type: ignore[no-untyped-def]
              seconds: float, act: bool = True) -> dict:
    from dataclasses import replace

    from app.panels.train_form import DEFAULTS

    done: list[object] = []
    window.train_ctl.runFinished.connect(done.append)
    window.train_ctl.runFailed.connect(lambda m: done.append(RuntimeError(m)))
    start(replace(DEFAULTS[mode], time_limit_s=seconds, device="cpu"))  # the app's own defaults, shorter
    meter.reset()
    t_end = time.monotonic() + seconds + 120
    next_action = time.monotonic() + 0.4
    actions = 0
    while not done and time.monotonic() < t_end:
        app.processEvents()
        if act and time.monotonic() >= next_action and window.ws.loaded is not None:
            window.next_image()
            _stroke(window, 100, 100)
            actions += 1
            next_action = time.monotonic() + 0.4
        time.sleep(0.0005)
    gaps = sorted(meter.gaps)
    result = done[0] if done else None
    if isinstance(result, Exception):
        raise result
    return {"max_stall_ms": round(gaps[-1], 1), "p99_stall_ms": round(gaps[int(0.99 * len(gaps))], 1),
            "median_gap_ms": round(statistics.median(gaps), 2), "user_actions": actions,
            "steps": getattr(result, "steps", None), "stop_reason": getattr(result, "stop_reason", None)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=45)
    p.add_argument("--idle", action="store_true", help="no simulated user actions (stalls from training only)")
    args = p.parse_args()
    app = QApplication.instance() or QApplication([])
    from app.window.main_window import MainWindow
    from app.window.settings import make_settings
    from app.workers import preload_training_modules
    from unet_core.sample.writer import write_sample

    preload_training_modules()  # as the app's main() does
    with tempfile.TemporaryDirectory() as tmp:
        data = write_sample(Path(tmp) / "data", "carvana", count=12, seed=0, size_hw=(640, 960))
        window = MainWindow(make_settings(Path(tmp) / "s.ini"))
        window.setProperty("quiet_dialogs", True)
        window.train_ctl.ask_user = False
        window.train_ctl.choice_use_new = True
        window.resize(1500, 950)
        window.show()
        window.open_folder(data)
        meter = StallMeter()
        if args.idle:  # a correction to fine-tune on, painted before any training
            for _ in range(4):
                window.next_image()
                _stroke(window, 100, 100)
        scratch = run_phase(app, window, meter, window.train_ctl.start_scratch, "scratch", args.seconds,
                            not args.idle)
        deadline = time.monotonic() + 60
        while window.ws.model.predictor is None and time.monotonic() < deadline:  # the new model loads
            app.processEvents()
            time.sleep(0.01)
        finetune = run_phase(app, window, meter, window.train_ctl.start_finetune, "finetune", args.seconds,
                             not args.idle)
        window.close()
    print(json.dumps({"benchmark": "app_stall", "threads_for_training": "cores - 1",
                      "train_from_scratch": scratch, "fine_tune": finetune, "target_max_stall_ms": 50}, indent=2))


if __name__ == "__main__":
    main()
