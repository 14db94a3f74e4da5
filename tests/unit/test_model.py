"""Unit tests for the UNet model: sizes, parameter count, config round trip, presets, gradients."""

from __future__ import annotations

import itertools
import json

import pytest
import torch
from torch import nn

from unet_core.model.blocks import center_crop, mirror_pad
from unet_core.model.unet import (
    ARCH_NAMES,
    DEFAULT_ARCH,
    UNet,
    UNetConfig,
    build_model,
    count_parameters,
)

torch.set_num_threads(2)


def _conv_layers(model: nn.Module) -> int:
    return sum(isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)) for m in model.modules())


def test_classic_unet_has_reference_parameter_count() -> None:
    # 64 wide, depth 4, 2 classes, transposed convs, BatchNorm (as milesial/Pytorch-UNet).
    model = build_model(UNetConfig(num_classes=2, base_width=64, depth=4, bilinear=False, batch_norm=True))
    assert count_parameters(model) == 31_037_698
    assert count_parameters(build_model(UNetConfig.preset("unet", 2))) == 31_037_698


def test_count_parameters_ignores_frozen() -> None:
    model = build_model(UNetConfig(base_width=4, depth=2))
    total = count_parameters(model)
    frozen = sum(p.numel() for p in model.head.parameters())
    for p in model.head.parameters():
        p.requires_grad_(False)
    assert count_parameters(model) == total - frozen


_OPTION_GRID = list(itertools.product([False, True], [False, True], [False, True], [0.0, 0.3]))


@pytest.mark.parametrize(("paper", "bilinear", "batch_norm", "dropout"), _OPTION_GRID)
def test_output_matches_input_size_for_every_option(
    paper: bool, bilinear: bool, batch_norm: bool, dropout: float
) -> None:
    torch.manual_seed(0)
    config = UNetConfig(
        num_classes=3, base_width=4, paper=paper, bilinear=bilinear, batch_norm=batch_norm, dropout=dropout
    )
    model = build_model(config)
    for shape in [(1, 3, 37, 53), (2, 3, 64, 96)]:
        out = model(torch.randn(*shape))
        assert out.shape == (shape[0], 3, shape[2], shape[3])
        assert out.dtype == torch.float32
        assert torch.isfinite(out).all()


@pytest.mark.parametrize("paper", [False, True])
@pytest.mark.parametrize("hw", [(1, 1), (1, 7), (2, 1), (15, 16), (17, 33)])
def test_tiny_and_odd_inputs_train_and_eval(paper: bool, hw: tuple[int, int]) -> None:
    model = build_model(UNetConfig(base_width=2, depth=3, paper=paper))
    x = torch.randn(1, 3, *hw)
    assert model.train()(x).shape == (1, 2, *hw)
    assert model.eval()(x).shape == (1, 2, *hw)


def test_other_depths_and_channels() -> None:
    for depth in (1, 2, 5):
        model = build_model(UNetConfig(in_channels=1, num_classes=5, base_width=2, depth=depth))
        assert model(torch.randn(1, 1, 21, 11)).shape == (1, 5, 21, 11)


def test_paper_variant_has_23_conv_layers_and_full_size_output() -> None:
    config = UNetConfig.preset("unet-paper", 2, base_width=4)
    model = build_model(config)
    assert config.paper and not config.batch_norm
    assert _conv_layers(model) == 23
    three_by_three = [m for m in model.modules() if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3)]
    assert len(three_by_three) == 18
    assert all(m.padding == (0, 0) and m.bias is not None for m in three_by_three)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    model.eval()
    with torch.no_grad():
        assert model(torch.randn(1, 3, 37, 53)).shape == (1, 2, 37, 53)


def test_paper_geometry_matches_the_paper() -> None:
    # The paper's 572x572 input tile gives a 388x388 output: 92 pixels of context on each side.
    model = build_model(UNetConfig(base_width=1, paper=True, batch_norm=False))
    top, bottom, left, right = model.pad_amounts(388, 388)
    assert (top, bottom, left, right) == (92, 92, 92, 92)


