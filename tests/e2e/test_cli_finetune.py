"""``unet-core finetune``: the app's one-click fine-tune on a folder's stored corrections, from the command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from unet_core.data.io import read_mask
from unet_core.data.layouts import detect_layout
from unet_core.loop.corrections import validation_stems
from unet_core.loop.runs import import_model_file
from unet_core.loop.truth import project_records
from unet_core.model.checkpoint import read_metadata
from unet_core.sample.writer import write_sample
from unet_core.store.project import ProjectStore


def _run(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "unet_core", "finetune", *map(str, args)], capture_output=True,
                          text=True, timeout=300, check=False)


def test_finetune_runs_the_apps_job_on_the_stored_corrections(tmp_path: Path, tiny_model: Path) -> None:
    root = write_sample(tmp_path / "data", "carvana", count=8, seed=2, size_hw=(64, 96))
    layout = detect_layout(root)
    with ProjectStore.for_dataset(root) as store:
        import_model_file(store, tiny_model, layout.classes.num_classes)
        records, _ = project_records(layout, store)
        val = validation_stems(layout, records)
        for rec in [r for r in records if r.stem not in val][:3]:
            store.save_mask(rec.stem, read_mask(rec.mask_path, layout.mask_format))
            store.update_state(rec.stem, status="corrected")
        store_files = sorted(p.relative_to(store.root) for p in store.root.rglob("*") if p.is_file())
    out = tmp_path / "ft.safetensors"
    proc = _run("--data", root, "--out", out, "--epochs", "1", "--quiet", "--device", "cpu")
    assert proc.returncode == 0, proc.stderr
    assert "validation Dice" in proc.stderr and "best epoch" in proc.stderr
    assert read_metadata(out).classes == layout.classes
    with ProjectStore(store.root, root, read_only=True) as again:  # read, not written
        assert sorted(p.relative_to(again.root) for p in again.root.rglob("*") if p.is_file()) == store_files


def test_finetune_without_a_store_or_a_model_says_what_is_missing(tmp_path: Path) -> None:
    root = write_sample(tmp_path / "data", "carvana", count=2, seed=0, size_hw=(48, 64))
    out = tmp_path / "ft.safetensors"
    proc = _run("--data", root, "--out", out, "--quiet")
    assert proc.returncode == 1 and "no project store" in proc.stderr and not out.exists()
    assert not (root / ".maskloop").exists()
    ProjectStore.for_dataset(root).close()
    proc = _run("--data", root, "--out", out, "--quiet")
    assert proc.returncode == 1 and "no model yet" in proc.stderr and not out.exists()
