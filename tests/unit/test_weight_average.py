"""The weights' moving average: its update rule, and that a run validates and saves it without training differently."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from unet_core.data.dataset import examples_from_layout
from unet_core.data.layouts import detect_layout
from unet_core.data.split import split_by_group
from unet_core.model.checkpoint import load_checkpoint
from unet_core.training.averaging import AVERAGE_DECAY, WARMUP, WeightAverage
from unet_core.training.trainer import _Run, train
from unet_core.training.types import TrainConfig

CFG = dict(arch="unet-tiny", size_hw=(48, 64), batch_size=4, lr=3e-3, device="cpu", seed=3)


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3))


def test_each_update_moves_the_average_toward_the_weights_by_the_warmed_up_decay() -> None:
    net = _net()
    avg = WeightAverage(net, 0.99)
    start = {k: v.clone() for k, v in avg.module.state_dict().items()}
    with torch.no_grad():
        for p in net.parameters():
            p.add_(1.0)
        net[1].running_mean.fill_(4.0)
        net[1].num_batches_tracked.fill_(7)
    avg.update(net)
    d = min(0.99, 2.0 / (WARMUP + 1.0))  # the first step: the warm-up bound, not 0.99
    got = avg.module.state_dict()
    for name, p in net.state_dict().items():
        if p.dtype.is_floating_point:
            assert torch.allclose(got[name], d * start[name] + (1 - d) * p), name
    assert int(got["1.num_batches_tracked"]) == 7  # integer buffers are copied, not averaged
    assert not any(p.requires_grad for p in avg.module.parameters()) and not avg.module.training


def test_the_average_of_unchanging_weights_is_those_weights_and_restart_starts_again() -> None:
    net = _net()
    avg = WeightAverage(net, 0.9)
    for _ in range(5):
        avg.update(net)
    for a, b in zip(avg.module.parameters(), net.parameters(), strict=True):
        assert torch.allclose(a, b)
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(-2.0)
    avg.restart(net)
    assert avg.steps == 0
    for a, b in zip(avg.module.parameters(), net.parameters(), strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize("decay", [0.0, 1.0, -0.5, 1.5])
def test_a_decay_outside_zero_to_one_is_refused(decay: float) -> None:
    with pytest.raises(ValueError, match="decay"):
        WeightAverage(_net(), decay)
    if decay != 0.0:  # 0 is a valid setting of the run: no average
        with pytest.raises(ValueError, match="average"):
            TrainConfig(average=decay).validate()


def test_a_tensor_shared_by_two_modules_is_averaged_once() -> None:
    shared = nn.Linear(2, 2)
    net = nn.Sequential(shared, shared)
    avg = WeightAverage(net, 0.99)
    start = avg.module[0].weight.clone()
    with torch.no_grad():
        shared.weight.add_(1.0)
    avg.update(net)
    d = 2.0 / (WARMUP + 1.0)
    assert torch.allclose(avg.module[0].weight, d * start + (1 - d) * shared.weight)
    assert avg.module[0].weight is avg.module[1].weight  # the copy keeps the sharing


def test_the_cli_flag_reaches_the_run_and_bad_values_are_refused() -> None:
    from unet_core.cli.entry import build_parser

    parser = build_parser()
    assert parser.parse_args(["train", "--data", "d", "--out", "m", "--average", "0.95"]).average == 0.95
    assert parser.parse_args(["train", "--data", "d", "--out", "m"]).average is None
    with pytest.raises(SystemExit):
        parser.parse_args(["train", "--data", "d", "--out", "m", "--average", "1"])


def test_a_run_saves_the_average_and_trains_exactly_as_without_it(carvana_dir: Path, tmp_path: Path) -> None:
    layout = detect_layout(carvana_dir)
    pairs, _ = layout.pairs()
    ex = examples_from_layout(layout, pairs)
    tr, va = split_by_group(ex, [e.group for e in ex], 0.34, seed=0)
    runs = {}
    for name, decay in (("plain", 0.0), ("averaged", 0.9)):
        out = tmp_path / f"{name}.safetensors"
        res = train(tr, va, layout.classes, TrainConfig(epochs=2, average=decay, **CFG), out)
        assert res.best_val_dice is not None
        model, meta = load_checkpoint(out)
        assert meta.training.get("average") == (decay or None)  # the checkpoint says what it holds
        runs[name] = (model.state_dict(), load_checkpoint(tmp_path / f"{name}.last.safetensors")[0].state_dict())
    (plain_best, plain_last), (avg_best, avg_last) = runs["plain"], runs["averaged"]
    for k in plain_last:  # the average never feeds back: the weights trained are the same, step for step
        assert torch.equal(plain_last[k], avg_last[k]), k
    floats = [k for k in avg_best if avg_best[k].dtype.is_floating_point]  # what was saved is the average instead
    assert any(not torch.equal(avg_best[k], avg_last[k]) for k in floats)
    assert any(not torch.equal(avg_best[k], plain_best[k]) for k in floats)


@pytest.mark.parametrize(("clicks", "average", "expected"), [
    (None, None, None),  # an automatic run keeps its own weights
    (0.5, None, AVERAGE_DECAY),  # a run with clicks averages them
    (0.5, 0.0, None),  # unless told not to
    (None, 0.95, 0.95),  # and an automatic run may be told to
])
def test_who_averages_by_default(carvana_dir: Path, tmp_path: Path, clicks: float | None, average: float | None,
                                 expected: float | None) -> None:
    layout = detect_layout(carvana_dir)
    pairs, _ = layout.pairs()
    ex = examples_from_layout(layout, pairs)
    cfg = TrainConfig(epochs=1, clicks=clicks, average=average, **CFG)
    run = _Run(ex[:4], ex[4:], layout.classes, cfg, tmp_path / "m.safetensors", None, False, [], None, "carvana")
    assert (run.average.decay if run.average is not None else None) == expected
    assert run.kept is (run.average.module if run.average is not None else run.model)
