"""TrainingPanel: requests with form values, availability, coalesced curves, Stop, persistence, real wiring."""

from __future__ import annotations

import functools
import math
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QAbstractSpinBox

from app.panels.train_form import (
    DEFAULTS,
    TrainForm,
    TrainSettings,
    available_devices,
    format_lr,
    parse_size,
)
from app.panels.training_panel import TrainingPanel, format_duration
from app.workers import TrainWorker, start_worker
from unet_core.data.dataset import examples_from_layout
from unet_core.data.layouts import detect_layout
from unet_core.data.split import split_by_group
from unet_core.training.trainer import train
from unet_core.training.types import EpochInfo, StepInfo, TrainConfig, TrainResult


def step(i: int, per_epoch: int = 10, loss: float | None = None) -> StepInfo:
    epoch = (i - 1) // per_epoch + 1
    return StepInfo(epoch, (i - 1) % per_epoch + 1, per_epoch, i, loss if loss is not None else 1.0 / i,
                    1e-3, 4.2, i * 0.5, min(1.0, i / 100), 50.0 - i * 0.5)


def epoch_info(e: int, dice: float | None) -> EpochInfo:
    return EpochInfo(e, 0.5, dice, None, dice, True, e * 5.0, e / 10)


def result(reason: str = "completed", best: float | None = 0.9, initial: float | None = None,
           epochs: list[float] | None = None) -> TrainResult:
    history = [{"epoch": i + 1, "val_dice": d} for i, d in enumerate(epochs if epochs is not None else
                                                                     ([] if best is None else [best]))]
    return TrainResult(Path("best"), Path("last"), best, initial, 3, 30, 83.0, reason, history)


@pytest.fixture
def panel(qtbot) -> TrainingPanel:
    w = TrainingPanel()
    qtbot.addWidget(w)
    w.resize(380, 800)
    w.show()
    return w


def enable_all(panel: TrainingPanel, corrected: int = 24) -> None:
    panel.set_availability(can_finetune=True, finetune_reason="", can_train=True, train_reason="",
                           corrected_count=corrected)


# --------------------------------------------------------------------------- requests and availability
def test_fine_tune_request_carries_form_values(qtbot, panel: TrainingPanel) -> None:
    enable_all(panel)
    form = panel.forms["finetune"]
    form.duration.setValue(7 * 60)
    form.size.setCurrentText("320x480")
    form.lr.setValue(5e-4)
    form.replay.setValue(0.45)
    with qtbot.waitSignal(panel.fineTuneRequested, timeout=1000) as blocker:
        qtbot.mouseClick(panel.finetune_button, Qt.MouseButton.LeftButton)
    s = blocker.args[0]
    assert isinstance(s, TrainSettings)
    assert s == TrainSettings("finetune", 420.0, None, (320, 480), 5e-4, "auto", 0.45, "unet-small")
    assert panel.is_busy() and panel.stop_button.isEnabled()
    assert not panel.finetune_button.isEnabled() and not panel.train_button.isEnabled()
    panel.on_failed("no model")  # the owner always answers; the panel is usable again
    assert not panel.is_busy() and panel.finetune_button.isEnabled()


def test_train_request_uses_scratch_defaults_and_epochs(qtbot, panel: TrainingPanel) -> None:
    enable_all(panel)
    assert panel.settings("scratch") == DEFAULTS["scratch"]
    assert panel.settings("finetune") == DEFAULTS["finetune"]
    form = panel.forms["scratch"]
    form.by_epochs.setChecked(True)
    form.epochs.setValue(12)
    form.arch.setCurrentText("unet-tiny")
    form.device.setCurrentText("cpu")
    assert not form.clicks.isChecked()  # off by default: it costs steps (docs/training.md)
    form.clicks.setChecked(True)
    assert form.summary().endswith("· clicks")
    assert not form.duration.isEnabled() and form.epochs.isEnabled()
    with qtbot.waitSignal(panel.trainRequested, timeout=1000) as blocker:
        qtbot.mouseClick(panel.train_button, Qt.MouseButton.LeftButton)
    s = blocker.args[0]
    assert (s.mode, s.time_limit_s, s.epochs, s.arch, s.device, s.lr, s.clicks) == \
        ("scratch", None, 12, "unet-tiny", "cpu", 1e-3, True)
    assert not panel.tabs.isEnabled()  # settings are locked while a run starts


