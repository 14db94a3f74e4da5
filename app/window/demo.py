"""The bundled demo dataset: generated locally on first use from the project's own scene generator."""

from __future__ import annotations

import shutil
from pathlib import Path

from PySide6.QtCore import QStandardPaths

DEMO_COUNT = 40
DEMO_VIEWS_PER_CAR = 2  # 20 different cars: a model trained on a few of them generalises to the rest
DEMO_SIZE = (640, 960)  # Carvana's aspect at half size: quick to train, still realistic
DEMO_SEED = 7
DEMO_VERSION = "2"


def demo_root() -> Path:
    """Where the demo lives (the user's application-data folder)."""
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(base or Path.home() / ".maskloop") / "demo-carvana"


def ensure_demo(root: Path | None = None) -> Path:
    """Create the demo Carvana-format folder if it is missing; returns it (a few seconds, no network)."""
    from unet_core.sample.writer import write_sample

    folder = root or demo_root()
    marker = folder / ".complete"
    if not marker.exists() or marker.read_text(encoding="utf-8").strip() != DEMO_VERSION:
        if folder.exists():  # ours: an older or interrupted demo is rebuilt from scratch
            shutil.rmtree(folder)
        write_sample(folder, "carvana", count=DEMO_COUNT, seed=DEMO_SEED, size_hw=DEMO_SIZE,
                     views_per_car=DEMO_VIEWS_PER_CAR)
        marker.write_text(DEMO_VERSION + "\n", encoding="utf-8")
    return folder
