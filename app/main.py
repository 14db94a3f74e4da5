"""Application entry point: ``maskloop [DIR] [--model M] [--screenshot PNG]`` (also ``python main.py``)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="maskloop", description="Predict, correct and fine-tune segmentation masks.")
    p.add_argument("folder", nargs="?", metavar="DIR",
                   help="dataset folder (Carvana, CARLA, images/+masks/ or just images); default: the bundled demo")
    p.add_argument("--model", metavar="M", help="a .safetensors checkpoint to predict with")
    p.add_argument("--screenshot", metavar="PNG",
                   help="open DIR, show the first image with its overlay, save the window to PNG and exit")
    p.add_argument("--settings", metavar="INI", help=argparse.SUPPRESS)  # tests and benchmarks
    p.add_argument("--timeout", type=float, default=120.0, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def _prepare_environment(screenshot: bool) -> None:
    os.environ.setdefault("QT_DRIVER", "PySide6")  # qimage2ndarray binding
    os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
    os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
    headless = not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) and sys.platform.startswith("linux")
    if screenshot and headless:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


XCB_LIBS = ("libxcb-cursor.so.0", "libxcb-icccm.so.4", "libxcb-keysyms.so.1", "libxkbcommon-x11.so.0",
            "libxcb-image.so.0", "libxcb-render-util.so.0", "libxcb-shape.so.0")
XCB_PACKAGES = ("libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxkbcommon-x11-0 libxcb-image0 "
                "libxcb-render-util0 libxcb-shape0")


def missing_gui_packages() -> list[str]:
    """The Qt packages of the ``gui`` extra that cannot be imported (the core runs without them)."""
    import importlib.util

    return [name for name in ("PySide6", "qimage2ndarray") if importlib.util.find_spec(name) is None]


def missing_x11_libraries() -> list[str]:
    """System libraries Qt's X11 plugin needs that this Linux machine lacks (Qt would abort without them)."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM", "xcb") != "xcb":
        return []
    if not os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return []
    import ctypes

    missing = []
    for lib in XCB_LIBS:
        try:
            ctypes.CDLL(lib)
        except OSError:
            missing.append(lib)
    return missing


def no_model_message(window: Any) -> str:
    """The demo's first hint, with the training time the Training panel will really use."""
    settings = window.training.settings("scratch")
    if settings.time_limit_s:
        minutes = settings.time_limit_s / 60
        length = f"{minutes:.0f} minute{'s' if round(minutes) != 1 else ''}" if minutes >= 1 \
            else f"{settings.time_limit_s:.0f} seconds"
    else:
        length = f"{settings.epochs} epochs"
    return (f"Demo dataset ready. No model yet: press 'Train from scratch' in the Training panel "
            f"({length} as set; change it under Settings).")


def main(argv: Sequence[str] | None = None) -> int:
    """Start the app; returns the exit code."""
    args = parse_args(argv)
    _prepare_environment(bool(args.screenshot))
    gui = missing_gui_packages()
    if gui:
        print(f"maskloop: error: the app needs {', '.join(gui)} (the gui extra): python -m pip install -e '.[gui]' "
              "in this repository, or pip install 'maskloop[gui]'; the unet-core command works without them",
              file=sys.stderr)
        return 2
    missing = missing_x11_libraries()
    if missing:
        print(f"maskloop: error: Qt needs X11 libraries that are not installed ({', '.join(missing)}); "
              f"on Debian/Ubuntu: sudo apt-get install {XCB_PACKAGES}", file=sys.stderr)
        return 1
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Maskloop")
    app.setOrganizationName("Maskloop")
    from PySide6.QtGui import QIcon

    from resources import resource_path

    app.setWindowIcon(QIcon(str(resource_path("maskloop.svg"))))
    from app.window.main_window import MainWindow
    from app.window.settings import make_settings
    from app.workers import preload_training_modules, tune_for_responsiveness

    preload_training_modules()  # imports that would otherwise hold the GIL during the first training run
    window = MainWindow(make_settings(args.settings))
    tune_for_responsiveness()  # start-up objects out of the garbage collector's walks; the GIL shared quickly
    folder = args.folder
    if folder is None:
        from app.window.demo import ensure_demo

        window.statusBar().showMessage("Preparing the demo dataset…")
        folder = str(ensure_demo())
    if not Path(folder).exists():
        print(f"maskloop: error: {folder}: no such folder", file=sys.stderr)
        return 1
    if args.screenshot:
        from app.window.screenshot import take_screenshot

        return take_screenshot(app, window, folder, args.model, Path(args.screenshot), args.timeout)
    window.show()
    window.open_folder(folder)
    if args.model:
        window.open_model(args.model)
    elif args.folder is None and window.ws.model.predictor is None and window.ws.store is not None \
            and not window.ws.store.models():
        window.statusBar().showMessage(no_model_message(window))
    return app.exec()


if __name__ == "__main__":
    raise SystemExit(main())