def test_buttons_disabled_with_reasons(qtbot, panel: TrainingPanel) -> None:
    fired: list[object] = []
    panel.fineTuneRequested.connect(fired.append)
    panel.trainRequested.connect(fired.append)
    panel.set_availability(can_finetune=False, finetune_reason="Correct at least one mask first",
                           can_train=False, train_reason="No masks in this folder", corrected_count=0)
    assert not panel.finetune_button.isEnabled() and not panel.train_button.isEnabled()
    assert panel.finetune_button.toolTip() == "Correct at least one mask first"
    assert panel.train_button.toolTip() == "No masks in this folder"
    assert "Correct at least one mask first" in panel.reason_label.text()
    assert panel.reason_label.isVisible()
    panel.finetune_button.click()
    panel.train_button.click()
    assert fired == [] and not panel.is_busy()
    panel.set_availability(can_finetune=True, finetune_reason="", can_train=True, train_reason="",
                           corrected_count=24)
    assert panel.finetune_button.isEnabled() and panel.train_button.isEnabled()
    assert "24 corrected images" in panel.finetune_button.toolTip()
    assert "30%" in panel.finetune_button.toolTip()
    assert not panel.reason_label.isVisible()


def test_empty_state(panel: TrainingPanel) -> None:
    assert not panel.finetune_button.isEnabled()
    assert "Open a folder" in panel.train_button.toolTip()
    assert not panel.stop_button.isEnabled() and not panel.is_busy()
    assert not panel.summary.isVisible()


# --------------------------------------------------------------------------- progress and curves
def test_steps_and_epochs_feed_the_plots_coalesced(qtbot, panel: TrainingPanel) -> None:
    panel.on_started({"device": "cpu (1 threads)", "size_hw": [256, 384], "train_images": 20, "val_images": 4})
    assert panel.is_busy() and "cpu (1 threads)" in panel.status_label.text() and "256x384" in panel.status_label.text()
    before = panel.plots.redraws
    for i in range(1, 301):
        panel.on_step(step(i))
    for e in (1, 2, 3):
        panel.on_epoch(epoch_info(e, 0.5 + e / 10))
    panel.on_epoch(epoch_info(4, None))  # no validation split: no point
    x, y = panel.plots.loss_plot.data()
    assert len(x) == 0  # nothing drawn yet: redraws wait for the timer
    qtbot.waitUntil(lambda: not panel.plots.is_dirty(), timeout=2000)
    assert panel.plots.redraws - before == 1  # 304 inputs, one redraw
    x, y = panel.plots.loss_plot.data()
    np.testing.assert_array_equal(x, np.arange(1, 301))
    np.testing.assert_allclose(y, 1.0 / np.arange(1, 301))
    dx, dy = panel.plots.dice_plot.data()
    np.testing.assert_array_equal(dx, [1, 2, 3])
    np.testing.assert_allclose(dy, [0.6, 0.7, 0.8])
    qtbot.waitUntil(lambda: panel.progress.value() > 0, timeout=2000)
    assert panel.eta_label.text() == "ETA --:-- · epoch 30 · 4.2 img/s"  # the last step's ETA is negative


def test_eta_label_and_progress(qtbot, panel: TrainingPanel) -> None:
    panel.on_started({"device": "cpu", "size_hw": None})
    panel.on_step(StepInfo(4, 3, 10, 33, 0.2, 1e-3, 5.1, 30.0, 0.25, 83.0))
    qtbot.waitUntil(lambda: panel.progress.value() == 250, timeout=2000)
    assert panel.eta_label.text() == "ETA 1:23 · epoch 4 · 5.1 img/s"
    assert panel.progress.text() == "25%"


def test_initial_dice_line(panel: TrainingPanel) -> None:
    plot = panel.plots.dice_plot
    assert plot.reference() is None and plot.reference_text() == ""
    panel.set_initial_dice(0.912)
    assert plot.reference() == pytest.approx(0.912) and plot.reference_text() == "start 0.912"
    panel.set_initial_dice(None)
    assert plot.reference() is None


