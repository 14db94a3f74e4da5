"""Background workers on real QThreads: a real tiny training job and real predictions from a tiny model."""

from __future__ import annotations

import functools
import gc
import os
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PySide6.QtCore import QObject, Qt, QThread, Signal
from PySide6.QtWidgets import QApplication

from app.workers import (
    PredictWorker,
    TrainWorker,
    freeze_startup_objects,
    preload_training_modules,
    start_worker,
    stop_thread,
    torch_threads,
)
from app.workers.common import BACKGROUND_NICE, lower_priority
from unet_core.data.dataset import Example, examples_from_layout
from unet_core.data.layouts import detect_layout
from unet_core.data.split import split_by_group
from unet_core.errors import DataError
from unet_core.model.predictor import Prediction, Predictor
from unet_core.training.trainer import train
from unet_core.training.types import EpochInfo, StepInfo, TrainConfig, TrainResult

TIMEOUT = 60_000


# --------------------------------------------------------------------------- helpers
def _split(carvana_dir: Path) -> tuple[list[Example], list[Example], object]:
    layout = detect_layout(carvana_dir)
    pairs, _ = layout.pairs()
    examples = examples_from_layout(layout, pairs)
    tr, va = split_by_group(examples, [e.group for e in examples], 0.34, seed=0)
    return tr, va, layout


def tiny_train_job(carvana_dir: Path, out: Path, epochs: int = 3, **cfg: object) -> functools.partial:
    tr, va, layout = _split(carvana_dir)
    settings: dict[str, object] = {"arch": "unet-tiny", "size_hw": (48, 64), "epochs": epochs, "lr": 3e-3,
                                   "batch_size": 2, "device": "cpu", **cfg}
    config = TrainConfig(**settings)  # type: ignore[arg-type]
    return functools.partial(train, tr, va, layout.classes, config, out, dataset_kind=layout.kind)


class Recorder(QObject):
    """Collects a TrainWorker's signals in QObject methods: queued to the GUI thread (a lambda is not)."""

    def __init__(self, worker: TrainWorker) -> None:
        super().__init__()
        self.started: list[dict] = []
        self.steps: list[StepInfo] = []
        self.epochs: list[EpochInfo] = []
        self.finished: list[TrainResult] = []
        self.failed: list[str] = []
        worker.started.connect(self.on_started)
        worker.step.connect(self.on_step)
        worker.epoch.connect(self.on_epoch)
        worker.finished.connect(self.on_finished)
        worker.failed.connect(self.on_failed)

    def on_started(self, info: dict) -> None:
        self.started.append(info)

    def on_step(self, info: StepInfo) -> None:
        self.steps.append(info)

    def on_epoch(self, info: EpochInfo) -> None:
        self.epochs.append(info)

    def on_finished(self, result: TrainResult) -> None:
        self.finished.append(result)

    def on_failed(self, message: str) -> None:
        self.failed.append(message)

    def ended(self) -> bool:
        return bool(self.finished or self.failed)


class Results(QObject):
    """Collects a PredictWorker's signals in the GUI thread."""

    def __init__(self, worker: PredictWorker) -> None:
        super().__init__()
        self.predicted: dict[str, Prediction] = {}
        self.order: list[str] = []
        self.failed: dict[str, str] = {}
        self.progress: list[tuple[int, int]] = []
        self.batches: list[bool] = []
        worker.predicted.connect(self.on_predicted)
        worker.failed.connect(self.on_failed)
        worker.progress.connect(self.on_progress)
        worker.batchFinished.connect(self.on_batch)

    def on_predicted(self, key: str, prediction: Prediction) -> None:
        assert QThread.currentThread() is QApplication.instance().thread()
        self.predicted[key] = prediction
        self.order.append(key)

    def on_failed(self, key: str, message: str) -> None:
        self.failed[key] = message

    def on_progress(self, done: int, total: int) -> None:
        self.progress.append((done, total))

    def on_batch(self, completed: bool) -> None:
        self.batches.append(completed)


