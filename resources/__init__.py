"""Bundled, non-code assets (application icon); ``resource_path(name)`` locates them."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent


def resource_path(name: str) -> Path:
    """Absolute path of a bundled resource file."""
    return ROOT / name
