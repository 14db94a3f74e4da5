"""Recipes: one set of defaults for the CLI, the app and the loop; class-balanced loss weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from unet_core.cli.entry import build_parser
from unet_core.loop.rounds import round_config
from unet_core.training.losses import balanced_class_weights, weighted_cross_entropy
from unet_core.training.recipes import DEFAULT_RECIPE, RECIPES, recipe


def test_the_short_recipe_is_the_default_everywhere() -> None:
    short = recipe("short")
    assert DEFAULT_RECIPE == "short"
    config = short.config()
    assert (config.lr, config.long_side, config.min_epoch_samples, config.class_balance) == (1e-3, 256, 48, 0.5)
    assert short.config(finetune=True).lr == 3e-4
    assert short.config(lr=5e-4, size_hw=None).lr == 5e-4  # a flag wins; None means "not given"
    loop = round_config(arch="unet-small", size_hw=None, epochs=None, time_limit=60, lr=2e-3, device="cpu")
    assert (loop.long_side, loop.min_epoch_samples, loop.epochs, loop.lr) == (256, 48, None, 2e-3)
    from app.panels.train_form import DEFAULTS

    assert DEFAULTS["scratch"].lr == short.lr and DEFAULTS["finetune"].lr == short.finetune_lr
    seeds = recipe("seeds").config()
    assert (seeds.lr, seeds.long_side, seeds.min_epoch_samples, seeds.class_balance) == (1e-4, 384, 0, 0.0)
    with pytest.raises(ValueError, match="unknown recipe 'fast'; use one of short, seeds"):
        recipe("fast")


def test_the_cli_names_every_recipe_and_refuses_others(capsys: pytest.CaptureFixture[str]) -> None:
    args = build_parser().parse_args(["train", "--data", "d", "--out", "m.safetensors", "--recipe", "seeds"])
    assert args.recipe == "seeds" and args.lr is None
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "--data", "d", "--out", "m.safetensors", "--recipe", "x"])
    assert "invalid choice" in capsys.readouterr().err
    sub = build_parser()._subparsers._group_actions[0].choices["train"].format_help()  # type: ignore[union-attr]
    assert all(name in sub for name in RECIPES)


def test_rare_classes_weigh_more_and_the_average_pixel_keeps_weight_one() -> None:
    counts = np.array([0, 9000, 2000, 500, 200])
    w = balanced_class_weights(counts, power=0.5)
    assert w[0] == 0 and w[1] < w[2] < w[3] < w[4]
    freq = counts / counts.sum()
    assert float((freq * w).sum()) == pytest.approx(1.0, rel=1e-5)
    capped = balanced_class_weights(np.array([0, 9000, 900, 90, 10]), power=1.0, most=10.0)
    assert capped[4] / capped[1] == pytest.approx(10.0, rel=1e-5)
    assert not balanced_class_weights(np.zeros(3)).any()


def test_class_weights_scale_each_pixels_cross_entropy() -> None:
    torch.manual_seed(0)
    logits = torch.randn(2, 3, 5, 5)
    target = torch.randint(0, 3, (2, 5, 5))
    cw = torch.tensor([1.0, 2.0, 4.0])
    expect = F.cross_entropy(logits, target, weight=cw)  # torch's weighted mean
    assert weighted_cross_entropy(logits, target, None, cw).item() == pytest.approx(expect.item(), rel=1e-5)
    assert weighted_cross_entropy(logits, target, torch.ones(2, 5, 5), torch.ones(3)).item() == pytest.approx(
        F.cross_entropy(logits, target).item(), rel=1e-5)


def test_a_balanced_run_records_its_class_weights(carla_dir: Path, tmp_path: Path) -> None:
    from unet_core.data.dataset import examples_from_layout
    from unet_core.data.layouts import detect_layout
    from unet_core.model.checkpoint import load_checkpoint
    from unet_core.training.trainer import train
    from unet_core.training.types import TrainConfig

    layout = detect_layout(carla_dir)
    examples = examples_from_layout(layout, layout.pairs()[0])
    config = TrainConfig(arch="unet-tiny", size_hw=(48, 64), epochs=1, batch_size=4, device="cpu", class_balance=0.5)
    train(examples[:4], examples[4:6], layout.classes, config, tmp_path / "m.safetensors")
    weights = load_checkpoint(tmp_path / "m.safetensors")[1].training["class_weights"]
    assert len(weights) == 23 and max(weights) > 1 > min(w for w in weights if w > 0)


@pytest.mark.parametrize(("flags", "augment", "strength"), [
    ([], True, "default"),
    (["--augment", "strong"], True, "strong"),
    (["--augment", "light"], True, "light"),
    (["--augment", "none"], False, "default"),
    (["--no-augment"], False, "default"),
])
def test_the_augmentation_strength_reaches_the_run_from_the_cli(carvana_dir: Path, tmp_path: Path, flags: list[str],
                                                                augment: bool, strength: str) -> None:
    from unet_core.cli.entry import main
    from unet_core.model.checkpoint import load_checkpoint

    out = tmp_path / "m.safetensors"
    rc = main(["train", "--data", str(carvana_dir), "--out", str(out), "--arch", "unet-tiny", "--size", "48x64",
               "--epochs", "1", "--quiet", *flags])
    assert rc == 0
    config = load_checkpoint(out)[1].training["config"]
    assert (config["augment"], config["augment_strength"]) == (augment, strength)


def test_each_strength_builds_its_own_augmentation_and_a_bad_one_is_refused(carvana_dir: Path, tmp_path: Path) -> None:
    from unet_core.data.dataset import examples_from_layout
    from unet_core.data.layouts import detect_layout
    from unet_core.training.trainer import _Run
    from unet_core.training.types import TrainConfig

    layout = detect_layout(carvana_dir)
    ex = examples_from_layout(layout, layout.pairs()[0])
    steps = {}
    for strength in ("light", "default", "strong"):
        cfg = TrainConfig(arch="unet-tiny", size_hw=(48, 64), epochs=1, device="cpu", augment_strength=strength)
        run = _Run(ex[:4], ex[4:], layout.classes, cfg, tmp_path / "m.safetensors", None, False, [], None, "carvana")
        aug = run.train_data._aug
        assert aug is not None
        steps[strength] = [type(t).__name__ for t in aug.transforms]
    assert steps["light"] == ["HorizontalFlip", "Affine"]  # geometry only
    assert steps["default"] == steps["strong"] == ["HorizontalFlip", "Affine", "ColorJitter", "OneOf"]
    with pytest.raises(ValueError, match="augmentation strength must be one of none, light, default, strong"):
        TrainConfig(augment_strength="extreme").validate()
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "--data", "d", "--out", "m.safetensors", "--augment", "extreme"])
