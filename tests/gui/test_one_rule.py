"""One rule, one place: the app and the loop benchmark use the very same core definitions (identity, not copies)."""

from __future__ import annotations

import app.document.active_model as active_model
import app.document.records as records
import app.document.workspace as workspace
import app.window.training_controller as training_controller
import app.window.window_queue as window_queue
import unet_core.loop.corrections as corrections
import unet_core.sim.session as session
from app.panels import train_form
from unet_core import devices
from unet_core.loop import policy, runs
from unet_core.store import state


def test_done_statuses_and_the_status_list_are_the_stores() -> None:
    assert window_queue.DONE_STATUSES is state.DONE_STATUSES
    assert workspace.DONE_STATUSES is state.DONE_STATUSES
    assert corrections.DONE_STATUSES is state.DONE_STATUSES
    assert records.STATUSES is state.STATUSES


def test_the_app_and_the_benchmark_share_the_loops_verdicts_and_runs() -> None:
    assert workspace.is_correction is policy.is_correction is session.is_correction
    assert training_controller.keep_new_version is policy.keep_new_version
    assert active_model.adopt_run is runs.adopt_run is session.adopt_run
    assert training_controller.new_run_path is runs.new_run_path is session.new_run_path
    assert active_model.import_model_file is runs.import_model_file is session.import_model_file


def test_the_training_form_offers_the_cores_devices() -> None:
    assert set(train_form.available_devices()) <= set(devices.DEVICE_CHOICES)
    assert "cpu" in train_form.available_devices()