def test_new_run_clears_curves_and_many_points_downsample(qtbot, panel: TrainingPanel) -> None:
    panel.on_started({})
    for i in range(1, 6001):
        panel.plots.add_loss(i, math.sin(i))
    panel.plots.add_loss(6001, float("nan"))  # skipped
    panel.plots.flush()
    plot = panel.plots.loss_plot
    assert len(plot.data()[0]) == 6000
    px, py = plot.polyline()  # what is painted: at most two points (lowest, highest) per pixel column
    assert 2 <= len(px) <= 2 * plot.plot_rect().width() + 2
    rect, (_, (y0, y1)) = plot.plot_rect(), plot.ranges()
    assert py.min() == pytest.approx(rect.bottom() - (1.0 - y0) / (y1 - y0) * rect.height(), abs=0.01)  # peaks kept
    panel.on_started({})
    x, _ = plot.data()
    assert len(x) == 0


def test_finished_and_failed_messages(panel: TrainingPanel) -> None:
    panel.on_started({})
    panel.on_finished(result("completed", best=0.947, initial=0.912))
    assert not panel.is_busy() and not panel.stop_button.isEnabled()
    assert "validation Dice 0.912 before, best epoch 0.947 (+0.035)" in panel.status_label.text()
    assert "3 epochs" in panel.status_label.text() and "1:23" in panel.status_label.text()
    panel.on_started({})  # a fine-tune whose epochs all scored lower: its file keeps the start, 0.888 ...
    panel.on_finished(result("early_stop", best=0.888, initial=0.888, epochs=[0.740, 0.654]))
    assert "0.888 before, best epoch 0.740 (-0.148)" in panel.status_label.text()  # ... said as it is
    assert panel.progress.value() == panel.progress.maximum()
    panel.on_started({})
    panel.on_finished(result("stopped", best=None))
    assert panel.status_label.text().startswith("Stopped")
    panel.on_started({})
    panel.on_failed("data/x.jpg: cannot read image")
    assert panel.status_label.text() == "Training failed: data/x.jpg: cannot read image"
    assert not panel.is_busy()


def test_round_summary(panel: TrainingPanel) -> None:
    text = "Round 2 · validation Dice 0.912 → 0.947 (+0.035) · 24 images corrected so far"
    panel.set_round_summary(text)
    assert panel.summary.isVisible() and panel.summary.text() == text
    panel.set_round_summary("")
    assert not panel.summary.isVisible()


# --------------------------------------------------------------------------- stop
def test_stop_only_while_busy_and_not_on_escape(qtbot, panel: TrainingPanel) -> None:
    stops: list[bool] = []
    panel.stopRequested.connect(lambda: stops.append(True))
    assert not panel.stop_button.isEnabled()
    panel.stop_button.click()
    assert stops == []
    panel.on_started({})
    assert panel.stop_button.isEnabled()
    panel.stop_button.setFocus()
    qtbot.keyClick(panel, Qt.Key.Key_Escape)
    qtbot.keyClick(panel.stop_button, Qt.Key.Key_Escape)
    assert stops == []
    qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)
    assert stops == [True]
    assert not panel.stop_button.isEnabled()  # no double stop; still busy until the worker ends
    assert panel.is_busy() and "Stopping" in panel.status_label.text()
    panel.on_finished(result("stopped"))
    assert not panel.stop_button.isEnabled() and panel.stop_button.text() == "Stop"


# --------------------------------------------------------------------------- settings
def test_settings_persist_through_ini(qtbot, tmp_path: Path) -> None:
    ini = tmp_path / "settings.ini"
    a = TrainingPanel()
    qtbot.addWidget(a)
    a.forms["finetune"].duration.setValue(4 * 60)
    a.forms["finetune"].lr.setValue(2e-4)
    a.forms["finetune"].replay.setValue(0.5)
    a.forms["scratch"].by_epochs.setChecked(True)
    a.forms["scratch"].epochs.setValue(33)
    a.forms["scratch"].size.setCurrentText("384x576")
    a.forms["scratch"].arch.setCurrentText("unet-base")
    a.forms["scratch"].clicks.setChecked(True)
    a.settings_toggle.setChecked(False)
    a.tabs.setCurrentIndex(1)
    qs = QSettings(str(ini), QSettings.Format.IniFormat)
    a.save_settings(qs)
    qs.sync()
    assert "[training]" in ini.read_text()

    b = TrainingPanel()
    qtbot.addWidget(b)
    b.restore_settings(QSettings(str(ini), QSettings.Format.IniFormat))
    assert b.settings("finetune") == a.settings("finetune")
    assert b.settings("scratch") == a.settings("scratch")
    assert b.settings("scratch").epochs == 33 and b.settings("scratch").time_limit_s is None
    assert b.settings("scratch").clicks and not b.settings("finetune").clicks
    assert b.settings("finetune").lr == pytest.approx(2e-4)
    assert not b.settings_toggle.isChecked() and b.tabs.currentIndex() == 1


