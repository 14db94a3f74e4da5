"""Connects the training panel to the workspace: starts fine-tune / scratch jobs, keeps or rolls back models."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QThread, QTimer, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from app.document.background import run_in_background
from app.document.workspace import READ_ONLY_NOTICE, Workspace
from app.workers import TrainWorker, start_worker, stop_thread
from unet_core.errors import MaskloopError
from unet_core.fsutil import atomic_copy
from unet_core.loop.corrections import count_usable, effort_per_round, finetune_job, scratch_job
from unet_core.loop.policy import keep_new_version, last_dice, trained_dice
from unet_core.loop.rounds import round_config
from unet_core.loop.run_logs import last_run_log, new_run_log
from unet_core.loop.runs import new_run_path, remove_run
from unet_core.training.run_log import read_curves
from unet_core.training.starting_model import INTERACTIVE_CLICKS
from unet_core.training.types import TrainConfig, TrainResult

if TYPE_CHECKING:
    from app.panels.train_form import TrainSettings

LAST_RUN_POINTS = 1000  # loss points redrawn from a logged run (the plot holds 1024)


class TrainingController(QObject):
    """Runs one training job at a time on a QThread and decides which model version is kept."""

    runFinished = Signal(object)  # TrainResult, after the keep/rollback decision
    runFailed = Signal(str)  # a run could not start or failed (the message says why)

    def __init__(self, ws: Workspace, panel: Any, parent_widget: QWidget) -> None:
        super().__init__(parent_widget)
        self.ws, self.panel, self.parent_widget = ws, panel, parent_widget
        self.worker: TrainWorker | None = None
        self.thread: QThread | None = None
        self._job: dict[str, Any] = {}
        self._finishing = False  # a run ended and its last event-loop passes are pending: no new run yet
        self._closed = False
        self.ask_user = True  # tests switch the dialog off and set `choice`
        self.choice_use_new = False
        self.blocked: Callable[[], str | None] = lambda: None  # why no run may start now (the window's other work)
        panel.fineTuneRequested.connect(self.start_finetune)
        panel.trainRequested.connect(self.start_scratch)
        panel.stopRequested.connect(self.stop)
        self._refresh = QTimer(self, singleShot=True, interval=300)
        self._refresh.timeout.connect(self.refresh_availability)
        ws.datasetOpened.connect(self.refresh_availability)
        ws.datasetOpened.connect(self.show_last_run)
        ws.modelChanged.connect(self.refresh_availability)
        ws.recordChanged.connect(lambda *_: self._refresh.start())
        ws.stored.connect(lambda *_: self._refresh.start())  # the panel counts corrections on disk
        ws.groupsReady.connect(self._refresh.start)

    # -- availability --------------------------------------------------------------------------
    def refresh_availability(self) -> None:
        """Enable the panel's buttons with reasons the user can act on."""
        ws = self.ws
        if ws.layout is None or ws.store is None:
            self.panel.set_availability(can_finetune=False, finetune_reason="Open a folder first",
                                        can_train=False, train_reason="Open a folder first", corrected_count=0)
            return
        if ws.read_only:  # another window writes this folder: a trained model could not be kept here
            self.panel.set_availability(can_finetune=False, finetune_reason=READ_ONLY_NOTICE,
                                        can_train=False, train_reason=READ_ONLY_NOTICE, corrected_count=0)
            return
        c_train, c_val, originals = count_usable(ws.layout, ws.store, ws.records, ws.groups)
        busy = self.is_running()
        if ws.model.predictor is None:
            ft_ok, ft_reason = False, "Load or train a model first"
        elif c_train == 0:
            ft_ok, ft_reason = False, ("Correct at least one image first (edits are saved automatically)"
                                       if c_val == 0 else f"All {c_val} corrected image(s) are in the validation split; "
                                       "correct one more image")
        else:
            ft_ok = True
            ft_reason = f"Fine-tune on {c_train} corrected image(s); {c_val} more are held out for validation"
        tr_ok = (c_train + c_val + originals) > 0
        tr_reason = (f"Train a new model on {originals} dataset mask(s) and {c_train + c_val} correction(s)"
                     if tr_ok else "No masks yet: correct a few images first")
        self.panel.set_availability(can_finetune=ft_ok and not busy, finetune_reason=ft_reason,
                                    can_train=tr_ok and not busy, train_reason=tr_reason, corrected_count=c_train)

    def is_running(self) -> bool:
        """True while a job runs, and until its end has been handled (its summary shown, its thread ended)."""
        return self._finishing or (self.worker is not None and self.worker.is_running())

    def show_last_run(self) -> None:
        """After a folder opens: the curves of its last logged run, as they were when it ended (the log
        is listed and read on a pool thread: a long run's log is megabytes)."""
        store = self.ws.store
        if self.is_running() or store is None:
            return

        def read() -> tuple[str | None, list[tuple[int, float]], list[tuple[int, float]]]:
            folder = last_run_log(store)
            if folder is None:
                return None, [], []
            return (folder.name, *read_curves(folder, max_points=LAST_RUN_POINTS))

        def show(result: tuple[str | None, list[tuple[int, float]], list[tuple[int, float]]]) -> None:
            if self.ws.store is store and not self.is_running():  # still the folder it was read for
                self.panel.show_last_run(*result)

        self.ws.run_in_background(read, show)

    # -- starting ------------------------------------------------------------------------------
    def _config(self, settings: Any, log_dir: Path | None = None) -> TrainConfig:
        """The run's settings (the benchmark's rounds use the same recipe); every app run logs into the
        store (TensorBoard events and the curves the panel shows again after reopening the folder)."""
        config = round_config(
            arch=getattr(settings, "arch", "unet-small"), size_hw=settings.size_hw,
            epochs=settings.epochs, time_limit=settings.time_limit_s, lr=settings.lr, device=settings.device,
            clicks=INTERACTIVE_CLICKS if getattr(settings, "clicks", False) else None,  # None: as the model
        )
        return replace(config, log_dir=log_dir)

    def _refuse(self, message: str) -> None:
        """Answer a request that cannot start (the panel leaves its busy state)."""
        self.panel.on_failed(message)
        self.ws.message.emit(message)
        self.runFailed.emit(message)

    def _ready(self) -> bool:
        """A folder is open and no run is in progress; otherwise say why."""
        if self.is_running():
            self.ws.message.emit("A training run is already in progress")
            return False
        if self.ws.store is None or self.ws.layout is None:
            self._refuse("Open a folder first")
            return False
        if self.ws.read_only:
            self._refuse(f"{READ_ONLY_NOTICE}: a trained model could not be saved")
            return False
        busy = self.blocked()
        if busy:
            self._refuse(f"Cannot train now: {busy}")
            return False
        self.ws.flush()  # every correction on disk before the job reads them
        return True

    def start_finetune(self, settings: Any) -> None:
        """Fine-tune the active model on the saved corrections."""
        ws = self.ws
        if not self._ready():
            return
        if ws.model.path is None or ws.model.version is None:
            self._refuse("Load or train a model before fine-tuning")
            return
        out = self._run_path()
        config = self._config(settings, log_dir=self._log_dir(out))
        job = finetune_job(ws.model.path, ws.model.version, ws.layout, ws.store, ws.records, out, config,
                           settings.replay_fraction)
        self._start(job, {"mode": "finetune", "out": out, "parent": ws.model.version, "limit": _limit_text(settings)})

    def start_scratch(self, settings: Any) -> None:
        """Train a new model from scratch on the folder's masks and the corrections."""
        ws = self.ws
        if not self._ready():
            return
        out = self._run_path()
        config = self._config(settings, log_dir=self._log_dir(out))
        job = scratch_job(ws.layout, ws.store, ws.records, out, config, ws.model.path)
        self._start(job, {"mode": "scratch", "out": out, "parent": None, "limit": _limit_text(settings)})

    def _log_dir(self, run: Path) -> Path | None:
        """A new log folder in the store for the run writing ``run`` (``None``, said once, if it cannot be made)."""
        assert self.ws.store is not None
        try:
            return new_run_log(self.ws.store, run)
        except OSError as err:
            self.ws.message.emit(f"This run is not logged: cannot create its log folder ({err.strerror or err})")
            return None

    def _run_path(self) -> Path:
        """Where a run writes its checkpoints; the version id is taken only when the result is kept."""
        assert self.ws.store is not None
        return new_run_path(self.ws.store)

    def _start(self, job: Any, info: dict[str, Any]) -> None:
        self._job = info
        worker = TrainWorker(job)
        worker.started.connect(self._on_started)
        worker.step.connect(self.panel.on_step)
        worker.epoch.connect(self._on_epoch)
        worker.finished.connect(self._on_finished)
        worker.failed.connect(self._on_failed)
        self.worker = worker
        self.thread = start_worker(worker)
        what, tab = ("Fine-tuning", "Fine-tune") if info["mode"] == "finetune" else ("Training from scratch", "From scratch")
        limit = info.get("limit") or ""
        self.ws.message.emit(f"{what} {limit}… (Settings › {tab} changes it)" if limit else f"{what}…")
        self.refresh_availability()

    def _on_started(self, info: dict[str, Any]) -> None:
        self.panel.on_started(info)
        self.panel.set_initial_dice(info.get("initial_val_dice"))

    def _on_epoch(self, info: Any) -> None:
        self.panel.on_epoch(info)

    def stop(self) -> None:
        """Ask the job to stop after its current step (the best checkpoint so far is kept)."""
        if self.worker is not None:
            self.worker.request_stop()
            self.ws.message.emit("Stopping after the current step…")

    def shutdown(self, timeout_ms: int = 60_000) -> None:
        """Closing the window: stop the job and wait for its thread (no dialogs about its result)."""
        self._closed = True  # a finished run's pending passes do nothing now
        self._finishing = False
        if self.worker is not None:
            for sig in (self.worker.started, self.worker.step, self.worker.epoch, self.worker.finished,
                        self.worker.failed):
                with contextlib.suppress(RuntimeError, TypeError):
                    sig.disconnect()
            self.worker.request_stop()
        if self.thread is not None:
            stop_thread(self.thread, timeout_ms)
        self.worker, self.thread = None, None

    # -- results -------------------------------------------------------------------------------
    def _on_failed(self, message: str) -> None:
        self.panel.on_failed(message)
        self.ws.problem.emit(f"Training failed: {message}")
        self._cleanup()
        self.runFailed.emit(message)

    def _on_finished(self, result: TrainResult) -> None:
        self.panel.on_finished(result)
        info = self._job
        out: Path = info["out"]
        if result.epochs == 0:  # stopped before any validation: nothing was trained and measured
            remove_run(out)
            self.ws.message.emit("Stopped before the first epoch ended: no new model version")
            self._cleanup()
            self.runFinished.emit(result)
            return
        before, after = result.initial_val_dice, trained_dice(result.history)
        kind = "fine-tune" if info["mode"] == "finetune" else "train from scratch"
        keep_new = keep_new_version(before, after)
        version = None
        try:
            if not keep_new:
                # a fine-tune's file holds the start's weights when no epoch beat them: what "use the new model"
                # gives is then its best epoch's weights (kept aside), else the last epoch's, and the question
                # names the Dice of those
                finetune = info["mode"] == "finetune"
                best = result.trained_path
                trained = best if finetune and best is not None and best.exists() else None
                last = result.last_path if finetune and trained is None and result.last_path.exists() else None
                offered = last_dice(result.history) if last is not None else after
                which = "best" if trained is not None else "last" if last is not None else ""
                keep_new = self._ask(before, offered, result, which)
                # never validated: every epoch was the best, so `out` already holds the last one's weights as the
                # run kept them (their average, in a run that averages; `.last` holds the raw ones to resume from)
                chosen = trained or (last if after is not None else None)
                if keep_new and chosen is not None:
                    atomic_copy(chosen, out)  # the weights the question named, as the user chose
                    after = offered
            if keep_new and out.exists() and self.ws.store is not None:
                note = f"{kind}: {result.epochs} epochs, stop: {result.stop_reason}"
                version = self.ws.model.register_trained(out, info["parent"], after, note)
                if version is not None:
                    self.ws.message.emit(f"Model {version} is active (validation Dice {_fmt(before)} → "
                                         f"{_fmt(after)})")
        except (MaskloopError, OSError) as err:  # disk full, store gone read-only: say so, keep the app going
            self.ws.problem.emit(" ".join(f"The trained model could not be stored: {err}".split()))
            keep_new = True  # not "Dice dropped": the message above says what happened
        if not keep_new:
            self.ws.message.emit(f"Kept model {self.ws.model.version}: validation Dice "
                                 + ("was not measured" if after is None else "dropped"))
        # What is left runs in later event-loop passes, so that none holds the window for long (each is
        # 5-25 ms on 2 busy cores): deleting the run's files (a 20+ MB unlink) on a pool thread, the summary
        # (it reads the store and re-lays the panel out), then the end of the run.
        run_in_background(lambda: remove_run(out), lambda _: None)
        self._finishing = True  # until _end_round: is_running() stays true, so no run starts in between
        QTimer.singleShot(0, self, lambda: self._show_summary(before, after, result))

    def _show_summary(self, before: float | None, after: float | None, result: TrainResult) -> None:
        if self._closed:
            return
        self.panel.set_round_summary(self.round_summary(before, after))
        QTimer.singleShot(0, self, lambda: self._end_round(result))

    def _end_round(self, result: TrainResult) -> None:
        if self._closed:
            return
        self._finishing = False
        self._cleanup()
        self.runFinished.emit(result)

    def _ask(self, before: float | None, after: float | None, result: TrainResult, which_epoch: str = "") -> bool:
        if not self.ask_user:
            return self.choice_use_new
        box = QMessageBox(self.parent_widget)
        box.setIcon(QMessageBox.Icon.Question)
        has_model = self.ws.model.version is not None  # a first model has nothing to keep instead
        keep_text = "Keep the current model" if has_model else "Discard it"
        if after is None:
            box.setWindowTitle("The new model was not validated")
            box.setText("No validation Dice was measured for the newly trained model (no validation images).\n"
                        f"{keep_text}, or use the new model anyway?")
        else:
            box.setWindowTitle("Validation Dice dropped")
            which = {"best": "the best epoch's weights", "last": "the last epoch's weights"}.get(which_epoch,
                                                                                              "the new model")
            box.setText(f"Validation Dice before: {_fmt(before)}; {which}: {_fmt(after)}.\n"
                        f"{keep_text}, or use the newly trained one anyway?")
        keep = box.addButton("Keep current model" if has_model else "Discard new model",
                             QMessageBox.ButtonRole.RejectRole)
        box.addButton("Use new model", QMessageBox.ButtonRole.AcceptRole)
        box.setDefaultButton(keep)
        box.exec()
        return box.clickedButton() is not keep

    def round_summary(self, before: float | None, after: float | None) -> str:
        """"Round N · Dice a → b · K corrected · effort now vs round 1"."""
        store = self.ws.store
        if store is None:
            return ""
        rounds = [m for m in store.models() if m.note.startswith(("fine-tune", "train from scratch"))]  # trained here
        corrected = len(store.corrected_stems())
        text = f"Round {max(1, len(rounds))} · validation Dice {_fmt(before)} → {_fmt(after)}"
        if before is not None and after is not None:
            text += f" ({after - before:+.3f})"
        text += f" · {corrected} images corrected so far"
        effort = effort_per_round(store)
        if len(effort) >= 2:
            text += f" · effort per image now vs round 1: {effort[-1][2]:.1f} s vs {effort[0][2]:.1f} s"
        elif effort:
            text += f" · {effort[0][2]:.1f} s of editing per image"
        return text

    def _cleanup(self) -> None:
        if self.thread is not None:
            stop_thread(self.thread, 10_000)
        self.worker, self.thread = None, None
        self.refresh_availability()


def _limit_text(settings: TrainSettings) -> str:
    """How long a run will go, as the form says: "for 5 min", "for 90 s", "for 10 epochs" ("" if unknown)."""
    seconds, epochs = settings.time_limit_s, settings.epochs
    if seconds:
        return f"for {seconds / 60:g} min" if seconds >= 60 and seconds % 60 == 0 else f"for {seconds:g} s"
    return f"for {epochs} epoch{'s' if epochs != 1 else ''}" if epochs else ""


def _fmt(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.3f}"
