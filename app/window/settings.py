"""Persistent preferences (QSettings): recent folders, window state, tool settings."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings

MAX_RECENT = 10


def make_settings(path: str | Path | None = None) -> QSettings:
    """The app's settings; an INI file at ``path`` for tests, else the platform's native store."""
    if path is not None:
        return QSettings(str(path), QSettings.Format.IniFormat)
    return QSettings("Maskloop", "Maskloop")


def recent_folders(settings: QSettings) -> list[str]:
    """Most recent first; folders that no longer exist are dropped."""
    value = settings.value("recent/folders", [])
    items = [value] if isinstance(value, str) else list(value or [])
    return [p for p in items if p and Path(p).is_dir()][:MAX_RECENT]


def add_recent_folder(settings: QSettings, folder: str | Path) -> list[str]:
    """Put ``folder`` first in the recent list and return the new list."""
    path = str(Path(folder).resolve())
    items = [path] + [p for p in recent_folders(settings) if p != path]
    settings.setValue("recent/folders", items[:MAX_RECENT])
    return items[:MAX_RECENT]


def get_int(settings: QSettings, key: str, default: int) -> int:
    """An int preference (QSettings returns strings from INI files)."""
    try:
        return int(settings.value(key, default))
    except (TypeError, ValueError):
        return default


def get_float(settings: QSettings, key: str, default: float) -> float:
    """A float preference."""
    try:
        return float(settings.value(key, default))
    except (TypeError, ValueError):
        return default
