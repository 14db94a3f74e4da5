"""The bundled demo dataset: generated locally, a valid Carvana folder, built once."""

from __future__ import annotations

from pathlib import Path

from app.window.demo import DEMO_COUNT, ensure_demo
from unet_core.data.layouts import detect_layout


def test_demo_is_a_carvana_folder_built_once(tmp_path: Path) -> None:
    root = ensure_demo(tmp_path / "demo")
    layout = detect_layout(root)
    pairs, skipped = layout.pairs()
    assert layout.kind == "carvana" and skipped == 0
    assert len(pairs) == DEMO_COUNT and all(p.mask is not None for p in pairs)
    assert len({layout.group_of(p.stem) for p in pairs}) == DEMO_COUNT // 2  # many different cars
    stamp = (root / "train" / f"{pairs[0].stem}.jpg").stat().st_mtime_ns
    ensure_demo(root)
    assert (root / "train" / f"{pairs[0].stem}.jpg").stat().st_mtime_ns == stamp  # not regenerated
    (root / ".complete").write_text("old\n")
    (root / "train" / "stale_01.jpg").write_bytes(b"x")
    ensure_demo(root)
    assert not (root / "train" / "stale_01.jpg").exists()  # an older demo is rebuilt cleanly
