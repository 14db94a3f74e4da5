"""A run's log: TensorBoard events a user opens later, and curves the app reads back (unet_core.training.run_log)."""

from __future__ import annotations

import itertools
import struct
from pathlib import Path

import numpy as np

from unet_core.training.run_log import EPOCHS_FILE, STEPS_FILE, overlay, read_curves


def _events(folder: Path) -> list:  # type: ignore[type-arg]
    """Every Event record of the folder's event files (TFRecord framing: length, crc, data, crc)."""
    from tensorboardX.proto.event_pb2 import Event

    out = []
    for path in sorted(folder.glob("events.out.tfevents.*")):
        data = path.read_bytes()
        at = 0
        while at + 12 <= len(data):
            (length,) = struct.unpack("<Q", data[at:at + 8])
            event = Event()
            event.ParseFromString(data[at + 12:at + 12 + length])
            out.append(event)
            at += 12 + length + 4
    return out


def test_a_logged_run_has_tensorboard_events_and_curves_to_redraw(carvana_dir: Path, tmp_path: Path) -> None:
    from unet_core.data.dataset import examples_from_layout
    from unet_core.data.layouts import detect_layout
    from unet_core.training.trainer import train
    from unet_core.training.types import TrainConfig

    layout = detect_layout(carvana_dir)
    examples = examples_from_layout(layout, layout.pairs()[0])
    logs = tmp_path / "logs"
    config = TrainConfig(arch="unet-tiny", size_hw=(48, 64), epochs=2, batch_size=4, lr=3e-3, device="cpu",
                         log_dir=logs)
    result = train(examples[:8], examples[8:12], layout.classes, config, tmp_path / "m.safetensors")
    events = _events(logs)
    tags: dict[str, list[int]] = {}
    for e in events:
        for v in e.summary.value:
            tags.setdefault(v.tag, []).append(e.step)
    assert tags["train/loss"] == list(range(1, result.steps + 1))  # every step
    assert tags["val/dice"] == [1, 2] and tags["val_dice/car"] == [1, 2] and "val_iou/background" in tags
    assert tags["val_overlay/0"] == [1, 2] and "val_overlay/3" not in tags  # a few overlays per epoch
    image = next(v.image for e in events for v in e.summary.value if v.tag == "val_overlay/0")
    assert image.width == 64 and image.height <= 48  # the image at its working size: aspect kept, not stretched
    losses, dices = read_curves(logs)
    assert [s for s, _ in losses] == list(range(1, result.steps + 1)) and [e for e, _ in dices] == [1, 2]
    assert dices[-1][1] == result.history[-1]["val_dice"]


def test_curves_survive_a_damaged_log(tmp_path: Path) -> None:
    (tmp_path / STEPS_FILE).write_text('{"step": 1, "loss": 0.5}\n{"step": 2, "loss": NaN}\n{"step": 3, "lo\n'
                                       '[1, 2]\n{"step": true, "loss": 0.1}\n{"step": 4, "loss": 0.25}\n')
    (tmp_path / EPOCHS_FILE).write_text('{"epoch": 1, "val_dice": null}\n{"epoch": 2, "val_dice": 0.75}\n')
    assert read_curves(tmp_path) == ([(1, 0.5), (4, 0.25)], [(2, 0.75)])
    assert read_curves(tmp_path / "missing") == ([], [])


def test_overlay_paints_classes_over_the_image_and_leaves_background_clear() -> None:
    image = np.full((2, 3, 3), 100, np.uint8)
    labels = np.array([[0, 1, 2], [0, 0, 9]], np.uint8)  # 9: beyond the palette, drawn as its last colour
    out = overlay(image, labels, [(0, 0, 0), (200, 0, 0), (0, 200, 0)])
    assert (out[0, 0] == 100).all() and tuple(out[0, 1]) == (150, 50, 50) and tuple(out[0, 2]) == (50, 150, 50)
    assert tuple(out[1, 2]) == (50, 150, 50)


def test_a_long_log_is_thinned_to_evenly_spaced_points_ending_on_the_last(tmp_path: Path) -> None:
    (tmp_path / STEPS_FILE).write_text("".join(f'{{"step": {i}, "loss": {1 / i}}}\n' for i in range(1, 10_001)))
    losses, _ = read_curves(tmp_path, max_points=100)
    steps = [s for s, _ in losses]
    assert 90 <= len(steps) <= 100 and steps[-1] == 10_000 and steps == sorted(steps)
    assert len({b - a for a, b in itertools.pairwise(steps)}) == 1  # evenly spaced


def test_the_store_keeps_the_newest_run_logs(tmp_path: Path) -> None:
    from unet_core.loop.run_logs import last_run_log, logs_root, new_run_log, run_logs
    from unet_core.store.project import ProjectStore

    store = ProjectStore(tmp_path / "store")
    try:
        assert last_run_log(store) is None and run_logs(store) == []
        for name in ("20260101-000000-run-a", "20260102-000000-run-b", "20260103-000000-run-c"):
            (logs_root(store) / name).mkdir(parents=True)
        newest = new_run_log(store, tmp_path / "run-d.safetensors", keep=3)
        names = [p.name for p in run_logs(store)]
        assert newest.is_dir() and newest.name.endswith("-run-d") and last_run_log(store) == newest
        assert names[0] == "20260102-000000-run-b" and len(names) == 3  # the oldest went first
    finally:
        store.close()
