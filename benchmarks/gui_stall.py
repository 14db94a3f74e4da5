"""Benchmark: GUI event-loop stalls while a real training job runs in a TrainWorker; prints JSON."""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

import numpy as np
from PySide6.QtCore import QObject, QRect, Qt, QTimer
from PySide6.QtWidgets import QApplication, QHBoxLayout, QWidget

from app.canvas import CanvasView
from app.panels.training_panel import TrainingPanel
from app.workers import TrainWorker, preload_training_modules, start_worker
from unet_core.data.dataset import examples_from_layout
from unet_core.data.layouts import detect_layout
from unet_core.data.split import split_by_group
from unet_core.sample.writer import write_sample
from unet_core.training.trainer import train
from unet_core.training.types import TrainConfig, TrainResult


class TickProbe(QObject):
    """A 1 ms precise timer in the GUI thread; the gaps between its ticks are the event-loop stalls."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []
        self.cpu: list[float] = []  # the GUI thread's own CPU time at each tick
        self.timer = QTimer(self)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(1)
        self.timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        self.times.append(time.perf_counter())
        self.cpu.append(time.thread_time())

    def gaps_ms(self) -> np.ndarray:
        return np.diff(np.asarray(self.times)) * 1000.0


class GilProbe(threading.Thread):
    """A pure-Python thread sleeping 1 ms at a time: its long gaps mean the GIL (or the CPU) was not free."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.gaps: list[float] = []
        self.stop = threading.Event()

    def run(self) -> None:
        last = time.perf_counter()
        while not self.stop.is_set():
            time.sleep(0.001)
            now = time.perf_counter()
            self.gaps.append((now - last) * 1000.0)
            last = now


class Repainter(QObject):
    """Keeps the canvas busy like a user would: a mask edit + overlay repaint every 33 ms."""

    def __init__(self, view: CanvasView, mask: np.ndarray) -> None:
        super().__init__()
        self.view, self.mask, self.i = view, mask, 0
        self.timer = QTimer(self)
        self.timer.setInterval(33)
        self.timer.timeout.connect(self._paint)

    def _paint(self) -> None:
        h, w = self.mask.shape
        x = (self.i * 37) % (w - 40)
        y = (self.i * 23) % (h - 40)
        self.mask[y : y + 40, x : x + 40] = self.i % 2 + 1
        self.view.refresh_overlay(QRect(x, y, 40, 40))
        self.i += 1


class Collector(QObject):
    """Receives the worker's end signals in the GUI thread."""

    def __init__(self, app: QApplication) -> None:
        super().__init__()
        self.app = app
        self.result: TrainResult | None = None
        self.error: str | None = None
        self.steps = 0

    def on_step(self, info: Any) -> None:
        self.steps += 1

    def on_finished(self, result: TrainResult) -> None:
        self.result = result
        QTimer.singleShot(200, self.app.quit)  # let the panel's last redraw happen inside the measurement

    def on_failed(self, message: str) -> None:
        self.error = message
        self.app.quit()


def make_job(data: Path, out: Path, args: argparse.Namespace) -> functools.partial:
    layout = detect_layout(data)
    pairs, _ = layout.pairs()
    examples = examples_from_layout(layout, pairs)
    tr, va = split_by_group(examples, [e.group for e in examples], 0.25, seed=0)
    h, w = (int(v) for v in args.size.lower().split("x"))
    config = TrainConfig(arch=args.arch, size_hw=(h, w), time_limit=args.time_limit, batch_size=args.batch_size,
                         lr=1e-3, device="cpu", num_workers=0)
    return functools.partial(train, tr, va, layout.classes, config, out, dataset_kind=layout.kind)


