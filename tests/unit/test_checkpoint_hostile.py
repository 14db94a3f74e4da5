"""Checkpoints: every header length loads, and hostile headers are refused before anything is allocated."""

from __future__ import annotations

import json
import struct
import tracemalloc
from pathlib import Path

import pytest
import torch
from safetensors.torch import save as st_save

from unet_core.cli.entry import main as cli_main
from unet_core.data.classes import CARVANA_CLASSES
from unet_core.errors import CheckpointError
from unet_core.model import checkpoint as ckpt
from unet_core.model.checkpoint import (
    CheckpointMeta,
    inspect_checkpoint,
    load_checkpoint,
    read_metadata,
    save_checkpoint,
)
from unet_core.model.unet import UNetConfig, build_model

TINY = UNetConfig(base_width=2, depth=1, num_classes=2)


def _meta(arch: UNetConfig = TINY) -> CheckpointMeta:
    return CheckpointMeta(arch=arch, classes=CARVANA_CLASSES, input_size=(32, 48), dataset_kind="carvana")


def _tiny_tensors() -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    return {k: v.clone() for k, v in build_model(TINY).state_dict().items()}


def _write(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str]) -> Path:
    path.write_bytes(st_save(tensors, metadata=metadata))
    return path


def _peak_refusing(call, path: Path, message: str) -> int:  # type: ignore[no-untyped-def]
    """Peak Python-tracked bytes while ``call(path)`` refuses the file with ``message``."""
    tracemalloc.start()
    try:
        with pytest.raises(CheckpointError, match=message):
            call(path)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_every_header_length_loads_including_a_first_byte_0x80(tmp_path: Path) -> None:
    """The header length's low byte is 0x80 for 1 in 32 files (lengths are multiples of 8)."""
    model = build_model(TINY)
    first_bytes = set()
    for pad in range(0, 264, 1):
        path = tmp_path / f"m{pad}.safetensors"
        save_checkpoint(path, model, _meta(), extra_metadata={"note": "x" * pad})
        first_bytes.add(path.read_bytes()[0])
        assert read_metadata(path).arch == TINY
        load_checkpoint(path)
    assert 0x80 in first_bytes and len(first_bytes) == 32  # every multiple of 8 as the low byte


def test_a_header_starting_like_zip_loads_too(tmp_path: Path) -> None:
    """'PK' (0x50 0x4B) as the header length's two low bytes is still a safetensors file."""
    path = tmp_path / "pk.safetensors"
    save_checkpoint(path, build_model(TINY), _meta(), extra_metadata={"note": ""})
    n = struct.unpack("<Q", path.read_bytes()[:8])[0]
    target = 0x4B50  # little-endian "PK"
    save_checkpoint(path, build_model(TINY), _meta(), extra_metadata={"note": "y" * (target - n)})
    assert path.read_bytes()[:2] == b"PK"
    assert read_metadata(path).arch == TINY


@pytest.mark.parametrize(
    ("arch", "message"),
    [
        ({"base_width": 10**6, "depth": 4, "num_classes": 2}, "base_width must be in"),
        ({"base_width": 512, "depth": 4, "num_classes": 2}, "base_width must be in"),
        ({"in_channels": 10**7, "num_classes": 2}, "in_channels must be in"),
        ({"num_classes": 10**6}, "num_classes must be in"),
        ({"depth": 10**4}, "depth must be in"),
    ],
)
def test_unbounded_architecture_is_refused_without_building(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           arch: dict, message: str) -> None:
    metadata = _meta().to_metadata()
    metadata["arch"] = json.dumps(arch)
    path = _write(tmp_path / "big.safetensors", _tiny_tensors(), metadata)
    monkeypatch.setattr(ckpt, "build_model", lambda *a: pytest.fail("built a model from a hostile header"))
    for call in (read_metadata, load_checkpoint):
        with pytest.raises(CheckpointError, match=message) as info:
            call(path)
        assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_shapes_are_checked_before_the_model_is_built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    metadata = _meta(UNetConfig(base_width=128, depth=4, num_classes=2)).to_metadata()
    path = _write(tmp_path / "wide.safetensors", _tiny_tensors(), metadata)  # a 120 M-weight config, tiny tensors
    monkeypatch.setattr(ckpt, "build_model", lambda *a: pytest.fail("built the model before checking shapes"))
    assert _peak_refusing(load_checkpoint, path, "do not match") < 50 * 2**20


def test_info_counts_parameters_from_the_header_and_fails_on_a_mismatch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good.safetensors"
    save_checkpoint(good, build_model(TINY), _meta())
    assert cli_main(["info", str(good), "--json"]) == 0
    expected = sum(p.numel() for p in build_model(TINY).parameters())
    assert json.loads(capsys.readouterr().out)["parameters"] == expected
    assert inspect_checkpoint(good)[1] == expected
    wrong = _write(tmp_path / "wrong.safetensors", _tiny_tensors(),
                   _meta(UNetConfig(base_width=4, depth=1, num_classes=2)).to_metadata())
    assert cli_main(["info", str(wrong)]) == 1
    err = capsys.readouterr().err.strip()
    assert "do not match" in err and str(wrong) in err and "\n" not in err


