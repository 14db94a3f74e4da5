"""``--screenshot``: open a folder, wait for the first image (and its prediction), save the window as PNG."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from PySide6.QtWidgets import QApplication

from app.window.main_window import MainWindow


def _wait(app: QApplication, done, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        app.processEvents()
        if done():
            return True
        time.sleep(0.01)
    return False


def take_screenshot(app: QApplication, window: MainWindow, folder: str, model: str | None, out: Path,
                    timeout: float = 120.0) -> int:
    """Exit code 0 when the PNG was written; 1 with a one-line message otherwise."""
    window.setProperty("quiet_dialogs", True)
    problems: list[str] = []
    window.ws.problem.connect(problems.append)
    window.resize(1500, 950)
    window.show()
    def fail() -> int:
        message = problems[-1] if problems else window.statusBar().currentMessage()
        print("maskloop: error: " + " ".join(message.replace("\n\n", ": ").split()), file=sys.stderr)
        return 1

    if not window.open_folder(folder):
        return fail()
    if model and not window.open_model(model):
        return fail()
    ws = window.ws
    _wait(app, lambda: ws.loaded is not None, timeout)
    wants_model = model is not None or bool(ws.store and ws.store.current_model())
    if wants_model:
        _wait(app, lambda: ws.model.predictor is not None, timeout)
        _wait(app, lambda: ws.current is not None and ws.model.labels(ws.current) is not None, timeout)
    _wait(app, lambda: False, 0.3)  # let the views settle (thumbnails, plots)
    out.parent.mkdir(parents=True, exist_ok=True)
    if not window.grab().save(str(out)):
        print(f"maskloop: error: {out}: cannot write PNG", file=sys.stderr)
        return 1
    print(f"wrote {out}", file=sys.stderr)
    window.close()
    return 0