def test_restore_ignores_malformed_values(qtbot, tmp_path: Path) -> None:
    ini = tmp_path / "bad.ini"
    ini.write_text("[training]\nfinetune\\lr=banana\nfinetune\\size=12x7\nfinetune\\device=tpu\n"
                   "finetune\\minutes=\nscratch\\arch=unet-huge\nsettings_tab=x\n")
    p = TrainingPanel()
    qtbot.addWidget(p)
    p.restore_settings(QSettings(str(ini), QSettings.Format.IniFormat))
    assert p.settings("finetune") == DEFAULTS["finetune"]
    assert p.settings("scratch") == DEFAULTS["scratch"]
    assert p.tabs.currentIndex() == 0


def test_form_helpers_and_bad_input(qtbot) -> None:
    assert parse_size("auto") is None and parse_size(" 256 x 384 ") == (256, 384)
    for bad in ("", "256", "8x8", "axb"):
        with pytest.raises(ValueError, match="input size"):
            parse_size(bad)
    assert [format_lr(v) for v in (3e-4, 1e-3, 1.5e-4, 0.01)] == ["3e-4", "1e-3", "1.5e-4", "1e-2"]
    assert format_duration(83) == "1:23" and format_duration(3725) == "1:02:05" and format_duration(None) == "--:--"
    assert available_devices()[:2] == ["auto", "cpu"]
    with pytest.raises(ValueError, match="mode"):
        TrainForm("nope")
    form = TrainForm("finetune")
    qtbot.addWidget(form)
    form.lr.setValue(3e-4)
    form.lr.stepBy(1)
    assert form.lr.value() == pytest.approx(5e-4) and form.lr.text() == "5e-4"
    form.lr.stepBy(-2)
    assert form.lr.value() == pytest.approx(2e-4)
    assert form.lr.validate("3e-", 3)[0] != form.lr.validate("3e-4", 4)[0]
    assert form.lr.buttonSymbols() == QAbstractSpinBox.ButtonSymbols.UpDownArrows


# --------------------------------------------------------------------------- real wiring
def test_real_training_job_wired_to_panel(qtbot, panel: TrainingPanel, carvana_dir: Path, tmp_path: Path) -> None:
    layout = detect_layout(carvana_dir)
    pairs, _ = layout.pairs()
    examples = examples_from_layout(layout, pairs)
    tr, va = split_by_group(examples, [e.group for e in examples], 0.34, seed=0)
    config = TrainConfig(arch="unet-tiny", size_hw=(48, 64), epochs=3, lr=3e-3, batch_size=2, device="cpu")
    job = functools.partial(train, tr, va, layout.classes, config, tmp_path / "m.safetensors",
                            dataset_kind=layout.kind)
    enable_all(panel)
    requested: list[TrainSettings] = []
    panel.trainRequested.connect(requested.append)
    panel.train_button.click()
    assert requested and panel.is_busy()

    worker = TrainWorker(job, threads=1)
    worker.started.connect(panel.on_started)
    worker.step.connect(panel.on_step)
    worker.epoch.connect(panel.on_epoch)
    worker.finished.connect(panel.on_finished)
    worker.failed.connect(panel.on_failed)
    panel.stopRequested.connect(worker.request_stop)
    thread = start_worker(worker)
    qtbot.waitUntil(lambda: not panel.is_busy(), timeout=60_000)
    assert thread.wait(10_000)
    qtbot.waitUntil(lambda: not panel.plots.is_dirty(), timeout=2000)
    x, y = panel.plots.loss_plot.data()
    assert len(x) >= 3 and np.all(np.isfinite(y))
    dx, dy = panel.plots.dice_plot.data()
    np.testing.assert_array_equal(dx, [1, 2, 3])
    assert np.all((dy >= 0) & (dy <= 1))
    assert panel.status_label.text().startswith("Finished after 3 epochs")
    assert panel.progress.value() == panel.progress.maximum()
    assert panel.finetune_button.isEnabled() and not panel.stop_button.isEnabled()