def test_metadata_comes_from_the_header_alone_of_a_huge_file(tmp_path: Path) -> None:
    path = tmp_path / "huge.safetensors"
    save_checkpoint(path, build_model(TINY), _meta())
    with open(path, "r+b") as fh:
        fh.truncate(10 * 2**30)  # sparse: 10 GB on paper
    assert _peak_refusing(read_metadata, path, "stray bytes") < 20 * 2**20


def _framed(header: object, data: bytes = b"") -> bytes:
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + data


def _hostile_files(tmp_path: Path) -> dict[str, bytes]:
    """More than twenty broken or hostile checkpoint files."""
    good = st_save(_tiny_tensors(), metadata=_meta().to_metadata())
    meta = _meta().to_metadata()
    n = struct.unpack("<Q", good[:8])[0]
    header = json.loads(good[8 : 8 + n])
    first = next(k for k in header if k != "__metadata__")

    def variant(**changes: object) -> bytes:
        h = json.loads(json.dumps(header))
        h.update(changes)
        return _framed(h, good[8 + n :])

    def entry(**changes: object) -> bytes:
        h = json.loads(json.dumps(header))
        h[first].update(changes)
        return _framed(h, good[8 + n :])

    def with_meta(**changes: str) -> bytes:
        m = dict(meta)
        m.update(changes)
        return st_save(_tiny_tensors(), metadata=m)

    return {
        "empty": b"",
        "seven_bytes": good[:7],
        "length_only": good[:8],
        "header_cut": good[: 8 + n // 2],
        "tensors_cut": good[:-5],
        "trailing_junk": good + b"\0" * 16,
        "huge_length": struct.pack("<Q", 2**63) + b"{}",
        "length_past_end": struct.pack("<Q", 10**6) + b"{" + b" " * 100,
        "not_json": struct.pack("<Q", 10) + b"{not json}",
        "json_list": _framed([1, 2, 3]),
        "deep_json": struct.pack("<Q", 200_001) + b"{" + b'"a":' * 0 + b"[" * 100_000 + b"]" * 100_000,
        "bad_dtype": entry(dtype="F128"),
        "negative_shape": entry(shape=[-1, 2]),
        "huge_shape": entry(shape=[10**6, 10**6, 10**6]),
        "offsets_shifted": entry(data_offsets=[v + 4 for v in header[first]["data_offsets"]]),
        "offsets_past_end": entry(data_offsets=[0, 10**12]),
        "string_shape": entry(shape="big"),
        "meta_not_strings": variant(__metadata__={"format": 1}),
        "no_format": with_meta(format="other"),
        "future_version": with_meta(format_version="99"),
        "arch_not_json": with_meta(arch="{"),
        "arch_unknown_key": with_meta(arch=json.dumps({"evil": 1})),
        "classes_mismatch": with_meta(classes=json.dumps({"names": ["a", "b", "c"], "colors": [[0, 0, 0]] * 3})),
        "classes_huge": with_meta(classes=json.dumps({"names": ["c"] * 100_000, "colors": [[0, 0, 0]] * 100_000})),
        "input_huge": with_meta(input=json.dumps({"size_hw": [10**6, 10**6]})),
        "input_negative": with_meta(input=json.dumps({"size_hw": [-4, 8]})),
        "training_list": with_meta(training="[1, 2]"),
        "nan_norm": with_meta(input=json.dumps({"size_hw": [32, 48], "normalization": {"std": [0, 0, 0]}})),
        "pickle_protocol": b"\x80\x04\x95" + b"\0" * 40,
        "zip_archive": b"PK\x03\x04" + b"\0" * 40,
    }


def test_hostile_checkpoints_are_refused_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = _hostile_files(tmp_path)
    assert len(files) >= 20
    tracemalloc.start()
    for name, data in files.items():
        path = tmp_path / f"{name}.safetensors"
        path.write_bytes(data)
        for call in (read_metadata, load_checkpoint):
            with pytest.raises(CheckpointError) as info:
                call(path)
                pytest.fail(f"{name} was accepted")
            text = str(info.value)
            assert str(path) in text and "\n" not in text, name
        assert cli_main(["info", str(path)]) == 1, name
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and str(path) in err, (name, err)
    assert tracemalloc.get_traced_memory()[1] < 200 * 2**20
    tracemalloc.stop()


def test_an_input_size_that_needs_unbounded_activations_is_refused(tmp_path: Path) -> None:
    arch = UNetConfig(base_width=8, depth=1, num_classes=2)
    meta = CheckpointMeta(arch=arch, classes=CARVANA_CLASSES, input_size=(4096, 4096))
    path = _write(tmp_path / "wide_input.safetensors", dict(build_model(arch).state_dict()), meta.to_metadata())
    with pytest.raises(CheckpointError, match="4096x4096 at width 8 needs 128 M values"):
        load_checkpoint(path)


def test_running_out_of_memory_is_one_line(monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    from unet_core.cli import commands as cli_commands

    def boom(args: object) -> int:
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:118] DefaultCPUAllocator: can't allocate memory: "
                           "you tried to allocate 36800000000 bytes.\nError code 12")

    monkeypatch.setattr(cli_commands, "cmd_info", boom)
    assert cli_main(["info", "x.safetensors"]) == 1
    err = capsys.readouterr().err.strip()
    assert "out of memory" in err and "\n" not in err