def test_paper_variant_is_translation_aligned() -> None:
    # Overlap-tile: the logits of a tile, away from its mirrored borders, equal the logits of the
    # same pixels computed on the whole image, so output pixel (i, j) belongs to input pixel (i, j).
    torch.manual_seed(0)
    model = build_model(UNetConfig(base_width=2, depth=2, paper=True, batch_norm=False)).eval()
    margin = model.pad_amounts(64, 64)[0]
    image = torch.randn(1, 3, 128, 120)
    top, left, size = 8, 12, 100  # offsets are multiples of 2**depth (same pooling grid)
    with torch.no_grad():
        whole = model(image)
        tile = model(image[..., top : top + size, left : left + size])
    inner = slice(margin, size - margin)
    torch.testing.assert_close(
        tile[..., inner, inner],
        whole[..., top + margin : top + size - margin, left + margin : left + size - margin],
    )


def test_conv_counts_for_classic_variant() -> None:
    model = build_model(UNetConfig(base_width=4))
    assert _conv_layers(model) == 23
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3)]
    assert all(m.bias is None and m.padding == (1, 1) for m in convs)


def test_channels_last_gives_same_logits() -> None:
    torch.manual_seed(0)
    for paper, bilinear in [(False, False), (False, True), (True, False)]:
        model = build_model(UNetConfig(base_width=4, paper=paper, bilinear=bilinear)).eval()
        x = torch.randn(2, 3, 37, 53)
        with torch.no_grad():
            ref = model(x)
            model = model.to(memory_format=torch.channels_last)
            out = model(x.contiguous(memory_format=torch.channels_last))
        assert out.shape == ref.shape
        torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-4)
        # Cropped logits stay dense in channels_last, so downstream .view/.reshape work.
        assert out.is_contiguous(memory_format=torch.channels_last)


def test_gradients_flow_to_every_parameter() -> None:
    torch.manual_seed(0)
    model = build_model(UNetConfig(base_width=4, dropout=0.2)).to(memory_format=torch.channels_last)
    x = torch.randn(2, 3, 37, 53).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 2, (2, 37, 53))
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name
    assert any(p.grad.abs().sum() > 0 for p in model.parameters() if p.grad is not None)


