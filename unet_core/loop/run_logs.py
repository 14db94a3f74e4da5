"""Where the app's training runs log: one folder per run under the project store's ``logs``, the newest kept."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from unet_core.store.project import ProjectStore

LOGS_DIR = "logs"
KEEP_RUN_LOGS = 20  # the newest run logs kept in a store; older ones are removed when a run starts


def logs_root(store: ProjectStore) -> Path:
    """The store's folder of run logs (not created here)."""
    return store.root / LOGS_DIR


def new_run_log(store: ProjectStore, run: Path, keep: int = KEEP_RUN_LOGS) -> Path:
    """The log folder of the run writing ``run`` (named by time, then the run's file), created; the
    oldest logs beyond ``keep`` are removed first (a log is small, but a store lives for years)."""
    root = logs_root(store)
    root.mkdir(exist_ok=True)
    existing = run_logs(store)
    for old in existing[: max(0, len(existing) - (keep - 1))]:
        shutil.rmtree(old, ignore_errors=True)
    folder = root / f"{time.strftime('%Y%m%d-%H%M%S')}-{run.stem}"
    folder.mkdir()
    return folder


def run_logs(store: ProjectStore) -> list[Path]:
    """The store's run log folders, oldest first (their names start with the time the run began)."""
    root = logs_root(store)
    try:
        return sorted(p for p in root.iterdir() if p.is_dir() and not p.is_symlink())
    except OSError:
        return []


def last_run_log(store: ProjectStore) -> Path | None:
    """The newest run's log folder, if any."""
    logs = run_logs(store)
    return logs[-1] if logs else None


__all__ = ["KEEP_RUN_LOGS", "LOGS_DIR", "last_run_log", "logs_root", "new_run_log", "run_logs"]
