"""The CLI's training progress: steps and time beside the bar (not a percentage), epoch lines above it."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from unet_core.cli import progress
from unet_core.cli.progress import TerminalProgress, clock, step_line
from unet_core.training.types import StepInfo


def _step(**kw: object) -> StepInfo:
    base = dict(epoch=3, step=2, steps_per_epoch=4, global_step=10, loss=0.41234, lr=1e-3, images_per_s=5.25,
                elapsed=83.0, progress=0.4, eta=124.0)
    base.update(kw)
    return StepInfo(**base)  # type: ignore[arg-type]


def test_the_line_names_the_step_the_time_and_the_last_dice() -> None:
    assert clock(83) == "1:23" and clock(3725) == "1:02:05" and clock(-2) == "0:00"
    by_time = step_line(_step(), time_limit=300.0, epochs=None, dice=0.8712)
    assert by_time == "step 10 · 1:23 of 5:00 · epoch 3 · loss 0.4123 · 5.2 img/s · val Dice 0.8712"
    by_epochs = step_line(_step(), time_limit=None, epochs=5, dice=None)
    assert by_epochs.startswith("step 10/20 · 1:23, ~2:04 left · epoch 3") and by_epochs.endswith("val Dice -")
    assert "%" not in by_time + by_epochs


def test_a_run_shows_steps_and_writes_epoch_lines_above_the_bar(carvana_dir: Path, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from unet_core.data.dataset import examples_from_layout
    from unet_core.data.layouts import detect_layout
    from unet_core.training.trainer import train
    from unet_core.training.types import TrainConfig

    err = io.StringIO()
    monkeypatch.setattr(progress.sys, "stderr", err)
    layout = detect_layout(carvana_dir)
    examples = examples_from_layout(layout, layout.pairs()[0])
    config = TrainConfig(arch="unet-tiny", size_hw=(48, 64), epochs=2, batch_size=4, lr=3e-3, device="cpu")
    train(examples[:8], examples[8:10], layout.classes, config, tmp_path / "m.safetensors",
          callbacks=[TerminalProgress()])
    text = err.getvalue()
    assert "2 epochs" in text.splitlines()[0]  # the budget is said up front
    assert re.search(r"step \d+/4 · 0:\d\d", text) and "/100%" not in text
    lines = [line for line in re.split(r"[\r\n]", text) if line.startswith("epoch ")]
    assert [line.split(" ")[1] for line in lines] == ["1", "2"]  # whole lines, not broken by the bar
    assert all("val Dice" in line for line in lines)
