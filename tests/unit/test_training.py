"""Training loop: callbacks, cooperative stop, time limit, resume, reproducibility, fine-tuning."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from unet_core.data.dataset import Example, examples_from_layout
from unet_core.data.layouts import detect_layout
from unet_core.data.split import split_by_group
from unet_core.model.checkpoint import load_checkpoint, read_metadata
from unet_core.training.calibration import Calibration
from unet_core.training.finetune import correction_weight_map, fine_tune, replay_sample
from unet_core.training.trainer import train
from unet_core.training.types import Callback, EpochInfo, StepInfo, TrainConfig, learning_rate

CFG = dict(arch="unet-tiny", size_hw=(48, 64), batch_size=4, lr=3e-3, device="cpu")


def _split(carvana_dir: Path) -> tuple[list[Example], list[Example], object]:
    layout = detect_layout(carvana_dir)
    pairs, _ = layout.pairs()
    ex = examples_from_layout(layout, pairs)
    tr, va = split_by_group(ex, [e.group for e in ex], 0.34, seed=0)
    return tr, va, layout


class Recorder(Callback):
    def __init__(self, stop_at: int | None = None, stop: threading.Event | None = None) -> None:
        self.steps: list[StepInfo] = []
        self.epochs: list[EpochInfo] = []
        self.started = False
        self.ended = None
        self.stop_at, self.stop = stop_at, stop

    def on_start(self, info: dict) -> None:
        self.started = True

    def on_step(self, info: StepInfo) -> None:
        self.steps.append(info)
        if self.stop_at is not None and info.global_step == self.stop_at and self.stop is not None:
            self.stop.set()

    def on_epoch(self, info: EpochInfo) -> None:
        self.epochs.append(info)

    def on_end(self, result) -> None:
        self.ended = result


def test_train_writes_checkpoints_and_reports_progress(carvana_dir: Path, tmp_path: Path) -> None:
    tr, va, layout = _split(carvana_dir)
    rec = Recorder()
    out = tmp_path / "m.safetensors"
    res = train(tr, va, layout.classes, TrainConfig(epochs=2, log_dir=tmp_path / "logs", **CFG), out,
                callbacks=[rec], dataset_kind="carvana")
    assert res.stop_reason == "completed" and res.epochs == 2
    assert out.exists() and res.last_path.exists() and res.last_path.name == "m.last.safetensors"
    assert rec.started and rec.ended is res
    assert len(rec.epochs) == 2 and all(e.val_dice is not None for e in rec.epochs)
    assert len(rec.steps) == res.steps > 0 and rec.steps[-1].progress == pytest.approx(1.0)
    assert all(np.isfinite(s.loss) for s in rec.steps)
    meta = read_metadata(out)
    assert meta.input_size == (48, 64) and meta.training["val_images"] == len(va)
    assert meta.dataset_kind == "carvana"
    assert len((tmp_path / "logs" / "metrics.jsonl").read_text().splitlines()) == 2
    # the saved weights carry how well their uncertainty ranked their errors on every validation image
    calibration = Calibration.from_training(meta.training)
    assert calibration is not None and calibration.images == len(va) and calibration.split is None
    history = [e.val_metrics["uncertainty_calibration"] for e in rec.epochs]
    best = max(range(len(rec.epochs)), key=lambda i: (rec.epochs[i].val_dice, i))  # ties: the later epoch saved
    assert calibration.to_dict() == history[best]  # the best file carries its own epoch's measurement
    assert rec.epochs[-1].val_metrics["uncertainty_calibration"]["images"] == len(va)


def test_stop_flag_is_honoured_within_one_step(carvana_dir: Path, tmp_path: Path) -> None:
    tr, va, layout = _split(carvana_dir)
    stop = threading.Event()
    rec = Recorder(stop_at=2, stop=stop)
    res = train(tr, va, layout.classes, TrainConfig(epochs=50, **CFG), tmp_path / "s.safetensors",
                callbacks=[rec], stop=stop)
    assert res.stop_reason == "stopped" and res.steps == 2
    load_checkpoint(res.best_path)  # a usable checkpoint is left behind


def test_time_limit_ends_the_run(carvana_dir: Path, tmp_path: Path) -> None:
    tr, va, layout = _split(carvana_dir)
    res = train(tr, va, layout.classes, TrainConfig(time_limit=4.0, **CFG), tmp_path / "t.safetensors")
    assert res.stop_reason == "time_limit"
    assert res.seconds < 12


def test_resume_continues_from_last_state(carvana_dir: Path, tmp_path: Path) -> None:
    tr, va, layout = _split(carvana_dir)
    out = tmp_path / "r.safetensors"
    first = train(tr, va, layout.classes, TrainConfig(epochs=2, **CFG), out)
    again = train(tr, va, layout.classes, TrainConfig(epochs=3, **CFG), out, resume=True)
    assert again.epochs == 1 and len(again.history) == 3
    assert again.steps == first.steps + first.steps // 2


def test_seeded_runs_are_reproducible(carvana_dir: Path, tmp_path: Path) -> None:
    tr, va, layout = _split(carvana_dir)
    weights = []
    for name in ("a", "b"):
        train(tr, va, layout.classes, TrainConfig(epochs=1, seed=7, **CFG), tmp_path / f"{name}.safetensors")
        weights.append(load_checkpoint(tmp_path / f"{name}.last.safetensors")[0].state_dict())
    for k in weights[0]:
        assert torch.equal(weights[0][k], weights[1][k]), k


def test_learning_rate_schedule() -> None:
    cfg = TrainConfig(lr=1e-3, warmup_fraction=0.1)
    assert learning_rate(cfg, 0.0) < learning_rate(cfg, 0.1) == pytest.approx(1e-3)
    assert learning_rate(cfg, 1.0) == pytest.approx(5e-5)
    assert learning_rate(TrainConfig(lr=1e-3, schedule="constant"), 0.7) == 1e-3


def test_correction_weights_and_replay() -> None:
    pred = np.zeros((20, 20), np.uint8)
    corr = pred.copy()
    corr[5:8, 5:8] = 1
    w = correction_weight_map(pred, corr, boost=4.0, boundary_px=2)
    assert w[6, 6] == 5.0 and w[4, 4] == 5.0 and w[0, 0] == 1.0 and w[15, 15] == 1.0
    assert (correction_weight_map(None, corr) == 1).all()
    pool = list(range(10))
    picked = replay_sample(pool, n_corrected=6, fraction=0.25, seed=0)  # type: ignore[arg-type]
    assert len(picked) == 2 and set(picked) <= set(pool)
    assert replay_sample(pool, 6, 0.0, 0) == []  # type: ignore[arg-type]


def test_fine_tune_never_gets_worse_on_validation(carvana_dir: Path, tiny_model: Path, tmp_path: Path) -> None:
    tr, va, _ = _split(carvana_dir)
    corrected = [Example(e.image_path, e.mask_path, e.mask_format, e.group,
                         weight=np.full((160, 240), 2.0, np.float32)) for e in tr[:3]]
    res = fine_tune(tiny_model, corrected, va, tmp_path / "ft.safetensors", replay_pool=tr[3:],
                    config=TrainConfig(epochs=2, **{**CFG, "size_hw": None}))
    assert res.initial_val_dice is not None and res.best_val_dice is not None
    assert res.best_val_dice >= res.initial_val_dice
    meta = read_metadata(tmp_path / "ft.safetensors")
    assert meta.parent_hash is not None and meta.input_size == read_metadata(tiny_model).input_size


def test_a_fine_tune_that_never_beats_the_start_keeps_its_best_epoch_aside(carvana_dir: Path, tiny_model: Path,
                                                                           tmp_path: Path) -> None:
    from unet_core.loop.policy import trained_dice
    from unet_core.loop.runs import remove_run
    from unet_core.model.checkpoint import file_hash

    tr, va, _ = _split(carvana_dir)
    out = tmp_path / "ft.safetensors"
    res = fine_tune(tiny_model, tr[:3], va, out, config=TrainConfig(epochs=3, **{**CFG, "lr": 0.9, "size_hw": None}))
    dices = [r["val_dice"] for r in res.history]
    assert max(dices) < res.initial_val_dice  # a learning rate that wrecks the model: no epoch beats the start
    assert res.trained_path is not None and res.trained_path.name == "ft.trained.safetensors"
    assert file_hash(res.trained_path) != file_hash(out)  # out holds the start; the best epoch is kept aside
    assert load_checkpoint(res.trained_path)[1].parent_hash == file_hash(tiny_model)  # a fine-tune of the start
    epoch = read_metadata(res.trained_path).training["epochs"]  # the epoch whose weights the file holds ...
    assert res.history[epoch - 1]["val_dice"] == trained_dice(res.history) == max(dices)  # ... the best one
    remove_run(out)
    assert not out.exists() and not res.trained_path.exists() and not res.last_path.exists()
