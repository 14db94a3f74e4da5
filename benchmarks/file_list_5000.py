"""Benchmark: the file list with 5,000 images (set_records, scroll-through, event-loop stalls); prints JSON."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import itertools

import cv2
import numpy as np
from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

from app.panels.file_list import FileListPanel
from unet_core.loop.records import STATUSES, ImageRecord


def make_records(
    folder: Path, count: int, distinct: int, size_hw: tuple[int, int], shared: bool
) -> list[ImageRecord]:
    """``distinct`` random JPEGs reused over ``count`` rows (hard links give each row its own path)."""
    rng = np.random.default_rng(0)
    h, w = size_hw
    sources = []
    for i in range(distinct):
        img = cv2.GaussianBlur(rng.integers(0, 255, (h, w, 3), dtype=np.uint8), (0, 0), 3)
        p = folder / f"src_{i:03d}.jpg"
        cv2.imwrite(str(p), img, [cv2.IMWRITE_JPEG_QUALITY, 90])
        sources.append(p)
    rows = folder / "rows"
    rows.mkdir()
    records = []
    for i in range(count):
        src = sources[i % distinct]
        path = src
        if not shared:
            path = rows / f"img_{i:05d}.jpg"
            try:
                os.link(src, path)
            except OSError:
                path = src
        status = STATUSES[i % 4]
        unc = None if status == "unlabelled" else float(rng.random())
        records.append(ImageRecord(f"img_{i:05d}", path, None, status, unc))
    return records


def run_loop_until(app: QApplication, done: Callable[[], bool], timeout_s: float) -> None:
    """Spin a real event loop until ``done()`` or the timeout."""
    loop = QEventLoop()
    poll = QTimer()
    poll.setInterval(5)
    poll.timeout.connect(lambda: loop.quit() if done() else None)
    QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    poll.start()
    loop.exec()
    poll.stop()


def run(
    count: int, distinct: int, size_hw: tuple[int, int], shared: bool, step_ms: int, view_hw: tuple[int, int]
) -> dict[str, object]:
    """Build the records, show the panel, time set_records, scrolling, sorting and filtering."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        records = make_records(Path(tmp), count, distinct, size_hw, shared)
        build_s = time.perf_counter() - t0
        panel = FileListPanel()
        panel.resize(view_hw[1], view_hw[0])
        panel.show()
        app.processEvents()

        t0 = time.perf_counter()
        panel.set_records(records)
        app.processEvents()  # first paint included
        set_records_ms = (time.perf_counter() - t0) * 1000
        panel.loader.wait(10000)
        app.processEvents()
        first_requests = panel.loader.requests

        # scroll to the bottom one page per `step_ms`, with a 1 ms heartbeat timer measuring stalls
        bar = panel.view.verticalScrollBar()
        beats: list[float] = []
        heartbeat = QTimer()
        heartbeat.setInterval(1)
        heartbeat.timeout.connect(lambda: beats.append(time.perf_counter()))
        steps = 0

        def scroll_step() -> None:
            nonlocal steps
            bar.setValue(min(bar.maximum(), bar.value() + bar.pageStep()))
            steps += 1

        driver = QTimer()
        driver.setInterval(step_ms)
        driver.timeout.connect(scroll_step)
        heartbeat.start()
        t0 = time.perf_counter()
        driver.start()
        run_loop_until(app, lambda: bar.value() >= bar.maximum(), 600)
        driver.stop()
        scroll_s = time.perf_counter() - t0
        run_loop_until(app, lambda: panel.loader.wait(0) and not panel.loader._pending, 30)
        settle_s = time.perf_counter() - t0 - scroll_s
        heartbeat.stop()
        scroll_requests = panel.loader.requests
        gaps = [(b - a) * 1000 for a, b in itertools.pairwise(beats)]

        timings: dict[str, float] = {}
        for name, action in (
            ("sort_uncertainty_ms", lambda: panel.set_sort("uncertainty")),
            ("sort_status_ms", lambda: panel.set_sort("status")),
            ("filter_name_ms", lambda: panel.set_name_filter("img_01")),
            ("filter_status_ms", lambda: panel.set_status_filter("not_reviewed")),
            ("clear_filters_ms", lambda: (panel.set_name_filter(""), panel.set_status_filter("all"))),
        ):
            t0 = time.perf_counter()
            action()
            app.processEvents()
            timings[name] = round((time.perf_counter() - t0) * 1000, 2)
        panel.set_sort("name")
        in_place = []
        for i in range(1, count, max(1, count // 50)):
            records[i].uncertainty = 0.25
            t0 = time.perf_counter()
            panel.record_changed(i)
            in_place.append((time.perf_counter() - t0) * 1000)
        panel.set_sort("status")
        changed = []
        for i in range(0, count, max(1, count // 50)):
            records[i].status = "corrected"
            records[i].uncertainty = 0.5
            t0 = time.perf_counter()
            panel.record_changed(i)
            changed.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        panel.records_changed()
        app.processEvents()
        timings["records_changed_ms"] = round((time.perf_counter() - t0) * 1000, 2)
        total_requests = panel.loader.requests
        panel.shutdown()
        return {
            "benchmark": "file_list_5000",
            "records": count,
            "distinct_jpegs": distinct,
            "jpeg_size_hw": list(size_hw),
            "unique_paths": not shared,
            "build_records_s": round(build_s, 2),
            "set_records_ms": round(set_records_ms, 2),
            "thumbnail_requests_first_screen": first_requests,
            "scroll_steps": steps,
            "scroll_step_interval_ms": step_ms,
            "scroll_through_s": round(scroll_s, 3),
            "thumbnails_settle_after_scroll_s": round(settle_s, 3),
            "thumbnail_requests_scroll": scroll_requests,
            "thumbnail_requests_total": total_requests,
            "event_loop_max_stall_ms": round(max(gaps), 2) if gaps else None,
            "event_loop_p99_gap_ms": round(float(np.percentile(gaps, 99)), 2) if gaps else None,
            **timings,
            "record_changed_in_place_median_ms": round(statistics.median(in_place), 3),
            "record_changed_moving_median_ms": round(statistics.median(changed), 3),
            "record_changed_moving_max_ms": round(max(changed), 3),
            "cpu_count": os.cpu_count(),
        }


def main() -> None:
    """Parse options, run once, print one JSON object."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--count", type=int, default=5000)
    ap.add_argument("--distinct", type=int, default=50, help="distinct JPEG files reused across rows")
    ap.add_argument("--size", default="320x480", help="JPEG size HxW (1280x1918 = Carvana)")
    ap.add_argument(
        "--shared-paths", action="store_true", help="rows share the 50 paths (thumbnail cache hits)"
    )
    ap.add_argument("--step-ms", type=int, default=16, help="one page scroll per this many ms")
    ap.add_argument("--view", default="800x420", help="panel size HxW")
    a = ap.parse_args()
    h, w = (int(v) for v in a.size.lower().split("x"))
    vh, vw = (int(v) for v in a.view.lower().split("x"))
    print(json.dumps(run(a.count, a.distinct, (h, w), a.shared_paths, a.step_ms, (vh, vw))))


if __name__ == "__main__":
    main()
