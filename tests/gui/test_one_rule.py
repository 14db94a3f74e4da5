"""One rule, one place: the app and the loop benchmark use the very same core definitions (identity, not copies)."""

from __future__ import annotations

import app.document.active_model as active_model
import app.document.workspace as workspace
import app.window.queue as window_queue
import app.window.training_controller as training_controller
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
    import unet_core.loop.records as records
    import unet_core.sim.session as sim

    assert records.STATUSES is state.STATUSES
    assert workspace.ImageRecord is records.ImageRecord is sim.ImageRecord  # one record type for app and benchmark


def test_the_click_tool_and_the_clicking_person_run_the_same_model_code() -> None:
    import inspect

    import app.canvas.click_input as click_input
    import unet_core.sim.clicker as clicker
    import unet_core.sim.heldout as heldout
    from unet_core.clicks import predict

    assert session.ClickPredictor is clicker.ClickPredictor is predict.ClickPredictor
    assert "ClickPredictor(" in inspect.getsource(active_model.ActiveModel.clicker)
    assert "ClickPredictor(" in inspect.getsource(heldout.heldout_eval)
    assert ".selection(" in inspect.getsource(click_input.ClickInput)  # the job the latency benchmark times


def test_the_app_and_the_benchmark_share_the_loops_verdicts_and_runs() -> None:
    assert workspace.is_correction is policy.is_correction is session.is_correction
    assert training_controller.keep_new_version is policy.keep_new_version
    assert active_model.adopt_run is runs.adopt_run is session.adopt_run
    assert training_controller.new_run_path is runs.new_run_path is session.new_run_path
    assert active_model.import_model_file is runs.import_model_file is session.import_model_file


def test_a_rounds_training_settings_come_from_one_recipe(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from unet_core.loop import rounds

    assert training_controller.round_config is rounds.round_config
    seen: list[str] = []
    real = rounds.round_config
    monkeypatch.setattr(rounds, "round_config", lambda **kw: seen.append(kw["arch"]) or real(**kw))
    sim_config = session._train_config(session.LoopConfig(arch="unet-tiny"), True, 0, 3)
    assert seen == ["unet-tiny"]  # the benchmark builds its rounds with the recipe at run time
    settings = type("S", (), {"arch": "unet-tiny", "size_hw": None, "epochs": 2, "time_limit_s": None,
                              "lr": 1e-3, "device": "cpu"})()
    app_config = training_controller.TrainingController._config(None, settings)  # type: ignore[arg-type]
    assert (app_config.min_epoch_samples, app_config.batch_size) == (sim_config.min_epoch_samples,
                                                                     sim_config.batch_size)
    settings.clicks = True  # type: ignore[attr-defined]
    app_clicks = training_controller.TrainingController._config(None, settings)  # type: ignore[arg-type]
    sim_clicks = session._train_config(session.LoopConfig(arch="unet-tiny", tools="click"), True, 0, 3)
    assert app_clicks.clicks == sim_clicks.clicks == 0.5 and app_config.clicks is None and sim_config.clicks is None


def test_the_training_form_offers_the_cores_devices() -> None:
    assert set(train_form.available_devices()) <= set(devices.DEVICE_CHOICES)
    assert "cpu" in train_form.available_devices()


def test_the_queue_and_its_waiting_look_alikes_are_the_cores() -> None:
    from pathlib import Path

    from unet_core.loop.records import ImageRecord

    assert window_queue.correction_queue is corrections.correction_queue
    assert window_queue.unlearnt_stems is corrections.unlearnt_stems
    records = [ImageRecord("a", Path("a.png"), status="corrected", corrected_with="v0002"),
               ImageRecord("b", Path("b.png"), status="reviewed", corrected_with="v0001"),
               ImageRecord("c", Path("c.png"), status="predicted")]
    assert corrections.done_stems(records) == {"a", "b"}
    assert corrections.unlearnt_stems(records, "v0002") == {"a"} and corrections.unlearnt_stems(records, None) == set()


def test_the_canvas_and_the_simulated_person_use_the_same_smart_tools() -> None:
    import app.canvas.mask_commands as mask_commands
    import app.canvas.region_input as region_input
    import app.canvas.scissors_input as scissors_input
    import app.canvas.smart as canvas_smart
    import app.canvas.tools as canvas_tools
    import unet_core.sim.smart as sim_smart

    for name in ("magic_wand", "snap_stroke", "edge_stroke", "superpixel_stroke", "superpixels", "seed_spacing"):
        assert getattr(canvas_smart, name) is getattr(sim_smart, name), name
    for name in ("cleanup", "refine_edges", "default_reach"):  # the whole-mask commands, and refine's reach
        assert getattr(mask_commands, name) is getattr(sim_smart, name), name
    assert region_input.region_click is sim_smart.region_click
    assert scissors_input.Scissors is sim_smart.Scissors
    assert canvas_tools.apply_selection is sim_smart.apply_selection
