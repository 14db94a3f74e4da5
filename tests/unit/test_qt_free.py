"""The core library never loads Qt: importing every ``unet_core`` module leaves PySide6 unloaded."""

from __future__ import annotations

import subprocess
import sys


def test_unet_core_imports_no_qt() -> None:
    code = (
        "import pkgutil, importlib, sys, unet_core\n"
        "for m in pkgutil.walk_packages(unet_core.__path__, 'unet_core.'):\n"
        "    if m.name != 'unet_core.__main__':\n"
        "        importlib.import_module(m.name)\n"
        "bad = sorted(n for n in sys.modules if n.split('.')[0] in ('PySide6', 'shiboken6', 'qimage2ndarray', 'pyqtgraph'))\n"
        "print(len([n for n in sys.modules if n.startswith('unet_core')]), bad)\n"
        "assert not bad, bad\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    count = int(proc.stdout.split()[0])
    assert count > 20  # really imported the whole package