def run(args: argparse.Namespace) -> dict[str, Any]:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    # what the app does at startup: first-use imports hold the GIL for up to ~250 ms (see the workers)
    preload_s = 0.0 if args.no_preload else preload_training_modules()
    tmp = Path(tempfile.mkdtemp(prefix="gui_stall_"))
    data = write_sample(tmp / "data", "carvana", count=args.count, size_hw=(640, 960))

    window = QWidget()
    row = QHBoxLayout(window)
    view = CanvasView()
    rng = np.random.default_rng(0)
    view.set_image(rng.integers(0, 255, (1280, 1918, 3), dtype=np.uint8))
    mask = np.zeros((1280, 1918), np.uint8)
    view.set_mask(mask)
    view.set_classes([(0, 0, 0), (255, 0, 0), (0, 200, 0)])
    panel = TrainingPanel()
    row.addWidget(view, 3)
    row.addWidget(panel, 1)
    window.resize(1400, 850)
    window.show()
    for _ in range(20):
        app.processEvents()

    worker = TrainWorker(make_job(data, tmp / "model.safetensors", args), threads=args.threads,
                         step_interval_s=args.step_interval)
    events: list[tuple[float, str]] = []  # worker-thread timestamps of what the core was doing
    worker.started.connect(lambda info: events.append((time.perf_counter(), "started")),
                           Qt.ConnectionType.DirectConnection)
    worker.step.connect(lambda info: events.append((time.perf_counter(), "step")),
                        Qt.ConnectionType.DirectConnection)
    worker.epoch.connect(lambda info: events.append((time.perf_counter(), "epoch (after validation+save)")),
                         Qt.ConnectionType.DirectConnection)
    col = Collector(app)
    for signal, slot in ((worker.started, panel.on_started), (worker.step, panel.on_step),
                         (worker.epoch, panel.on_epoch), (worker.finished, panel.on_finished),
                         (worker.failed, panel.on_failed), (worker.step, col.on_step),
                         (worker.finished, col.on_finished), (worker.failed, col.on_failed)):
        signal.connect(slot)

    probe, painter, gil = TickProbe(), Repainter(view, mask), GilProbe()
    probe.timer.start()
    painter.timer.start()
    if args.gil_probe:
        gil.start()
    watchdog = QTimer()
    watchdog.setSingleShot(True)
    watchdog.timeout.connect(worker.request_stop)
    watchdog.start(int((args.time_limit * 3 + 120) * 1000))
    t0 = time.perf_counter()
    thread = start_worker(worker)
    app.exec()
    thread.wait(30_000)
    t1 = time.perf_counter()
    probe.timer.stop()
    painter.timer.stop()
    gil.stop.set()
    if args.gil_probe:
        gil.join()
    gaps = probe.gaps_ms()
    cpu = np.diff(np.asarray(probe.cpu)) * 1000.0
    big = [(float(g), probe.times[i + 1], float(cpu[i])) for i, g in enumerate(gaps) if g > args.report_over]
    worst = sorted(big, reverse=True)[:10]
    return {
        "max_stall_ms": round(float(gaps.max()), 2) if gaps.size else None,
        "p99_stall_ms": round(float(np.percentile(gaps, 99)), 2) if gaps.size else None,
        "median_stall_ms": round(float(statistics.median(gaps)), 3) if gaps.size else None,
        "train_seconds": round(col.result.seconds, 1) if col.result else None,
        "steps": col.result.steps if col.result else None,
        "wall_seconds": round(t1 - t0, 1),
        "epochs": col.result.epochs if col.result else None,
        "stop_reason": col.result.stop_reason if col.result else None,
        "error": col.error,
        "ticks": len(probe.times),
        f"stalls_over_{args.report_over:g}ms": len(big),
        # gui_cpu_ms ~ ms: the GUI thread itself was busy (painting...); ~0: it waited (GIL, CPU, I/O)
        "worst_stalls": [{"ms": round(g, 1), "gui_cpu_ms": round(c, 1), "at_s": round(t - t0, 2),
                          "after": _last_event(events, t - g / 1000)} for g, t, c in worst],
        "gil_probe_max_ms": round(max(gil.gaps), 1) if gil.gaps else None,
        "gil_probe_p99_ms": round(float(np.percentile(gil.gaps, 99)), 2) if gil.gaps else None,
        "step_signals_received": col.steps,
        "plot_redraws": panel.plots.redraws,
        "preload_seconds": round(preload_s, 2),
        "torch_threads": args.threads or max(1, (os.cpu_count() or 1) - 1),
        "cpu_count": os.cpu_count(),
        "python_threads": threading.active_count(),
    }


def _last_event(events: list[tuple[float, str]], t: float) -> str:
    """What the worker last reported before time ``t`` (and how long before)."""
    before = [(te, name) for te, name in events if te <= t]
    if not before:
        return "before started (data preload)"
    te, name = before[-1]
    return f"{name} +{(t - te) * 1000:.0f} ms"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--time-limit", type=float, default=60.0, help="training seconds (default 60)")
    parser.add_argument("--arch", default="unet-small")
    parser.add_argument("--size", default="256x384", help="model input HxW")
    parser.add_argument("--count", type=int, default=12, help="generated Carvana images (640x960)")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--threads", type=int, default=None, help="torch threads in the worker (default cores-1)")
    parser.add_argument("--step-interval", type=float, default=0.05, help="min seconds between step signals")
    parser.add_argument("--report-over", type=float, default=20.0, help="list stalls longer than this (ms)")
    parser.add_argument("--no-preload", action="store_true",
                        help="skip preload_training_modules() at startup (shows the import stalls)")
    parser.add_argument("--gil-probe", action="store_true", help="also run a 1 ms pure-Python sleeper thread")
    args = parser.parse_args(argv)
    print(json.dumps(run(args), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
