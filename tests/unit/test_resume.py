"""Resuming training: a missing or corrupt ``.last`` file stops with one line naming it; stale temps go."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from safetensors.torch import save as st_save

from unet_core.cli.entry import main
from unet_core.data.dataset import examples_from_layout
from unet_core.data.layouts import detect_layout
from unet_core.data.split import split_by_group
from unet_core.errors import MaskloopError
from unet_core.fsutil import remove_stale_temps
from unet_core.model.checkpoint import load_checkpoint_tensors
from unet_core.training.resume import RESUME_KEY, last_path_for
from unet_core.training.trainer import train
from unet_core.training.types import TrainConfig

CFG = dict(arch="unet-tiny", size_hw=(32, 48), batch_size=4, lr=3e-3, device="cpu")


@pytest.fixture(scope="module")
def finished_run(carvana_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list, list, object]:
    """One epoch of training: the best checkpoint and its ``.last`` resume state."""
    layout = detect_layout(carvana_dir)
    pairs, _ = layout.pairs()
    ex = examples_from_layout(layout, pairs)
    tr, va = split_by_group(ex, [e.group for e in ex], 0.34, seed=0)
    out = tmp_path_factory.mktemp("run") / "m.safetensors"
    train(tr, va, layout.classes, TrainConfig(epochs=1, **CFG), out)
    assert last_path_for(out).is_file()
    return out, tr, va, layout.classes


def _one_line_naming(err: BaseException | str, path: Path) -> None:
    text = str(err)
    assert "\n" not in text.strip() and str(path) in text, text


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_resume_without_last_file_stops_and_keeps_the_best_checkpoint(finished_run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src, tr, va, classes = finished_run
    out = tmp_path / "m.safetensors"
    out.write_bytes(src.read_bytes())  # a best checkpoint of an earlier run, but no .last
    before = _snapshot(tmp_path)
    with pytest.raises(MaskloopError) as info:
        train(tr, va, classes, TrainConfig(epochs=2, **CFG), out, resume=True)
    _one_line_naming(info.value, last_path_for(out))
    assert _snapshot(tmp_path) == before


def test_cli_resume_without_last_file_exits_1_naming_it(finished_run, carvana_dir: Path, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "model.safetensors"
    best = finished_run[0].read_bytes()  # the user's best model of an earlier run
    out.write_bytes(best)
    code = main(["train", "--data", str(carvana_dir), "--out", str(out), "--resume", "--epochs", "1",
                 "--size", "32x48", "--arch", "unet-tiny", "--device", "cpu", "--quiet"])
    err = capsys.readouterr().err
    assert code == 1
    lines = [ln for ln in err.strip().splitlines() if "error" in ln]
    assert len(lines) == 1 and str(last_path_for(out)) in lines[0], err
    assert out.read_bytes() == best and sorted(os.listdir(tmp_path)) == ["model.safetensors"]


def _rewrite(last: Path, change: Callable[[dict[str, torch.Tensor], dict[str, str]], None]) -> None:
    tensors, meta = load_checkpoint_tensors(last)
    change(tensors, meta)
    last.write_bytes(st_save(tensors, metadata=meta))


def _payload_edit(edit: Callable[[dict], None]) -> Callable[[dict[str, torch.Tensor], dict[str, str]], None]:
    def change(tensors: dict[str, torch.Tensor], meta: dict[str, str]) -> None:
        payload = json.loads(meta[RESUME_KEY])
        edit(payload)
        meta[RESUME_KEY] = json.dumps(payload)
    return change


def _first_optim(tensors: dict[str, torch.Tensor], suffix: str) -> str:
    return next(k for k in sorted(tensors) if k.startswith("__optim__.") and k.endswith(suffix))


CORRUPTIONS: dict[str, Callable[[dict[str, torch.Tensor], dict[str, str]], None]] = {
    "not json": lambda t, m: m.__setitem__(RESUME_KEY, "{not json"),
    "not an object": lambda t, m: m.__setitem__(RESUME_KEY, "[1, 2]"),
    "no param groups": _payload_edit(lambda p: p.pop("param_groups")),
    "no counters": _payload_edit(lambda p: p.pop("counters")),
    "no epoch": _payload_edit(lambda p: p["counters"].pop("epoch")),
    "bad epoch": _payload_edit(lambda p: p["counters"].__setitem__("epoch", "three")),
    "bad history": _payload_edit(lambda p: p["counters"].__setitem__("history", 7)),
    "extra group": _payload_edit(lambda p: p["param_groups"].append(dict(p["param_groups"][0]))),
    "bad optimizer name": lambda t, m: t.__setitem__("__optim__.nonsense", torch.zeros(1)),
    "optimizer shape": lambda t, m: t.__setitem__(_first_optim(t, ".exp_avg"), torch.zeros(3, 5)),
    "missing weights": lambda t, m: t.pop(next(k for k in sorted(t) if not k.startswith("__optim__."))),
    "no resume state": lambda t, m: m.pop(RESUME_KEY),
}


@pytest.mark.parametrize("corruption", sorted(CORRUPTIONS))
def test_corrupt_resume_state_is_one_line_naming_the_file(finished_run, tmp_path: Path, corruption: str) -> None:  # type: ignore[no-untyped-def]
    src, tr, va, classes = finished_run
    out = tmp_path / "m.safetensors"
    out.write_bytes(src.read_bytes())
    last = last_path_for(out)
    last.write_bytes(last_path_for(src).read_bytes())
    _rewrite(last, CORRUPTIONS[corruption])
    before = _snapshot(tmp_path)
    with pytest.raises(MaskloopError) as info:
        train(tr, va, classes, TrainConfig(epochs=2, **CFG), out, resume=True)
    _one_line_naming(info.value, last)
    assert _snapshot(tmp_path) == before


def test_truncated_resume_state_is_one_line_naming_the_file(finished_run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src, tr, va, classes = finished_run
    out = tmp_path / "m.safetensors"
    last = last_path_for(out)
    data = last_path_for(src).read_bytes()
    last.write_bytes(data[: len(data) // 2])
    with pytest.raises(MaskloopError) as info:
        train(tr, va, classes, TrainConfig(epochs=2, **CFG), out, resume=True)
    _one_line_naming(info.value, last)
    assert not out.exists()


def test_stale_checkpoint_temps_are_removed_at_the_next_save(finished_run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _src, tr, va, classes = finished_run
    out = tmp_path / "m.safetensors"
    old = time.time() - 120
    stale = [tmp_path / ".m.safetensors.ab_cd123.tmp", tmp_path / ".m.last.safetensors.x1y2z3w4.tmp"]
    fresh = tmp_path / ".m.safetensors.newone12.tmp"  # may belong to a writer that is still running
    foreign = [tmp_path / ".other.safetensors.abcdefgh.tmp", tmp_path / "m.safetensors.abcdefgh.tmp",
               tmp_path / ".m.safetensors.notours.tmp"]
    for p in [*stale, fresh, *foreign]:
        p.write_bytes(b"partial")
    for p in [*stale, *foreign]:
        os.utime(p, (old, old))
    train(tr, va, classes, TrainConfig(epochs=1, **CFG), out)
    assert not any(p.exists() for p in stale)
    assert fresh.exists() and all(p.exists() for p in foreign)
    os.utime(fresh, (old, old))
    assert remove_stale_temps(out) == 1 and not fresh.exists()


def test_a_resumed_run_that_never_saves_the_best_still_removes_its_stale_temps(finished_run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src, tr, va, classes = finished_run
    out = tmp_path / "m.safetensors"
    out.write_bytes(src.read_bytes())
    last_path_for(out).write_bytes(last_path_for(src).read_bytes())
    stale = tmp_path / ".m.safetensors.ab_cd123.tmp"  # a kill mid-save of the best, an earlier run
    stale.write_bytes(b"partial")
    old = time.time() - 120
    os.utime(stale, (old, old))
    best_before = out.read_bytes()
    # already at the epoch limit: the resumed run trains nothing and so never saves `out`
    train(tr, va, classes, TrainConfig(epochs=1, **CFG), out, resume=True)
    assert out.read_bytes() == best_before
    assert not stale.exists()