def _image_paths(carvana_dir: Path, n: int) -> list[tuple[str, Path]]:
    layout = detect_layout(carvana_dir)
    pairs, _ = layout.pairs()
    return [(p.stem, p.image) for p in pairs[:n]]


class GatedPredictor:
    """Wraps a real Predictor; each predict() waits until the test opens the gate (records the order)."""

    def __init__(self, inner: Predictor) -> None:
        self.inner = inner
        self.gate = threading.Event()
        self.entered = threading.Event()

    def predict(self, image: np.ndarray) -> Prediction:
        self.entered.set()
        assert self.gate.wait(30), "test never opened the gate"
        return self.inner.predict(image)


@pytest.fixture
def predictor(tiny_model: Path) -> Predictor:
    return Predictor.from_checkpoint(tiny_model, device="cpu")


@pytest.fixture
def predict_worker(qtbot, predictor: Predictor):
    worker = PredictWorker(predictor, threads=1)
    thread = start_worker(worker)
    yield worker
    assert worker.shutdown(10_000)
    assert thread.isFinished()


# --------------------------------------------------------------------------- TrainWorker
def run_to_end(qtbot, worker: TrainWorker) -> tuple[Recorder, QThread]:
    rec = Recorder(worker)
    thread = start_worker(worker)
    qtbot.waitUntil(rec.ended, timeout=TIMEOUT)
    assert thread.wait(10_000), "the thread must end after the job"
    qtbot.wait(20)  # let the last queued signals arrive
    return rec, thread