def test_seeded_build_is_deterministic_and_eval_is_repeatable() -> None:
    torch.manual_seed(123)
    a = build_model(UNetConfig(base_width=4, dropout=0.5))
    torch.manual_seed(123)
    b = build_model(UNetConfig(base_width=4, dropout=0.5))
    for (na, pa), (nb, pb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert na == nb
        assert torch.equal(pa, pb)
    x = torch.randn(1, 3, 32, 48)
    a.eval()
    with torch.no_grad():
        first = a(x)
        assert torch.equal(first, a(x))
        torch.testing.assert_close(first, b.eval()(x))
        # Train mode with dropout is stochastic, but reproducible under the same seed.
        a.train()
        torch.manual_seed(7)
        t1 = a(x)
        torch.manual_seed(7)
        t2 = a(x)
        torch.manual_seed(8)
        t3 = a(x)
    assert torch.equal(t1, t2)
    assert not torch.equal(t1, t3)


def test_kaiming_init_and_zero_bias() -> None:
    model = build_model(UNetConfig(base_width=8, batch_norm=False))
    conv = model.encoder[1][0]
    assert isinstance(conv, nn.Conv2d)
    fan_in = conv.in_channels * 9
    assert abs(conv.weight.std().item() - (2.0 / fan_in) ** 0.5) < 0.2 * (2.0 / fan_in) ** 0.5
    assert torch.count_nonzero(conv.bias) == 0


def test_forward_rejects_wrong_input() -> None:
    model = build_model(UNetConfig(base_width=2, depth=2))
    with pytest.raises(ValueError, match="N x 3 x H x W"):
        model(torch.randn(1, 1, 16, 16))
    with pytest.raises(ValueError, match="N x 3 x H x W"):
        model(torch.randn(3, 16, 16))


def test_config_round_trip_through_json() -> None:
    config = UNetConfig(
        in_channels=1, num_classes=23, base_width=12, depth=3, bilinear=True, batch_norm=False, dropout=0.25
    )
    data = json.loads(json.dumps(config.to_dict()))
    assert UNetConfig.from_dict(data) == config
    assert UNetConfig.from_dict({}) == UNetConfig()
    assert UNetConfig.from_dict({"dropout": 0}).dropout == 0.0
    assert isinstance(UNetConfig.from_dict({"dropout": 0}).dropout, float)
    assert set(config.to_dict()) == {
        "in_channels",
        "num_classes",
        "base_width",
        "depth",
        "bilinear",
        "batch_norm",
        "dropout",
        "paper",
    }


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"widht": 8, "foo": 1}, "foo, widht"),
        ({"base_width": "16"}, "base_width must be an int"),
        ({"base_width": 16.0}, "base_width must be an int"),
        ({"depth": True}, "depth must be an int"),
        ({"bilinear": 1}, "bilinear must be a bool"),
        ({"dropout": "0.1"}, "dropout must be a number"),
        ({"dropout": 1.0}, "dropout must be in"),
        ({"num_classes": 1}, "num_classes must be in 2..255"),
        ({"num_classes": 256}, "num_classes must be in 2..255"),
        ({"in_channels": 0}, "in_channels must be in 1..16"),
        ({"in_channels": 10**6}, "in_channels must be in 1..16"),
        ({"base_width": 0}, "base_width must be in 1..128 at depth 4"),
        ({"base_width": 512}, "base_width must be in 1..128 at depth 4"),
        ({"base_width": 10**6, "depth": 2}, "base_width must be in 1..512 at depth 2"),
        ({"depth": 0}, "depth must be in"),
    ],
)
def test_bad_config_rejected(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        UNetConfig.from_dict(data)


def test_from_dict_rejects_non_dict() -> None:
    with pytest.raises(ValueError, match="must be a dict"):
        UNetConfig.from_dict([("depth", 4)])  # type: ignore[arg-type]


def test_config_is_frozen() -> None:
    config = UNetConfig()
    with pytest.raises(AttributeError):
        config.depth = 3  # type: ignore[misc]


def test_presets() -> None:
    assert ARCH_NAMES == ("unet-tiny", "unet-small", "unet-base", "unet", "unet-paper")
    assert DEFAULT_ARCH in ARCH_NAMES
    widths = {name: UNetConfig.preset(name, 4).base_width for name in ARCH_NAMES}
    assert widths == {"unet-tiny": 8, "unet-small": 16, "unet-base": 32, "unet": 64, "unet-paper": 64}
    for name in ARCH_NAMES:
        config = UNetConfig.preset(name, 4)
        assert config.num_classes == 4 and config.depth == 4
        assert config.paper == (name == "unet-paper")
        assert config.batch_norm == (name != "unet-paper")
    assert UNetConfig.preset("unet-tiny", 23, in_channels=1).in_channels == 1
    with pytest.raises(ValueError, match="unet-tiny, unet-small, unet-base, unet, unet-paper"):
        UNetConfig.preset("resnet50", 2)
    with pytest.raises(ValueError, match="unknown UNet config key"):
        UNetConfig.preset("unet", 2, colour="red")


def test_model_keeps_its_config() -> None:
    config = UNetConfig.preset("unet-tiny", 3)
    model = build_model(config)
    assert isinstance(model, UNet)
    assert model.config is config


def test_mirror_pad_and_center_crop_helpers() -> None:
    x = torch.arange(12, dtype=torch.float32).reshape(1, 1, 3, 4)
    padded = mirror_pad(x, 5, 6, 7, 8)
    assert padded.shape == (1, 1, 3 + 11, 4 + 15)
    torch.testing.assert_close(padded[..., 5:8, 7:11], x)
    # First reflection step mirrors the rows without repeating the edge.
    torch.testing.assert_close(padded[0, 0, 4, 7:11], x[0, 0, 1])
    single = mirror_pad(torch.ones(1, 2, 1, 1), 3, 4, 2, 1)
    assert single.shape == (1, 2, 8, 4) and torch.equal(single, torch.ones(1, 2, 8, 4))
    assert center_crop(padded, 3, 4).shape == (1, 1, 3, 4)
    with pytest.raises(ValueError, match="larger"):
        center_crop(x, 5, 4)
