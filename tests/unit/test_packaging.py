"""What the package promises: a license, floors its code needs, the app's Qt as an extra, no file outside the repo."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
tomllib = pytest.importorskip("tomllib")  # Python 3.11+


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_the_core_needs_no_qt_and_the_app_names_its_extra() -> None:
    project = _project()
    core = " ".join(project["dependencies"])
    assert "PySide6" not in core and "qimage2ndarray" not in core
    gui = " ".join(project["optional-dependencies"]["gui"])
    assert "PySide6" in gui and "!=6.12.0" in gui and "qimage2ndarray" in gui
    assert "maskloop[gui,onnx]" in project["optional-dependencies"]["dev"]
    assert {"maskloop", "unet-core"} <= set(project["scripts"]) | set(project["gui-scripts"])


def test_floors_are_those_the_code_needs() -> None:
    floors = {re.split(r"[<>=!; ]", d)[0]: d for d in _project()["dependencies"]}
    assert ">=2.3" in floors["torch"]  # torch.amp.GradScaler("cuda")
    assert ">=1.4.24" in floors["albumentations"]  # fill_mask, std_range, set_random_seed


def test_there_is_a_license_and_the_readme_stays_in_the_repository() -> None:
    assert (ROOT / "LICENSE").is_file() and "Permission is hereby granted" in (ROOT / "LICENSE").read_text()
    assert _project().get("license")
    readme = (ROOT / "README.md").read_text()
    assert "../" not in readme and "shared/" not in readme


def test_without_qt_the_app_says_which_extra_to_install() -> None:
    code = ("import sys, importlib.util as u; real = u.find_spec; "
            "u.find_spec = lambda n, *a: None if n in ('PySide6', 'qimage2ndarray') else real(n, *a); "
            "from app.main import main; sys.exit(main(['--screenshot', 'x.png']))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          check=False)
    assert proc.returncode == 2 and "gui extra" in proc.stderr and "Traceback" not in proc.stderr
