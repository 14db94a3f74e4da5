"""Benchmark: switching to the next 1918x1280 image in the real window, cold and prefetched (prints JSON).

Cold: the image is not in the cache (decode + working mask + overlay + repaint). Prefetched: the
window's own prefetch of the next image has finished before the switch. Offscreen Qt; a generated
Carvana folder at full size. Usage: ``python benchmarks/image_switch.py [--count 12]``.
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

from PySide6.QtWidgets import QApplication


def _switch(app: QApplication, window, row: int) -> float:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    window.show_row(row)
    window.canvas.viewport().repaint()
    app.processEvents()
    return (time.perf_counter() - t0) * 1000


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--count", type=int, default=12)
    args = p.parse_args()
    app = QApplication.instance() or QApplication([])
    from app.window.main_window import MainWindow
    from app.window.settings import make_settings
    from unet_core.sample.writer import write_sample

    with tempfile.TemporaryDirectory() as tmp:
        data = write_sample(Path(tmp) / "data", "carvana", count=args.count, seed=0)
        window = MainWindow(make_settings(Path(tmp) / "s.ini"))
        window.setProperty("quiet_dialogs", True)
        window.resize(1500, 950)
        window.show()
        window.open_folder(data)
        app.processEvents()
        cold, warm = [], []
        n = len(window.ws.records)
        for row in range(1, n):
            if row % 2:  # cold: make sure nothing is cached
                window.ws._cache.clear()  # benchmark-only access
                cold.append(_switch(app, window, row))
            else:  # prefetched: the window prefetched this row when the previous one was shown
                deadline = time.monotonic() + 5
                while not window.ws.is_prefetched(row) and time.monotonic() < deadline:
                    app.processEvents()
                    time.sleep(0.005)
                warm.append(_switch(app, window, row))
        window.close()
    print(json.dumps({"benchmark": "image_switch", "image_hw": [1280, 1918],
                      "cold_ms": {"median": round(statistics.median(cold), 1), "max": round(max(cold), 1), "n": len(cold)},
                      "prefetched_ms": {"median": round(statistics.median(warm), 1), "max": round(max(warm), 1),
                                        "n": len(warm)},
                      "targets_ms": {"cold": 60, "prefetched": 10}}, indent=2))


if __name__ == "__main__":
    main()
