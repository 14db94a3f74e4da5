"""The training settings form: TrainSettings, per-mode defaults and a compact form widget per mode."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from PySide6.QtCore import QSettings
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QRadioButton,
    QSpinBox,
    QWidget,
)

from app.panels.duration_box import DurationBox
from unet_core.devices import DEVICE_CHOICES, select_device
from unet_core.errors import MaskloopError
from unet_core.loop.rounds import FINETUNE_SECONDS, REPLAY_FRACTION, SCRATCH_SECONDS
from unet_core.training.recipes import DEFAULT_RECIPE, RECIPES

MODES = ("finetune", "scratch")
SIZE_PRESETS = ("auto", "256x384", "320x480", "384x576", "512x768")
ARCHS = ("unet-tiny", "unet-small", "unet-base")
_SIZE_RE = re.compile(r"^\s*(\d+)\s*[xX×]\s*(\d+)\s*$")


@dataclass
class TrainSettings:
    """What the user asked for; the main window turns it into a unet_core TrainConfig."""

    mode: str  # "finetune" | "scratch"
    time_limit_s: float | None
    epochs: int | None
    size_hw: tuple[int, int] | None  # None = auto
    lr: float
    device: str
    replay_fraction: float
    arch: str
    clicks: bool = False  # the model also learns clicks (an interactive model keeps learning them anyway)


_RECIPE = RECIPES[DEFAULT_RECIPE]  # the CLI's defaults: one recipe for both
DEFAULTS: dict[str, TrainSettings] = {
    "finetune": TrainSettings("finetune", FINETUNE_SECONDS, None, None, _RECIPE.finetune_lr, "auto", REPLAY_FRACTION,
                              "unet-small"),
    "scratch": TrainSettings("scratch", SCRATCH_SECONDS, None, None, _RECIPE.lr, "auto", 0.0, "unet-small"),
}


def available_devices() -> list[str]:
    """The core's device choices (:data:`unet_core.devices.DEVICE_CHOICES`, "auto" first) that its
    :func:`~unet_core.devices.select_device` accepts on this machine."""
    usable = []
    for name in DEVICE_CHOICES:
        try:
            select_device(name)
        except MaskloopError:
            continue
        usable.append(name)
    return usable


def parse_size(text: str) -> tuple[int, int] | None:
    """``"256x384"`` -> (256, 384); ``"auto"`` -> None; anything else raises ValueError."""
    if text.strip().lower() == "auto":
        return None
    m = _SIZE_RE.match(text)
    if not m or min(int(m.group(1)), int(m.group(2))) < 16:
        raise ValueError(f"input size must be 'auto' or HxW with both at least 16, got {text!r}")
    return int(m.group(1)), int(m.group(2))


def format_size(size_hw: tuple[int, int] | None) -> str:
    """The combo text for a size."""
    return "auto" if size_hw is None else f"{size_hw[0]}x{size_hw[1]}"


def format_lr(value: float) -> str:
    """Short scientific text: 0.0003 -> "3e-4", 0.00015 -> "1.5e-4"."""
    if value <= 0:
        return "0"
    exp = math.floor(math.log10(value))
    mantissa = round(value / 10**exp, 2)
    if mantissa >= 10:
        mantissa, exp = mantissa / 10, exp + 1
    return f"{mantissa:g}e{exp}"


class ScientificSpinBox(QDoubleSpinBox):
    """A learning-rate spin box in scientific notation; arrows step 1, 2, 3, 5 x 10^k."""

    LADDER = (1.0, 2.0, 3.0, 5.0)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setDecimals(12)
        self.setRange(1e-7, 0.5)
        self.setKeyboardTracking(False)

    def textFromValue(self, value: float) -> str:  # Qt override
        """Show ``value`` as e.g. ``3e-4``."""
        return format_lr(value)

    def valueFromText(self, text: str) -> float:  # Qt override
        """Parse the typed text (any float syntax)."""
        try:
            return float(text)
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int) -> object:
        """Accept any float in range; partial input like ``3e-`` is intermediate."""
        try:
            value = float(text)
        except ValueError:
            return (QValidator.State.Intermediate, text, pos)
        ok = self.minimum() <= value <= self.maximum()
        return (QValidator.State.Acceptable if ok else QValidator.State.Intermediate, text, pos)

    def stepBy(self, steps: int) -> None:  # Qt override
        """Move along the 1-2-3-5 ladder."""
        value = self.value()
        for _ in range(abs(steps)):
            value = self._next(value, up=steps > 0)
        self.setValue(min(max(value, self.minimum()), self.maximum()))

    def _next(self, value: float, up: bool) -> float:
        exp = math.floor(math.log10(value))
        rungs = [m * 10.0**e for e in (exp - 1, exp, exp + 1) for m in self.LADDER]
        if up:
            return next((r for r in rungs if r > value * (1 + 1e-9)), value)
        return next((r for r in reversed(rungs) if r < value * (1 - 1e-9)), value)


class TrainForm(QWidget):
    """The settings of one mode ("finetune" shows replay, "scratch" shows model size)."""

    def __init__(self, mode: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        if mode not in MODES:
            raise ValueError(f"unknown training mode {mode!r}")
        self.mode = mode
        form = QFormLayout(self)
        form.setContentsMargins(6, 6, 6, 6)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)

        self.by_time = QRadioButton("Time limit")
        self.by_epochs = QRadioButton("Epochs")
        self._limit_group = QButtonGroup(self)
        self._limit_group.addButton(self.by_time)
        self._limit_group.addButton(self.by_epochs)
        self.duration = DurationBox()
        self.epochs = QSpinBox()
        self.epochs.setRange(1, 10_000)
        form.addRow(self.by_time, self.duration)
        form.addRow(self.by_epochs, self.epochs)
        self.by_time.toggled.connect(self._sync_limit)

        self.size = QComboBox()
        self.size.addItems(SIZE_PRESETS)
        form.addRow("Input size", self.size)
        self.lr = ScientificSpinBox()
        form.addRow("Learning rate", self.lr)
        self.device = QComboBox()
        self.device.addItems(available_devices())
        form.addRow("Device", self.device)
        self.replay = QDoubleSpinBox()
        self.replay.setRange(0.0, 0.9)
        self.replay.setSingleStep(0.05)
        self.replay.setDecimals(2)
        self.arch = QComboBox()
        self.arch.addItems(ARCHS)
        if mode == "finetune":
            form.addRow("Replay fraction", self.replay)
        else:
            form.addRow("Model size", self.arch)
        self.clicks = QCheckBox("Learn clicks (for the click tool, U)")
        form.addRow("", self.clicks)
        self._describe()
        self.set_values(DEFAULTS[mode])

    def _describe(self) -> None:
        tips = {
            self.by_time: "Train for a fixed time (validation included)",
            self.duration: "How long the whole run may take: 30 s, 2 min, 1:30, 1.5 h (a number alone is minutes)",
            self.by_epochs: "Train for a fixed number of passes over the images",
            self.epochs: "Number of epochs",
            self.size: "Model input size HxW; auto keeps the images' aspect with a long side of 384",
            self.lr: "Learning rate (Adam); type e.g. 3e-4, arrows step 1-2-3-5",
            self.device: "Where to train: auto picks a GPU when there is one",
            self.replay: "Share of original labelled images mixed in so the model does not forget",
            self.arch: "Bigger models learn more but train and predict slower",
            self.clicks: "Half of the samples are trained with simulated clicks, so the model also takes the click "
                         "tool's clicks; on a CPU it makes about a third fewer steps in the same time. A model "
                         "that already takes clicks keeps learning them",
        }
        for widget, tip in tips.items():
            widget.setToolTip(tip)
            widget.setAccessibleName(f"{self.mode} {tip.split(';')[0].split('(')[0].strip().lower()}")

    def _sync_limit(self) -> None:
        self.duration.setEnabled(self.by_time.isChecked())
        self.epochs.setEnabled(not self.by_time.isChecked())

    # -- values ----------------------------------------------------------------------------------
    def values(self) -> TrainSettings:
        """The form's current values."""
        return TrainSettings(
            mode=self.mode,
            time_limit_s=float(self.duration.value()) if self.by_time.isChecked() else None,
            epochs=None if self.by_time.isChecked() else int(self.epochs.value()),
            size_hw=parse_size(self.size.currentText()),
            lr=float(self.lr.value()),
            device=self.device.currentText(),
            replay_fraction=float(self.replay.value()) if self.mode == "finetune" else 0.0,
            arch=self.arch.currentText(),
            clicks=self.clicks.isChecked(),
        )

    def set_values(self, s: TrainSettings) -> None:
        """Show ``s`` (unknown sizes are added to the list; unavailable devices fall back to auto)."""
        by_time = s.time_limit_s is not None or s.epochs is None
        (self.by_time if by_time else self.by_epochs).setChecked(True)
        if s.time_limit_s is not None:
            self.duration.setValue(round(s.time_limit_s))
        elif by_time:
            self.duration.setValue(round(DEFAULTS[self.mode].time_limit_s or 60))
        if s.epochs is not None:
            self.epochs.setValue(int(s.epochs))
        elif self.epochs.value() == 1:
            self.epochs.setValue(10)
        text = format_size(s.size_hw)
        if self.size.findText(text) < 0:
            self.size.addItem(text)
        self.size.setCurrentText(text)
        self.lr.setValue(float(s.lr))
        self.device.setCurrentIndex(max(0, self.device.findText(s.device)))
        self.replay.setValue(float(s.replay_fraction))
        arch = s.arch if self.arch.findText(s.arch) >= 0 else DEFAULTS[self.mode].arch
        self.arch.setCurrentText(arch)
        self.clicks.setChecked(bool(s.clicks))
        self._sync_limit()

    def summary(self) -> str:
        """One short line, e.g. ``2 min · lr 3e-4 · auto size``."""
        v = self.values()
        limit = self.duration.text() if v.time_limit_s else f"{v.epochs} epochs"
        return f"{limit} · lr {format_lr(v.lr)} · {format_size(v.size_hw)} size" + (" · clicks" if v.clicks else "")

    # -- persistence ------------------------------------------------------------------------------
    def save(self, qs: QSettings, prefix: str) -> None:
        """Write the values under ``<prefix>/<mode>/...``."""
        v = self.values()
        base = f"{prefix}/{self.mode}"
        qs.setValue(f"{base}/limit", "time" if self.by_time.isChecked() else "epochs")
        qs.setValue(f"{base}/seconds", int(self.duration.value()))
        qs.setValue(f"{base}/epochs", int(self.epochs.value()))
        qs.setValue(f"{base}/size", format_size(v.size_hw))
        qs.setValue(f"{base}/lr", float(v.lr))
        qs.setValue(f"{base}/device", v.device)
        qs.setValue(f"{base}/replay_fraction", float(self.replay.value()))
        qs.setValue(f"{base}/arch", v.arch)
        qs.setValue(f"{base}/clicks", bool(v.clicks))

    def restore(self, qs: QSettings, prefix: str) -> None:
        """Read values saved by :meth:`save`; missing or malformed entries keep the defaults."""
        base = f"{prefix}/{self.mode}"
        d = DEFAULTS[self.mode]
        seconds = _number(qs.value(f"{base}/seconds"), int,  # settings from before seconds: minutes
                          60 * _number(qs.value(f"{base}/minutes"), int, (d.time_limit_s or 60) / 60))
        epochs = _number(qs.value(f"{base}/epochs"), int, self.epochs.value())
        by_time = str(qs.value(f"{base}/limit", "time")) != "epochs"
        try:
            size = parse_size(str(qs.value(f"{base}/size", "auto")))
        except ValueError:
            size = d.size_hw
        lr = _number(qs.value(f"{base}/lr"), float, d.lr)
        self.set_values(
            TrainSettings(
                mode=self.mode,
                time_limit_s=float(seconds) if by_time else None,
                epochs=None if by_time else int(epochs),
                size_hw=size,
                lr=lr if 0 < lr < 1 else d.lr,
                device=str(qs.value(f"{base}/device", d.device)),
                replay_fraction=_number(qs.value(f"{base}/replay_fraction"), float, d.replay_fraction),
                arch=str(qs.value(f"{base}/arch", d.arch)),
                clicks=str(qs.value(f"{base}/clicks", d.clicks)).lower() in ("true", "1"),
            )
        )
        self.epochs.setValue(int(epochs))


def _number(raw: object, kind: type, default: float) -> float:
    """``kind(raw)`` or ``default`` when missing or malformed (INI files return strings)."""
    if raw is None:
        return default
    try:
        return kind(float(raw))  # type: ignore[no-any-return]
    except (TypeError, ValueError):
        return default


__all__ = [
    "ARCHS",
    "DEFAULTS",
    "MODES",
    "SIZE_PRESETS",
    "ScientificSpinBox",
    "TrainForm",
    "TrainSettings",
    "available_devices",
    "format_lr",
    "format_size",
    "parse_size",
]
