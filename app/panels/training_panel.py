"""TrainingPanel: fine-tune / train buttons, settings, progress with ETA and Stop, live curves, round summary."""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import QSettings, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.panels.train_form import MODES, TrainForm, TrainSettings
from app.panels.training_plots import TrainingPlots
from unet_core.loop.policy import trained_dice

SETTINGS_PREFIX = "training"
PROGRESS_STEPS = 1000
_STOP_TEXT = {"completed": "Finished", "time_limit": "Time limit reached", "stopped": "Stopped",
              "early_stop": "Stopped early (no more improvement)"}


def format_duration(seconds: float | None) -> str:
    """``83`` -> ``1:23``; ``3725`` -> ``1:02:05``; unknown -> ``--:--``."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "--:--"
    s = round(seconds)
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


def eta_text(eta: float | None, epoch: int, images_per_s: float | None) -> str:
    """The progress line, e.g. ``ETA 1:23 · epoch 4 · 5.1 img/s``."""
    parts = [f"ETA {format_duration(eta)}", f"epoch {epoch}"]
    if images_per_s is not None and math.isfinite(images_per_s):
        parts.append(f"{images_per_s:.1f} img/s")
    return " · ".join(parts)


class TrainingPanel(QWidget):
    """One place to fine-tune and watch; plain setters in, intent signals out (no Workspace import).

    Clicking a train button emits the request and enters a "starting" busy state; the owner must
    then call :meth:`on_started` / :meth:`on_finished` or :meth:`on_failed` (e.g. wired to a
    TrainWorker's signals, which are bound methods here so delivery is queued to the GUI thread).
    """

    fineTuneRequested = Signal(object)  # TrainSettings
    trainRequested = Signal(object)  # TrainSettings
    stopRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("TrainingPanel")
        self.setAccessibleName("Training panel")
        self._busy = False
        self._mode: str | None = None
        self._corrected = 0
        self._can = {"finetune": False, "scratch": False}
        self._reasons = {"finetune": "Open a folder and load a model to fine-tune", "scratch": "Open a folder to begin"}
        self._last_epoch = 0
        self._last_step: Any = None
        self._label_timer = QTimer(self)
        self._label_timer.setSingleShot(True)
        self._label_timer.setInterval(100)
        self._label_timer.timeout.connect(self._show_step)
        self._build()
        self.set_availability(can_finetune=False, finetune_reason=self._reasons["finetune"],
                              can_train=False, train_reason=self._reasons["scratch"], corrected_count=0)
        self._set_busy(False)

    # -- layout ----------------------------------------------------------------------------------
    def _build(self) -> None:
        self.finetune_button = QPushButton("Fine-tune on corrections")
        self.finetune_button.setAccessibleName("Fine-tune on corrections")
        self.train_button = QPushButton("Train from scratch")
        self.train_button.setAccessibleName("Train from scratch")
        for b in (self.finetune_button, self.train_button):
            b.setAutoDefault(False)
            b.setMinimumHeight(30)
            b.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.finetune_button.setStyleSheet("QPushButton:enabled { font-weight: bold; }")
        self.finetune_button.clicked.connect(lambda: self._request("finetune"))
        self.train_button.clicked.connect(lambda: self._request("scratch"))
        buttons = QHBoxLayout()
        buttons.addWidget(self.finetune_button, 3)
        buttons.addWidget(self.train_button, 2)
        self.reason_label = QLabel()
        self.reason_label.setWordWrap(True)
        self.reason_label.setStyleSheet("color: palette(placeholder-text);")

        self.settings_toggle = QToolButton()
        self.settings_toggle.setText("Settings")
        self.settings_toggle.setCheckable(True)
        self.settings_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.settings_toggle.setAutoRaise(True)
        self.settings_toggle.setToolTip("Show or hide the training settings")
        self.settings_toggle.setAccessibleName("Training settings")
        self.settings_toggle.toggled.connect(self._show_settings)
        self.forms = {mode: TrainForm(mode) for mode in MODES}
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.forms["finetune"], "Fine-tune")
        self.tabs.addTab(self.forms["scratch"], "From scratch")
        self.tabs.setAccessibleName("Training settings per mode")

        self.progress = QProgressBar()
        self.progress.setRange(0, PROGRESS_STEPS)
        self.progress.setFormat("%p%")
        self.progress.setAccessibleName("Training progress")
        self.eta_label = QLabel()
        self.eta_label.setAccessibleName("Time left")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setAutoDefault(False)
        self.stop_button.setToolTip("Stop after the current step; the best model so far is kept")
        self.stop_button.setAccessibleName("Stop training")
        self.stop_button.clicked.connect(self._stop)
        progress_row = QHBoxLayout()
        progress_row.addWidget(self.progress, 1)
        progress_row.addWidget(self.stop_button)
        for button in (self.finetune_button, self.train_button, self.stop_button):
            # a click does not take the keys from the canvas (Tab still reaches them): otherwise, when a run
            # starts or ends and the clicked button is disabled, focus lands on the next widget (the radius
            # box) and the number keys change the brush size instead of the class
            button.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        self.status_label = QLabel("No training run yet.")
        self.status_label.setWordWrap(True)
        self.status_label.setAccessibleName("Training status")
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.plots = TrainingPlots()
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setFrameShape(QFrame.Shape.StyledPanel)
        self.summary.setObjectName("RoundSummary")
        self.summary.setStyleSheet(
            "#RoundSummary { border: 1px solid palette(mid); border-radius: 6px; padding: 6px;"
            " background: palette(alternate-base); }"
        )
        self.summary.setAccessibleName("Round summary")
        self.summary.setVisible(False)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(buttons)
        layout.addWidget(self.reason_label)
        layout.addWidget(self.settings_toggle)
        layout.addWidget(self.tabs)
        layout.addLayout(progress_row)
        layout.addWidget(self.eta_label)
        layout.addWidget(self.status_label)
        layout.addWidget(self.plots, 1)
        layout.addWidget(self.summary)
        self.settings_toggle.setChecked(False)  # collapsed: the plots get the room; the hint line says the values
        self._show_settings(False)

    def _show_settings(self, shown: bool) -> None:
        self.tabs.setVisible(shown)
        self.settings_toggle.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)

    # -- inputs from the owner ---------------------------------------------------------------------
    def set_availability(self, *, can_finetune: bool, finetune_reason: str, can_train: bool, train_reason: str,
                         corrected_count: int) -> None:
        """Enable the buttons; a disabled button's tooltip and the hint line say why."""
        self._can = {"finetune": bool(can_finetune), "scratch": bool(can_train)}
        self._reasons = {"finetune": finetune_reason, "scratch": train_reason}
        self._corrected = max(0, int(corrected_count))
        self._refresh_buttons()

    def _refresh_buttons(self) -> None:
        n = self._corrected
        replay = self.forms["finetune"].values().replay_fraction
        if self._can["finetune"]:
            tip = (f"Fine-tune the current model on the {n} corrected image{'s' if n != 1 else ''}"
                   f" (plus {replay:.0%} replay of the original masks)")
        else:
            tip = self._reasons["finetune"] or "Fine-tuning is not available"
        self.finetune_button.setToolTip(tip)
        self.train_button.setToolTip(
            "Train a new model from the folder's masks" if self._can["scratch"]
            else self._reasons["scratch"] or "Training is not available"
        )
        self.finetune_button.setEnabled(self._can["finetune"] and not self._busy)
        self.train_button.setEnabled(self._can["scratch"] and not self._busy)
        hints = [self._reasons[m] for m in MODES if not self._can[m] and self._reasons[m]]
        self.reason_label.setText(" · ".join(dict.fromkeys(hints)))
        self.reason_label.setVisible(bool(hints) and not self._busy)

    def set_initial_dice(self, value: float | None) -> None:
        """The starting model's validation Dice (dashed line); ``None`` hides it."""
        self.plots.set_start_dice(value)

    def set_round_summary(self, text: str) -> None:
        """Fill the summary box (empty text hides it)."""
        self.summary.setText(text)
        self.summary.setVisible(bool(text))

    def show_last_run(self, name: str | None, losses: list[tuple[int, float]], dices: list[tuple[int, float]]) -> None:
        """Redraw a logged run's curves (``name``: its log folder, which starts with the time it began);
        ``None``: the folder has no run yet."""
        if self._busy:
            return
        self.plots.clear()
        if name is None:
            self.status_label.setText("No training run yet.")
            return
        for step, loss in losses:
            self.plots.add_loss(step, loss)
        for epoch, dice in dices:
            self.plots.add_dice(epoch, dice)
        self.plots.flush()
        when = name[:15]
        if len(when) == 15 and when[:8].isdigit() and when[9:].isdigit():
            when = f"{when[:4]}-{when[4:6]}-{when[6:8]} {when[9:11]}:{when[11:13]}"
        parts = [f"Last run, started {when}"]
        if losses:
            parts.append(f"{losses[-1][0]} steps")
        if dices:
            parts.append(f"best validation Dice {max(d for _, d in dices):.3f}")
        self.status_label.setText(" · ".join(parts))

    # -- run lifecycle (slots for TrainWorker signals) ---------------------------------------------
    @Slot(dict)
    def on_started(self, info: dict) -> None:
        """A run began: clear the curves, enter the busy state, show device and size."""
        self.plots.clear()
        self._last_epoch = 0
        self._last_step = None
        self._set_busy(True)
        self.progress.setRange(0, PROGRESS_STEPS)
        self.progress.setValue(0)
        size = info.get("size_hw")
        size_text = f"{size[0]}x{size[1]}" if size else "auto size"
        self.status_label.setText(
            f"Training on {info.get('device', '?')} · {size_text} · {info.get('train_images', '?')} training /"
            f" {info.get('val_images', '?')} validation images"
        )
        self.eta_label.setText(eta_text(None, 1, None))

    @Slot(object)
    def on_step(self, info: Any) -> None:
        """A StepInfo: queue the loss point; labels and curves update at most ~10 times per second."""
        self.plots.add_loss(info.global_step, info.loss)
        self._last_step = info
        if not self._label_timer.isActive():
            self._label_timer.start()

    def _show_step(self) -> None:
        info = self._last_step
        if info is None or not self._busy:
            return
        self.progress.setValue(round(min(1.0, max(0.0, info.progress)) * PROGRESS_STEPS))
        self.eta_label.setText(eta_text(info.eta, info.epoch, info.images_per_s))

    @Slot(object)
    def on_epoch(self, info: Any) -> None:
        """An EpochInfo: queue the Dice point."""
        self._last_epoch = info.epoch
        self.plots.add_dice(info.epoch, info.val_dice)
        self.progress.setValue(round(min(1.0, max(0.0, info.progress)) * PROGRESS_STEPS))

    @Slot(object)
    def on_finished(self, result: Any) -> None:
        """A TrainResult: back to idle with a one-line outcome."""
        self._show_step()
        self._set_busy(False)
        self.plots.flush()
        if result.epochs == 0:  # stopped before anything was trained and validated: back to idle
            self.progress.setValue(0)
            self.status_label.setText("Stopped before the first epoch ended: no new model version")
            self.eta_label.setText("")
            return
        if result.stop_reason != "stopped":
            self.progress.setValue(PROGRESS_STEPS)
        head = _STOP_TEXT.get(result.stop_reason, result.stop_reason)
        parts = [f"{head} after {result.epochs} epoch{'s' if result.epochs != 1 else ''}"
                 f" ({result.steps} steps) in {format_duration(result.seconds)}"]
        trained = trained_dice(result.history)  # what the new weights scored, never the start's own score
        if trained is not None:
            if result.initial_val_dice is not None:
                delta = trained - result.initial_val_dice
                parts.append(f"validation Dice {result.initial_val_dice:.3f} before, best epoch {trained:.3f}"
                             f" ({delta:+.3f})")
            else:
                parts.append(f"best validation Dice {trained:.3f}")
        self.status_label.setText(" · ".join(parts))
        self.eta_label.setText(f"Done in {format_duration(result.seconds)}")

    @Slot(str)
    def on_failed(self, message: str) -> None:
        """The run could not start or crashed: idle again, message shown."""
        self._set_busy(False)
        self.plots.flush()
        self.status_label.setText(f"Training failed: {message}")
        self.eta_label.setText("")

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.stop_button.setEnabled(busy)
        self.stop_button.setText("Stop")
        if not busy:
            self._label_timer.stop()
            if self.progress.maximum() == 0:
                self.progress.setRange(0, PROGRESS_STEPS)
        self.tabs.setEnabled(not busy)
        self._refresh_buttons()

    # -- user intents -----------------------------------------------------------------------------
    def _request(self, mode: str) -> None:
        if self._busy or not self._can[mode]:
            return
        try:
            values = self.settings(mode)
        except ValueError as exc:
            self.status_label.setText(str(exc))
            return
        self._mode = mode
        self._set_busy(True)
        self.progress.setRange(0, 0)  # indeterminate until on_started
        self.status_label.setText("Preparing data…")
        self.eta_label.setText("")
        (self.fineTuneRequested if mode == "finetune" else self.trainRequested).emit(values)

    def _stop(self) -> None:
        if not self._busy:
            return
        self.stop_button.setEnabled(False)
        self.stop_button.setText("Stopping…")
        self.status_label.setText("Stopping after the current step…")
        self.stopRequested.emit()

    # -- queries and persistence ------------------------------------------------------------------
    def settings(self, mode: str = "finetune") -> TrainSettings:
        """The form values for ``mode`` ("finetune" or "scratch")."""
        if mode not in self.forms:
            raise ValueError(f"unknown training mode {mode!r}")
        return self.forms[mode].values()

    def is_busy(self) -> bool:
        """Whether a run is starting or running."""
        return self._busy

    def save_settings(self, qsettings: QSettings) -> None:
        """Persist the form values under ``training/...``."""
        for form in self.forms.values():
            form.save(qsettings, SETTINGS_PREFIX)
        qsettings.setValue(f"{SETTINGS_PREFIX}/settings_shown", bool(self.settings_toggle.isChecked()))
        qsettings.setValue(f"{SETTINGS_PREFIX}/settings_tab", int(self.tabs.currentIndex()))

    def restore_settings(self, qsettings: QSettings) -> None:
        """Restore values written by :meth:`save_settings` (missing keys keep the defaults)."""
        for form in self.forms.values():
            form.restore(qsettings, SETTINGS_PREFIX)
        shown = qsettings.value(f"{SETTINGS_PREFIX}/settings_shown", False)
        self.settings_toggle.setChecked(str(shown).lower() not in ("false", "0"))
        try:
            self.tabs.setCurrentIndex(int(qsettings.value(f"{SETTINGS_PREFIX}/settings_tab", 0)))
        except (TypeError, ValueError):
            self.tabs.setCurrentIndex(0)
        self._refresh_buttons()


__all__ = ["TrainSettings", "TrainingPanel", "eta_text", "format_duration"]
