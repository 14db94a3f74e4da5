"""Outputs the app writes to a place that refuses them: a one-line message naming the file, nothing half-written."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest
from PySide6.QtWidgets import QFileDialog

from tests.gui.app_helpers import window_with_model
from tests.unit.fault_helpers import deny_writes_under, fill_disk

pytestmark = pytest.mark.slow


def test_save_model_as_into_a_read_only_or_full_folder(qtbot, folder: Path, tiny_model: Path, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    w = window_with_model(qtbot, tmp_path, folder, tiny_model)
    problems: list[str] = []
    monkeypatch.setattr(w, "show_problem", problems.append)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    target = out_dir / "mine.safetensors"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    with monkeypatch.context() as m:
        deny_writes_under(m, out_dir, errno.EROFS)
        w.save_model_as()  # used to raise PermissionError out of the menu action
    with monkeypatch.context() as m:
        fill_disk(m, out_dir)
        w.save_model_as()
    assert len(problems) == 2, problems
    assert "read-only" in problems[0] and "disk is full" in problems[1]
    assert all(str(target) in p and len(p.strip().splitlines()[-1]) > 0 for p in problems)
    assert list(out_dir.iterdir()) == []  # nothing half-written, no temporary left
    w.save_model_as()
    assert target.read_bytes() == w.ws.model.path.read_bytes()
    w.close()