def test_stop_button_stops_real_job(qtbot, panel: TrainingPanel, carvana_dir: Path, tmp_path: Path) -> None:
    layout = detect_layout(carvana_dir)
    pairs, _ = layout.pairs()
    examples = examples_from_layout(layout, pairs)
    config = TrainConfig(arch="unet-tiny", size_hw=(48, 64), epochs=500, batch_size=2, device="cpu")
    out = tmp_path / "m.safetensors"
    job = functools.partial(train, examples[:8], examples[8:], layout.classes, config, out, dataset_kind=layout.kind)
    worker = TrainWorker(job, threads=1)
    for signal, slot in ((worker.started, panel.on_started), (worker.step, panel.on_step),
                         (worker.epoch, panel.on_epoch), (worker.finished, panel.on_finished),
                         (worker.failed, panel.on_failed)):
        signal.connect(slot)
    panel.stopRequested.connect(worker.request_stop)  # the default connection must reach the running job
    thread = start_worker(worker)
    qtbot.waitUntil(lambda: panel.plots.loss.n >= 1, timeout=60_000)
    assert panel.is_busy() and panel.stop_button.isEnabled()
    qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)
    assert worker.stop_requested()
    qtbot.waitUntil(lambda: not panel.is_busy(), timeout=30_000)
    assert thread.wait(10_000)
    assert worker.result is not None and worker.result.stop_reason == "stopped" and worker.result.epochs < 500
    assert panel.status_label.text().startswith("Stopped") and out.exists()


@pytest.mark.parametrize(("typed", "seconds"), [("30 s", 30), ("0.5", 30), ("1:30", 90), ("2 min", 120),
                                                ("1 min 30 s", 90), ("1.5 h", 5400), ("5", 300), ("2 s", 10)])
def test_the_time_limit_takes_what_is_typed_with_its_unit(qtbot, typed: str, seconds: int) -> None:
    from app.panels.train_form import TrainForm

    form = TrainForm("finetune")
    qtbot.addWidget(form)
    form.show()
    form.by_time.setChecked(True)
    box = form.duration
    box.lineEdit().selectAll()
    qtbot.keyClicks(box.lineEdit(), typed)
    qtbot.keyClick(box.lineEdit(), Qt.Key.Key_Return)
    assert box.value() == seconds  # 2 s is below the 10 s the box allows
    assert form.values().time_limit_s == float(seconds)
    before = box.value()
    box.lineEdit().selectAll()
    qtbot.keyClicks(box.lineEdit(), "soon")
    qtbot.keyClick(box.lineEdit(), Qt.Key.Key_Return)
    box.clearFocus()
    assert box.value() == before  # not a duration: nothing changes


def test_old_settings_in_minutes_still_restore(qtbot, tmp_path: Path) -> None:
    from PySide6.QtCore import QSettings

    from app.panels.train_form import TrainForm

    qs = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    qs.setValue("train/finetune/limit", "time")
    qs.setValue("train/finetune/minutes", 3)
    form = TrainForm("finetune")
    qtbot.addWidget(form)
    form.restore(qs, "train")
    assert form.values().time_limit_s == 180.0 and form.duration.text() == "3 min"


def test_clicking_the_run_buttons_leaves_the_keys_where_they_were(qtbot) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import QLineEdit, QVBoxLayout, QWidget

    host = QWidget()
    qtbot.addWidget(host)
    typing = QLineEdit(host)  # stands for the canvas, which has the keys
    panel = TrainingPanel(host)
    layout = QVBoxLayout(host)
    layout.addWidget(typing)
    layout.addWidget(panel)
    host.show()
    qtbot.waitExposed(host)
    host.activateWindow()
    typing.setFocus()
    qtbot.waitUntil(typing.hasFocus)
    panel.stop_button.setEnabled(True)
    qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)  # a run stopped ...
    panel.stop_button.setEnabled(False)  # ... and its button disabled: the keys did not move
    assert typing.hasFocus()
    for button in (panel.train_button, panel.finetune_button, panel.stop_button):
        assert button.focusPolicy() == Qt.FocusPolicy.TabFocus  # Tab still reaches them
