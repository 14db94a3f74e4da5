"""A stopped "Train from scratch" still measures the current model, so the keep rule can compare."""

from __future__ import annotations

import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

from unet_core.data.layouts import detect_layout
from unet_core.loop.corrections import scratch_job
from unet_core.loop.policy import keep_new_version, trained_dice
from unet_core.store.project import ProjectStore
from unet_core.training.types import Callback, TrainConfig


@dataclass
class Record:
    stem: str
    image_path: Path
    mask_path: Path | None
    error: str | None = None
    mask_format: str | None = None


class StopAfterFirstEpoch(Callback):
    def __init__(self, stop: threading.Event) -> None:
        self.stop = stop

    def on_epoch(self, info) -> None:  # type: ignore[no-untyped-def]
        self.stop.set()


def test_a_stopped_scratch_run_is_compared_with_the_current_model(carvana_dir: Path, tiny_model: Path,
                                                                  tmp_path: Path) -> None:
    data = Path(shutil.copytree(carvana_dir, tmp_path / "data"))
    layout = detect_layout(data)
    records = [Record(p.stem, p.image, p.mask) for p in layout.pairs()[0]]
    stop = threading.Event()
    config = TrainConfig(arch="unet-tiny", size_hw=(32, 48), epochs=50, batch_size=4, device="cpu")
    with ProjectStore(data / ".maskloop") as store:
        job = scratch_job(layout, store, records, tmp_path / "run.safetensors", config, current=tiny_model)
        result = job(callbacks=[StopAfterFirstEpoch(stop)], stop=stop)
    assert result.stop_reason == "stopped" and result.epochs >= 1
    assert result.initial_val_dice is not None and result.initial_val_dice > 0.5  # the trained tiny model
    after = trained_dice(result.history)
    assert after is not None and after < result.initial_val_dice  # one epoch from scratch is worse
    assert not keep_new_version(result.initial_val_dice, after)  # so it is not kept without asking
