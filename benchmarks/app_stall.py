"""Benchmark: the longest GUI event-loop stall in the real main window while a training run works (JSON).

Opens a generated Carvana folder, lets it load (``--settle``, 2 s), trains a model from scratch (then fine-tunes it on a few painted
corrections) through the Training panel's own controller, and meanwhile keeps using the app: every
0.4 s it switches image and paints a stroke. A 1 ms QTimer in the GUI thread records the gaps between
its ticks; a gap is a stall. Usage: ``python benchmarks/app_stall.py [--seconds 45]``.
"""

from __future__ import annotations

import argparse
import gc
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
        self.start = 0
        self.gaps: list[float] = []
        self.ends_s: list[float] = []  # when each gap ended, seconds after the last reset
        self.timer = QTimer()
        self.timer.setInterval(1)
        self.timer.timeout.connect(self._tick)
        self.timer.start()

    def _tick(self) -> None:
        now = self.clock.nsecsElapsed()
        if self.last:
            self.gaps.append((now - self.last) / 1e6)
            self.ends_s.append((now - self.start) / 1e9)
        self.last = now

    def reset(self) -> None:
        self.gaps.clear()
        self.ends_s.clear()
        self.last = 0
        self.start = self.clock.nsecsElapsed()

    def longest(self, n: int) -> list[list[float]]:
        """The ``n`` longest gaps as [milliseconds, seconds into the phase when it ended]."""
        order = sorted(range(len(self.gaps)), key=self.gaps.__getitem__, reverse=True)[:n]
        return [[round(self.gaps[i], 1), round(self.ends_s[i], 2)] for i in order]


class GcMeter:
    """Durations of the garbage collector's full (generation 2) collections, which hold the GIL throughout."""

    def __init__(self) -> None:
        self.full_ms: list[float] = []
        self._t0 = 0.0
        gc.callbacks.append(self._on_gc)

    def _on_gc(self, phase: str, info: dict) -> None:
        if info.get("generation") != 2:
            return
        if phase == "start":
            self._t0 = time.perf_counter()
        elif self._t0:
            self.full_ms.append((time.perf_counter() - self._t0) * 1e3)

    def reset(self) -> None:
        self.full_ms.clear()


def _stroke(window, x: int, y: int) -> None:  # type: ignore[no-untyped-def]
    vp = window.canvas.viewport()
    p0 = window.canvas.mapFromScene(x, y)
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, pos=QPoint(p0.x(), p0.y()))
    for dx in range(0, 80, 10):
        p = window.canvas.mapFromScene(x + dx, y + dx // 4)
        QTest.mouseMove(vp, QPoint(p.x(), p.y()))
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=QPoint(p.x(), p.y()))


def run_phase(app: QApplication, window, meter: StallMeter, start, mode: str,  # type: ignore[no-untyped-def]
              seconds: float, act: bool = True, gc_meter: GcMeter | None = None) -> dict:
    from dataclasses import replace

    from app.panels.train_form import DEFAULTS

    done: list[object] = []
    window.train_ctl.runFinished.connect(done.append)
    window.train_ctl.runFailed.connect(lambda m: done.append(RuntimeError(m)))
    start(replace(DEFAULTS[mode], time_limit_s=seconds, device="cpu"))  # the app's own defaults, shorter
    meter.reset()
    if gc_meter is not None:
        gc_meter.reset()
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
            "stalls_over_50ms": sum(g > 50 for g in gaps), "longest_5_ms_at_s": meter.longest(5),
            "phase_s": round(meter.ends_s[-1], 1) if meter.ends_s else None,
            "full_gc": {"count": len(gc_meter.full_ms) if gc_meter else None,
                        "longest_ms": round(max(gc_meter.full_ms), 1) if gc_meter and gc_meter.full_ms else None},
            "steps": getattr(result, "steps", None), "stop_reason": getattr(result, "stop_reason", None)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=45)
    p.add_argument("--idle", action="store_true", help="no simulated user actions (stalls from training only)")
    p.add_argument("--settle", type=float, default=2.0,
                   help="seconds the opened folder gets to load (thumbnails, first image) before training starts")
    p.add_argument("--untuned", action="store_true",
                   help="skip the app's tune_for_responsiveness() (frozen start-up objects, 1 ms GIL switches) to measure what it buys")
    args = p.parse_args()
    app = QApplication.instance() or QApplication([])
    from app.window.main_window import MainWindow
    from app.window.settings import make_settings
    from app.workers import preload_training_modules, tune_for_responsiveness
    from unet_core.sample.writer import write_sample

    preload_training_modules()  # as the app's main() does
    with tempfile.TemporaryDirectory() as tmp:
        data = write_sample(Path(tmp) / "data", "carvana", count=12, seed=0, size_hw=(640, 960))
        window = MainWindow(make_settings(Path(tmp) / "s.ini"))
        if not args.untuned:
            tune_for_responsiveness()  # as the app's main() does
        window.setProperty("quiet_dialogs", True)
        window.train_ctl.ask_user = False
        window.train_ctl.choice_use_new = True
        window.resize(1500, 950)
        window.show()
        window.open_folder(data)
        settle = time.monotonic() + args.settle  # thumbnails and the first image load, as before a user's first click
        while time.monotonic() < settle:
            app.processEvents()
            time.sleep(0.005)
        meter = StallMeter()
        gc_meter = GcMeter()
        if args.idle:  # a correction to fine-tune on, painted before any training
            for _ in range(4):
                window.next_image()
                _stroke(window, 100, 100)
        scratch = run_phase(app, window, meter, window.train_ctl.start_scratch, "scratch", args.seconds,
                            not args.idle, gc_meter)
        deadline = time.monotonic() + 60
        while window.ws.model.predictor is None and time.monotonic() < deadline:  # the new model loads
            app.processEvents()
            time.sleep(0.01)
        finetune = run_phase(app, window, meter, window.train_ctl.start_finetune, "finetune", args.seconds,
                             not args.idle, gc_meter)
        window.close()
    print(json.dumps({"benchmark": "app_stall", "threads_for_training": "cores - 1",
                      "tuned_for_responsiveness": not args.untuned, "settle_s": args.settle,
                      "train_from_scratch": scratch, "fine_tune": finetune, "target_max_stall_ms": 50}, indent=2))


if __name__ == "__main__":
    main()
