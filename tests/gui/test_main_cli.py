"""The app's command line: ``python main.py DIR --model M --screenshot PNG`` and its errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_DATA_HOME": str(tmp_path / "xdg")}
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *args, "--settings", str(tmp_path / "s.ini")],
                          capture_output=True, text=True, timeout=240, env=env, cwd=ROOT)


def test_screenshot_with_model_shows_image_overlay_and_docks(folder: Path, tiny_model: Path, tmp_path: Path) -> None:
    shot = tmp_path / "shot.png"
    proc = _run(str(folder), "--model", str(tiny_model), "--screenshot", str(shot), tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    image = Image.open(shot).convert("RGB")
    assert image.size[0] >= 1200 and image.size[1] >= 800
    px = np.asarray(image.resize((150, 95))).reshape(-1, 3).astype(int)
    orange = (px[:, 0] > 150) & (px[:, 1] > 40) & (px[:, 1] < 140) & (px[:, 2] < 90)  # car colour (255,96,0) blended
    assert orange.sum() > 20, "the prediction overlay should be visible"
    assert (folder / ".maskloop" / "models").is_dir()  # the model was imported as a version


def test_unknown_folder_exits_with_a_message(tmp_path: Path) -> None:
    odd = tmp_path / "odd"
    odd.mkdir()
    proc = _run(str(odd), "--screenshot", str(tmp_path / "x.png"), tmp_path=tmp_path)
    assert proc.returncode == 1
    assert "expected" in proc.stderr and str(odd) in proc.stderr
    assert not (tmp_path / "x.png").exists()
    proc = _run(str(tmp_path / "missing"), "--screenshot", str(tmp_path / "x.png"), tmp_path=tmp_path)
    assert proc.returncode == 1 and "no such folder" in proc.stderr