def test_train_worker_runs_real_job(qtbot, carvana_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "m.safetensors"
    worker = TrainWorker(tiny_train_job(carvana_dir, out), threads=1)
    before = torch.get_num_threads()
    rec, _ = run_to_end(qtbot, worker)
    assert len(rec.started) == 1 and rec.started[0]["size_hw"] == [48, 64]
    assert "cpu (1 thread)" in rec.started[0]["device"]  # the worker limited torch's threads
    assert torch.get_num_threads() == before  # ... and restored them
    assert rec.steps and all(isinstance(s, StepInfo) for s in rec.steps)
    # the last step of every epoch is always delivered
    last_steps = {s.epoch for s in rec.steps if s.step == s.steps_per_epoch}
    assert last_steps == {1, 2, 3}
    assert [e.epoch for e in rec.epochs] == [1, 2, 3]
    assert not rec.failed and len(rec.finished) == 1
    result = rec.finished[0]
    assert isinstance(result, TrainResult) and result.stop_reason == "completed"
    assert result.best_path == out and out.exists()
    assert worker.result is result and not worker.is_running()


def test_train_worker_throttles_step_signals(qtbot, carvana_dir: Path, tmp_path: Path) -> None:
    # many fast steps, a long throttle interval: only the first step and the last of each epoch get through
    worker = TrainWorker(tiny_train_job(carvana_dir, tmp_path / "m.safetensors", epochs=2, augment=False),
                         threads=1, step_interval_s=3600)
    rec, _ = run_to_end(qtbot, worker)
    per_epoch = rec.steps[-1].steps_per_epoch
    assert per_epoch > 2
    assert [(s.epoch, s.step) for s in rec.steps] == [(1, 1), (1, per_epoch), (2, per_epoch)]
    assert rec.steps[-1].global_step == rec.finished[0].steps


def test_train_worker_stop_after_current_step(qtbot, carvana_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "m.safetensors"
    worker = TrainWorker(tiny_train_job(carvana_dir, out, epochs=50), threads=1)
    first_step = threading.Event()

    def on_first_step(info: StepInfo) -> None:  # runs in the worker thread, right after step 1
        first_step.set()
        worker.request_stop()

    worker.step.connect(on_first_step, Qt.ConnectionType.DirectConnection)
    rec, _ = run_to_end(qtbot, worker)
    result = rec.finished[0]
    assert first_step.is_set() and worker.stop_requested()
    assert result.stop_reason == "stopped" and result.steps == 1  # honoured within one step
    assert out.exists()  # weights are kept even when stopped before the first validation


def test_train_worker_stop_from_gui_thread(qtbot, carvana_dir: Path, tmp_path: Path) -> None:
    worker = TrainWorker(tiny_train_job(carvana_dir, tmp_path / "m.safetensors", epochs=200), threads=1)
    rec = Recorder(worker)
    thread = start_worker(worker)
    qtbot.waitUntil(lambda: len(rec.steps) >= 1, timeout=TIMEOUT)
    assert worker.is_running()
    seen = rec.steps[-1].global_step
    t0 = time.perf_counter()
    worker.request_stop()
    qtbot.waitUntil(rec.ended, timeout=TIMEOUT)
    assert time.perf_counter() - t0 < 10
    result = rec.finished[0]
    assert result.stop_reason == "stopped" and seen <= result.steps < 200
    assert thread.wait(10_000)
    qtbot.wait(20)
    assert rec.steps[-1].global_step == result.steps  # the held-back last step is flushed


def test_train_worker_failure_is_one_line_and_thread_ends(qtbot) -> None:
    def bad_job(callbacks, stop) -> TrainResult:
        raise DataError("cannot read image:\nbroken", Path("/data/x.jpg"))

    worker = TrainWorker(bad_job)
    rec, thread = run_to_end(qtbot, worker)
    assert thread.isFinished() and not rec.finished and not worker.is_running()
    message = rec.failed[0]
    assert "\n" not in message and "/data/x.jpg" in message and "broken" in message


def test_train_worker_unexpected_error_logged(qtbot, caplog) -> None:
    def bad_job(callbacks, stop) -> TrainResult:
        raise RuntimeError("boom")

    rec, _ = run_to_end(qtbot, TrainWorker(bad_job))
    assert rec.failed == ["unexpected error: RuntimeError: boom"]
    assert any("unexpected error" in r.message and r.exc_info for r in caplog.records)


def test_train_worker_job_with_bad_config_fails_cleanly(qtbot, carvana_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "m.safetensors"
    rec, _ = run_to_end(qtbot, TrainWorker(tiny_train_job(carvana_dir, out, lr=5.0)))  # invalid lr
    assert len(rec.failed) == 1 and "learning rate" in rec.failed[0]
    assert not rec.started and not out.exists()  # nothing written


def test_train_worker_runs_only_once(qtbot) -> None:
    calls: list[int] = []

    def job(callbacks, stop) -> TrainResult:
        calls.append(1)
        return TrainResult(Path("a"), Path("b"), None, None, 0, 0, 0.0, "completed")

    worker = TrainWorker(job)
    rec = Recorder(worker)
    worker.run()  # direct calls are allowed (same thread): signals are delivered directly
    worker.run()
    assert calls == [1] and len(rec.finished) == 1
    assert rec.failed == ["this training job has already run"]


def test_start_worker_rejects_bad_input(qtbot) -> None:
    parent = QObject()
    worker = TrainWorker(lambda callbacks, stop: None, parent=parent)  # type: ignore[arg-type,return-value]
    with pytest.raises(ValueError, match="parent"):
        start_worker(worker)
    with pytest.raises(ValueError, match="no method"):
        start_worker(TrainWorker(lambda callbacks, stop: None), entry="nope")  # type: ignore[arg-type,return-value]
    assert stop_thread(None)
    with pytest.raises(RuntimeError):
        stop_thread(QApplication.instance().thread())


def test_torch_threads_nesting_restores_original() -> None:
    original = torch.get_num_threads()
    with torch_threads(1) as n:
        assert n == 1 and torch.get_num_threads() == 1
        with torch_threads(1):
            pass
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == original


def test_preload_training_modules_is_idempotent() -> None:
    preload_training_modules()
    assert "torch._dynamo" in sys.modules and "albumentations" in sys.modules
    assert preload_training_modules() == 0.0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="threads have their own nice value on Linux only")
def test_worker_threads_run_below_the_gui_thread(qtbot) -> None:  # type: ignore[no-untyped-def]
    seen: list[int | None] = []

    class Probe(QObject):
        done = Signal()

        def run(self) -> None:
            seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
            seen.append(lower_priority(5))  # never raises a thread back up
            self.done.emit()

    probe = Probe()
    thread = start_worker(probe)
    assert thread.wait(10_000)
    assert seen == [BACKGROUND_NICE, BACKGROUND_NICE]
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == 0  # the GUI thread is untouched


def test_start_up_objects_are_frozen_so_a_full_collection_skips_them() -> None:
    preload_training_modules()
    try:
        frozen = freeze_startup_objects()
        assert frozen > 10_000 and gc.get_freeze_count() >= frozen  # torch and Qt's modules, at least
        assert len(gc.get_objects()) < frozen // 10  # what a full collection still walks
        cycle: list[object] = []
        cycle.append(cycle)
        del cycle
        assert gc.collect() >= 1  # objects made afterwards are still collected
    finally:
        gc.unfreeze()


# --------------------------------------------------------------------------- PredictWorker
def test_predict_three_images(qtbot, predict_worker: PredictWorker, carvana_dir: Path) -> None:
    res = Results(predict_worker)
    items = _image_paths(carvana_dir, 3)
    for key, path in items:
        predict_worker.request(key, path)
    qtbot.waitUntil(lambda: len(res.predicted) == 3, timeout=TIMEOUT)
    assert set(res.predicted) == {k for k, _ in items}
    for pred in res.predicted.values():
        assert pred.labels.shape == (160, 240) and pred.labels.dtype == np.uint8
        assert 0.0 <= pred.score <= 1.0
    assert not res.failed and not res.progress  # single requests report no batch progress


def test_predict_urgent_and_duplicates_order(qtbot, carvana_dir: Path, predictor: Predictor) -> None:
    worker = PredictWorker(predictor, threads=1)
    res = Results(worker)
    (ka, pa), (kb, pb), (kc, pc), (kd, pd) = _image_paths(carvana_dir, 4)
    worker.request(ka, pa)
    worker.request(kb, pb)
    worker.request(kc, pc)
    worker.request(ka, pa)  # duplicate: ignored, keeps its place
    assert worker.queued_keys() == [ka, kb, kc]
    worker.request(kc, pc, urgent=True)  # already queued: moves to the front
    worker.request(kd, pd, urgent=True)  # new and urgent: front
    assert worker.queued_keys() == [kd, kc, ka, kb]
    thread = start_worker(worker)
    try:
        qtbot.waitUntil(lambda: len(res.order) == 4, timeout=TIMEOUT)
        assert res.order == [kd, kc, ka, kb]
    finally:
        assert worker.shutdown()
    assert thread.isFinished()


def test_urgent_request_jumps_queue_while_busy(qtbot, carvana_dir: Path, predictor: Predictor) -> None:
    gated = GatedPredictor(predictor)
    worker = PredictWorker(gated, threads=1)  # type: ignore[arg-type]
    res = Results(worker)
    start_worker(worker)
    try:
        (k0, p0), (k1, p1), (k2, p2) = _image_paths(carvana_dir, 3)
        worker.request(k0, p0)
        assert gated.entered.wait(10)  # k0 is being predicted now
        worker.request(k1, p1)
        worker.request(k2, p2, urgent=True)
        gated.gate.set()
        qtbot.waitUntil(lambda: len(res.order) == 3, timeout=TIMEOUT)
        assert res.order == [k0, k2, k1]
    finally:
        gated.gate.set()
        assert worker.shutdown()


def test_cancel_drops_queue_and_current_result(qtbot, carvana_dir: Path, predictor: Predictor) -> None:
    gated = GatedPredictor(predictor)
    worker = PredictWorker(gated, threads=1)  # type: ignore[arg-type]
    res = Results(worker)
    start_worker(worker)
    try:
        worker.predict_all(_image_paths(carvana_dir, 6))
        assert gated.entered.wait(10)
        worker.cancel()
        assert worker.pending() == 0
        gated.gate.set()
        qtbot.waitUntil(lambda: res.batches == [False], timeout=10_000)
        qtbot.wait(100)
        assert res.order == [] and res.progress == []  # the image in flight when cancelled is not reported
        # the worker keeps serving after a cancel
        key, path = _image_paths(carvana_dir, 1)[0]
        worker.request(key, path)
        qtbot.waitUntil(lambda: res.order == [key], timeout=TIMEOUT)
        assert res.batches == [False]
    finally:
        gated.gate.set()
        assert worker.shutdown()


def test_predict_all_progress(qtbot, predict_worker: PredictWorker, carvana_dir: Path) -> None:
    res = Results(predict_worker)
    items = _image_paths(carvana_dir, 5)
    predict_worker.request(items[0][0], items[0][1])  # already queued singly: joins the batch, not twice
    predict_worker.predict_all(items)
    qtbot.waitUntil(lambda: bool(res.batches), timeout=TIMEOUT)
    qtbot.wait(20)
    assert res.batches == [True]
    assert res.progress == [(i, 5) for i in range(1, 6)]
    assert sorted(res.order) == sorted(k for k, _ in items)
    predict_worker.predict_all([])  # an empty batch finishes at once
    qtbot.waitUntil(lambda: res.batches == [True, True], timeout=10_000)


def test_corrupt_image_fails_with_message(qtbot, predict_worker: PredictWorker, carvana_dir: Path,
                                          tmp_path: Path) -> None:
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 definitely not a jpeg")
    res = Results(predict_worker)
    good_key, good_path = _image_paths(carvana_dir, 1)[0]
    predict_worker.predict_all([("broken", bad), (good_key, good_path), ("missing", tmp_path / "nope.png")])
    qtbot.waitUntil(lambda: bool(res.batches), timeout=TIMEOUT)
    qtbot.wait(20)
    assert res.batches == [True]  # bad items count as done; the batch still completes
    assert res.order == [good_key]
    assert set(res.failed) == {"broken", "missing"}
    assert "broken.jpg" in res.failed["broken"] and "\n" not in res.failed["broken"]
    assert "nope.png" in res.failed["missing"]
    assert res.progress[-1] == (3, 3)


def test_no_predictor_then_swap(qtbot, carvana_dir: Path, predictor: Predictor) -> None:
    worker = PredictWorker(None, threads=1)
    res = Results(worker)
    start_worker(worker)
    try:
        key, path = _image_paths(carvana_dir, 1)[0]
        worker.request(key, path)
        qtbot.waitUntil(lambda: bool(res.failed), timeout=10_000)
        assert res.failed == {key: "no model loaded"}
        worker.set_predictor(predictor)
        worker.request(key, path)
        qtbot.waitUntil(lambda: res.order == [key], timeout=TIMEOUT)
    finally:
        assert worker.shutdown()


class Requester(QObject):
    """A GUI-side object whose signal is connected the ordinary way to the worker's methods."""

    wanted = Signal(str, object)
    stop_all = Signal()


def test_requests_through_gui_signals(qtbot, predict_worker: PredictWorker, carvana_dir: Path) -> None:
    res = Results(predict_worker)
    src = Requester()
    src.wanted.connect(predict_worker.request)
    src.stop_all.connect(predict_worker.cancel)
    key, path = _image_paths(carvana_dir, 1)[0]
    src.wanted.emit(key, path)
    qtbot.waitUntil(lambda: res.order == [key], timeout=TIMEOUT)
    src.stop_all.emit()
    assert predict_worker.pending() == 0


def test_shutdown_joins_quickly_and_is_idempotent(qtbot, predictor: Predictor) -> None:
    worker = PredictWorker(predictor)
    thread = start_worker(worker)
    qtbot.waitUntil(worker.is_running, timeout=5_000)
    t0 = time.perf_counter()
    assert worker.shutdown(5_000)
    assert time.perf_counter() - t0 < 2
    assert thread.isFinished() and not worker.is_running()
    assert worker.shutdown(1_000)  # second call is harmless
    assert PredictWorker().shutdown()  # never started: nothing to join
