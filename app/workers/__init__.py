"""Background workers of the app (training, prediction) and the helpers that put them on QThreads."""

from __future__ import annotations

from app.workers.common import (
    default_threads,
    error_text,
    freeze_startup_objects,
    preload_training_modules,
    start_worker,
    stop_thread,
    torch_threads,
    tune_for_responsiveness,
)
from app.workers.predict import PredictWorker
from app.workers.train import STEP_INTERVAL_S, TrainJob, TrainWorker

__all__ = [
    "STEP_INTERVAL_S",
    "PredictWorker",
    "TrainJob",
    "TrainWorker",
    "default_threads",
    "error_text",
    "freeze_startup_objects",
    "preload_training_modules",
    "start_worker",
    "stop_thread",
    "torch_threads",
    "tune_for_responsiveness",
]
