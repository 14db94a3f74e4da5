"""Fixtures for the window-level GUI tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture()
def folder(carvana_dir: Path, tmp_path: Path) -> Path:
    """A private, writable copy of the generated Carvana folder (each test gets its own store)."""
    dest = tmp_path / "data"
    shutil.copytree(carvana_dir, dest)
    return dest
