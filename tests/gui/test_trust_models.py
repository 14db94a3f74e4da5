"""Model versions are trusted: registered only once they load, kept by one rule, no version from a run never validated."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from app.panels.train_form import TrainSettings
from tests.gui.app_helpers import correct_outside_validation, wait_for, window_with_model
from unet_core.training.types import TrainResult

pytestmark = pytest.mark.slow


def _second_version(w, model: Path, damage: bool) -> str:  # type: ignore[no-untyped-def]
    """Register a copy of ``model`` as a non-current version (its file truncated when ``damage``)."""
    store = w.ws.store
    version, dest = store.new_model_path()
    shutil.copyfile(model, dest)
    store.register_model(version, parent=None, val_dice=0.5, note="copy", make_current=False)
    if damage:
        data = dest.read_bytes()
        dest.write_bytes(data[: len(data) // 2])
    w._refresh_versions_menu()
    return version


def test_a_version_that_does_not_load_never_becomes_current(qtbot, folder: Path, tiny_model: Path,
                                                           tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    w = window_with_model(qtbot, tmp_path, folder, tiny_model)
    first = w.ws.model.version
    problems: list[str] = []
    w.ws.problem.connect(problems.append)
    broken = _second_version(w, tiny_model, damage=True)
    action = next(a for a in w.versions_menu.actions() if a.text().startswith(broken))
    action.trigger()  # File → Model Versions → the damaged one
    qtbot.wait(300)
    assert w.ws.store.current_model().id == first, "a version that does not load was made current"
    assert w.ws.model.version == first and w.ws.model.predictor is not None
    assert problems and "\n" not in problems[-1] and broken in problems[-1]

    # a trained file that does not load is not registered, and its file is removed
    bad = w.ws.store.models_dir() / "run-test.safetensors"
    bad.write_bytes(tiny_model.read_bytes()[:1000])
    count = len(w.ws.store.models())
    assert w.ws.model.register_trained(bad, first, 0.9, "fine-tune: test") is None
    assert len(w.ws.store.models()) == count and not bad.exists()
    assert w.ws.store.current_model().id == first

    # a model file whose weights do not fit its architecture: one line, nothing registered
    wrong = tmp_path / "wrong.safetensors"
    from safetensors import safe_open
    from safetensors.torch import save_file

    with safe_open(str(tiny_model), framework="pt") as fh:
        tensors = {k: fh.get_tensor(k) for k in fh.keys()}  # noqa: SIM118
        meta = fh.metadata()
    name = next(k for k, t in tensors.items() if t.ndim == 4)
    tensors[name] = tensors[name][:, :1].contiguous()
    save_file(tensors, str(wrong), metadata=meta)
    assert not w.open_model(wrong)
    message = w.statusBar().currentMessage()
    assert "\n" not in message and "wrong.safetensors" in message
    assert len(w.ws.store.models()) == count and w.ws.store.current_model().id == first
    assert w.grab().save(str(tmp_path / "bad_model_message.png"))
    w.close()


def stop_at_first_step(job):  # type: ignore[no-untyped-def]
    """The job, with a callback that sets its stop event at the first optimisation step."""
    from unet_core.training.types import Callback

    class StopAtFirstStep(Callback):
        def __init__(self, stop) -> None:  # type: ignore[no-untyped-def]
            self.stop = stop

        def on_step(self, info) -> None:  # type: ignore[no-untyped-def]
            self.stop.set()

    return lambda callbacks=(), stop=None: job([*callbacks, StopAtFirstStep(stop)], stop)


def test_stop_before_the_first_epoch_leaves_no_version_and_no_dialog(qtbot, folder: Path, tiny_model: Path,
                                                                     tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    w = window_with_model(qtbot, tmp_path, folder, tiny_model)
    correct_outside_validation(qtbot, w)
    asked: list[tuple] = []
    w.train_ctl._ask = lambda *a: asked.append(a) or True  # a dialog would appear here
    versions = [m.id for m in w.ws.store.models()]
    w.training.forms["finetune"].set_values(TrainSettings("finetune", None, 50, None, 3e-4, "cpu", 0.3, "unet-tiny"))
    w.train_ctl.refresh_availability()
    start = w.train_ctl._start
    # Stop exactly as the Stop button does, but from the first step inside the worker: a click from the
    # test could land after the short first epoch ended.
    w.train_ctl._start = lambda job, info: start(stop_at_first_step(job), info)
    with qtbot.waitSignal(w.train_ctl.runFinished, timeout=60000) as blocker:
        qtbot.mouseClick(w.training.finetune_button, Qt.MouseButton.LeftButton)
    assert blocker.args[0].epochs == 0
    assert not asked, "asked about a model that was never evaluated"
    assert [m.id for m in w.ws.store.models()] == versions
    assert sorted(p.name for p in w.ws.store.models_dir().iterdir()) == [f"{v}.safetensors" for v in versions]
    assert w.ws.store.new_model_path()[0] == f"v{len(versions) + 1:04d}", "a version number was burnt"
    assert not w.training.is_busy() and w.training.progress.value() == 0
    assert "no new model version" in w.training.status_label.text()
    assert w.training.finetune_button.isEnabled()
    assert w.grab().save(str(tmp_path / "stopped_before_first_epoch.png"))
    w.close()


def test_a_new_version_with_equal_dice_is_kept_without_asking(qtbot, folder: Path, tiny_model: Path,
                                                              tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    w = window_with_model(qtbot, tmp_path, folder, tiny_model)
    first = w.ws.model.version
    asked: list[tuple] = []
    w.train_ctl._ask = lambda *a: asked.append(a) or False
    ctl = w.train_ctl

    def finish(before: float | None, dice: float | None) -> None:
        out = ctl._run_path()
        shutil.copyfile(tiny_model, out)
        ctl._job = {"mode": "finetune", "out": out, "parent": first}
        history = [{"epoch": 1, "val_dice": dice}]
        ctl._on_finished(TrainResult(out, out.with_name(out.stem + ".last.safetensors"), dice, before, 1, 12,
                                     1.0, "completed", history))

    finish(0.8, 0.8)  # did not drop: kept, no question
    assert not asked and w.ws.store.current_model().id != first
    kept = w.ws.store.current_model().id
    finish(0.8, 0.79)  # dropped: the user is asked (and keeps the current one)
    assert len(asked) == 1 and w.ws.store.current_model().id == kept
    finish(0.8, None)  # never validated: never kept silently
    assert len(asked) == 2 and w.ws.store.current_model().id == kept
    # the runs' files are deleted on a pool thread, so as not to hold the window
    qtbot.waitUntil(lambda: sorted(p.name for p in w.ws.store.models_dir().iterdir())
                    == ["v0001.safetensors", "v0002.safetensors"], timeout=5000)
    w.close()


def test_no_run_starts_before_the_end_of_the_last_is_handled(qtbot, folder: Path, tiny_model: Path,
                                                              tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    w = window_with_model(qtbot, tmp_path, folder, tiny_model)
    ctl = w.train_ctl
    out = ctl._run_path()
    shutil.copyfile(tiny_model, out)
    ctl._job = {"mode": "finetune", "out": out, "parent": w.ws.model.version}
    ended: list[object] = []
    ctl.runFinished.connect(ended.append)
    messages: list[str] = []
    w.ws.message.connect(messages.append)
    ctl._on_finished(TrainResult(out, out.with_name(out.stem + ".last.safetensors"), 0.9, 0.8, 1, 12, 1.0,
                                 "completed", [{"epoch": 1, "val_dice": 0.9}]))
    assert ctl.is_running() and not ended  # the summary and the clean-up come in later passes
    ctl.start_finetune(w.training.forms["finetune"].values())  # e.g. Ctrl+T right then
    assert ctl.worker is None and messages[-1] == "A training run is already in progress"
    qtbot.waitUntil(lambda: bool(ended), timeout=5000)
    assert not ctl.is_running() and w.training.summary.text().startswith("Round")
    w.close()


def test_versions_menu_compares_dice_only_on_the_same_split(qtbot, folder: Path, tiny_model: Path,
                                                           tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    w = window_with_model(qtbot, tmp_path, folder, tiny_model)  # trained by the tests on their own split
    first = w.ws.model.version
    correct_outside_validation(qtbot, w)
    w.train_ctl.choice_use_new = True
    w.training.forms["finetune"].set_values(TrainSettings("finetune", None, 2, None, 3e-4, "cpu", 0.3, "unet-tiny"))
    w.train_ctl.refresh_availability()
    with qtbot.waitSignal(w.train_ctl.runFinished, timeout=120000):
        qtbot.mouseClick(w.training.finetune_button, Qt.MouseButton.LeftButton)
    wait_for(qtbot, lambda: w.ws.model.version != first and w.ws.model.predictor is not None)
    texts = {a.text().split(" · ")[0]: a.text() for a in w.versions_menu.actions()}
    assert "not comparable" in texts[first], texts  # its Dice comes from another split
    assert "not comparable" not in texts[w.ws.model.version], texts  # measured on the app's split
    w.versions_menu.popup(w.mapToGlobal(w.rect().center()))
    qtbot.waitExposed(w.versions_menu)
    assert w.versions_menu.grab().save(str(tmp_path / "versions_menu.png"))
    w.versions_menu.close()
    w.close()


def test_a_fine_tune_that_never_beat_the_start_offers_its_best_epoch(qtbot, folder: Path, tiny_model: Path,
                                                                       tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from unet_core.model.checkpoint import file_hash, load_checkpoint, save_checkpoint

    w = window_with_model(qtbot, tmp_path, folder, tiny_model)
    ctl = w.train_ctl
    out = ctl._run_path()
    shutil.copyfile(tiny_model, out)  # no epoch beat the start: the run's file holds the start
    model, meta = load_checkpoint(tiny_model)
    meta.training = {**meta.training, "epoch": 2}
    trained = out.with_name(out.stem + ".trained.safetensors")
    save_checkpoint(trained, model, meta)  # the best of the run's own epochs
    offered = file_hash(trained)
    ctl._job = {"mode": "finetune", "out": out, "parent": w.ws.model.version}
    ctl.choice_use_new = True  # "Use new model"
    history = [{"epoch": 1, "val_dice": 0.85}, {"epoch": 2, "val_dice": 0.88}, {"epoch": 3, "val_dice": 0.86}]
    with qtbot.waitSignal(ctl.runFinished, timeout=10000):
        ctl._on_finished(TrainResult(out, out.with_name(out.stem + ".last.safetensors"), 0.9, 0.9, 3, 30, 1.0,
                                     "early_stop", history, trained_path=trained))
    current = w.ws.store.current_model()
    assert current.val_dice == pytest.approx(0.88)  # the best epoch, as the panel says, not the last (0.86)
    assert file_hash(current.path) == offered != file_hash(tiny_model)
    wait_for(qtbot, lambda: not trained.exists())  # the run's files are removed once it is kept
    w.close()


def test_a_fine_tune_without_validation_keeps_the_weights_its_run_kept(qtbot, folder: Path, tiny_model: Path,
                                                                        tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """No validation: every epoch was the run's best, so its file holds the last epoch as the run kept it (the weight
    average, in a run with clicks); "Use new model" registers that file, not the raw weights of ``.last``."""
    import torch

    from unet_core.model.checkpoint import file_hash, load_checkpoint, save_checkpoint

    w = window_with_model(qtbot, tmp_path, folder, tiny_model)
    ctl = w.train_ctl
    out = ctl._run_path()
    model, meta = load_checkpoint(tiny_model)
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(0.5)  # the kept weights differ from the start's and from the raw ones below
    save_checkpoint(out, model, meta)
    kept = file_hash(out)
    last = out.with_name(out.stem + ".last.safetensors")
    shutil.copyfile(tiny_model, last)
    ctl._job = {"mode": "finetune", "out": out, "parent": w.ws.model.version}
    ctl.choice_use_new = True  # "Use new model" when asked
    history = [{"epoch": 1, "val_dice": None}, {"epoch": 2, "val_dice": None}]
    with qtbot.waitSignal(ctl.runFinished, timeout=10000):
        ctl._on_finished(TrainResult(out, last, None, None, 2, 20, 1.0, "completed", history))
    current = w.ws.store.current_model()
    assert file_hash(current.path) == kept != file_hash(tiny_model)
    w.close()


def test_a_run_says_how_long_it_will_go_and_where_to_change_it() -> None:
    from app.window.training_controller import _limit_text

    assert _limit_text(TrainSettings("scratch", 300.0, None, None, 1e-3, "cpu", 0.0, "unet-small")) == "for 5 min"
    assert _limit_text(TrainSettings("scratch", 90.0, None, None, 1e-3, "cpu", 0.0, "unet-small")) == "for 90 s"
    assert _limit_text(TrainSettings("finetune", None, 10, None, 1e-3, "cpu", 0.3, "unet-small")) == "for 10 epochs"


def test_a_first_model_that_was_not_validated_is_offered_to_discard_not_to_keep_a_model(qtbot, folder: Path,
                                                                                         tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    from tests.gui.app_helpers import make_window

    w = make_window(qtbot, tmp_path)
    assert w.open_folder(folder) and w.ws.model.version is None  # no model yet
    w.train_ctl.ask_user = True
    seen: list[tuple[str, list[str]]] = []

    def answer() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(50, answer)
            return
        seen.append((box.text(), [b.text() for b in box.buttons()]))
        next(b for b in box.buttons() if b.text() == "Discard new model").click()

    QTimer.singleShot(50, answer)
    result = TrainResult(tmp_path / "run.safetensors", tmp_path / "run.last.safetensors", None, None, 1, 17, 10.0,
                         "stopped", [])
    assert w.train_ctl._ask(None, None, result) is False
    text, buttons = seen[0]
    assert "Discard it, or use the new model anyway?" in text and "Keep current model" not in buttons
    w.close()
