"""The active-learning queue in the window: Q goes to the most uncertain image still to correct once the
model's uncertainty is trusted (else a shuffled order, and the status bar says why); after a fine-tune
the queue is re-scored by the new model and, when trusted, the list sorted most uncertain first."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from app.panels.train_form import TrainSettings
from tests.gui.app_helpers import (
    correct_outside_validation,
    make_window,
    paint_stroke,
    wait_for,
    window_with_model,
)
from unet_core.loop.corrections import validation_stems

pytestmark = pytest.mark.slow


def _predicted_all(qtbot, w) -> None:  # type: ignore[no-untyped-def]
    w.predict_all()
    wait_for(qtbot, lambda: all(r.scored_by == w.ws.model.version for r in w.ws.records), timeout=60000)


def _trust_uncertainty(w, trusted: bool = True) -> None:  # type: ignore[no-untyped-def]
    """What a model's training records when its uncertainty ranks (or fails to rank) its validation errors."""
    w.ws.model.meta.training["uncertainty_calibration"] = {"images": 12, "rho": 0.8 if trusted else 0.1,
                                                            "split": w._app_split()}


def test_q_goes_to_the_most_uncertain_image_not_yet_corrected(qtbot, folder: Path, tiny_model: Path,
                                                             tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    w = window_with_model(qtbot, tmp_path, folder, tiny_model)
    _predicted_all(qtbot, w)
    _trust_uncertainty(w)
    records = w.ws.records
    val = validation_stems(w.ws.layout, records, w.ws.groups)
    ranked = sorted((i for i, r in enumerate(records) if r.stem not in val), key=lambda i: -records[i].uncertainty)
    alike = w.ws.groups.lookalike
    w.show_row(ranked[-1])  # start on the surest image
    w.files.view.setFocus()  # Q works while the list has focus (not taken by its keyboard search)
    qtbot.keyClick(w.files.view, Qt.Key.Key_Q)
    wait_for(qtbot, lambda: w.ws.current == ranked[0])
    assert "uncertainty" in w.status.currentMessage()
    # correct it: it leaves the queue and Q moves on to the next most uncertain one
    wait_for(qtbot, lambda: w.ws.loaded is not None)
    w.select_class(1)
    paint_stroke(qtbot, w, [(100, 60), (130, 70)])
    assert records[ranked[0]].status == "corrected"
    qtbot.keyClick(w.canvas.viewport(), Qt.Key.Key_Q)  # and while painting on the canvas
    # the next most uncertain one, skipping look-alikes of the image just corrected (not learnt yet)
    nxt = next(i for i in ranked[1:] if alike[records[i].stem] != alike[records[ranked[0]].stem])
    wait_for(qtbot, lambda: w.ws.current == nxt)
    assert w.queue()[0] == nxt and ranked[0] not in w.queue()
    # a score from another model version does not count: that image goes to the back of the queue
    records[ranked[2]].scored_by = "v9999"
    assert w.queue()[-1] == ranked[2]
    # only validation images left: they come in turn, and the status bar says why
    for r in records:
        if r.stem not in val:
            r.status = "reviewed"
    w.next_in_queue()
    assert records[w.ws.current].stem in val and "validation image" in w.status.currentMessage()
    # every image done: Q says so and stays
    for r in records:
        r.status = "reviewed"
    here = w.ws.current
    w.next_in_queue()
    assert w.ws.current == here and "queue is empty" in w.status.currentMessage()
    w.close()


def test_q_follows_a_shuffle_while_the_model_s_uncertainty_is_not_trusted(qtbot, folder: Path, tiny_model: Path,
                                                                          tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from unet_core.loop.corrections import correction_queue, done_stems, unlearnt_stems

    w = window_with_model(qtbot, tmp_path, folder, tiny_model)
    _predicted_all(qtbot, w)
    _trust_uncertainty(w, trusted=False)
    records = w.ws.records
    scores = {r.stem: r.uncertainty for r in records}
    done, unlearnt = done_stems(records), unlearnt_stems(records, w.ws.model.version)
    auto = correction_queue(w.ws.layout, records, done, scores, groups=w.ws.groups, unlearnt=unlearnt)
    ranked = correction_queue(w.ws.layout, records, done, scores, "uncertainty", groups=w.ws.groups, unlearnt=unlearnt)
    stems = [records[i].stem for i in w.queue()]
    assert stems == auto and stems != ranked  # the shuffle, not most uncertain first
    val = validation_stems(w.ws.layout, records, w.ws.groups)
    target = next(s for s in stems if s not in val)
    w.show_row(w.ws.row_of[stems[-1]])
    for s in stems[:stems.index(target)]:  # whatever comes before it was reviewed already
        records[w.ws.row_of[s]].status = "reviewed"
    w.files.view.setFocus()
    qtbot.keyClick(w.files.view, Qt.Key.Key_Q)
    wait_for(qtbot, lambda: w.ws.current == w.ws.row_of[target])
    message = w.status.currentMessage()
    assert "shuffled: the model's uncertainty does not rank its errors surely enough: rank correlation 0.10 on 12" \
        in message, message
    w.files.set_sort("uncertainty")  # the user sorts by uncertainty: Predict All says Q does not follow it
    w._on_batch_finished(True)  # (what a Predict All batch ends with)
    assert "Q takes a shuffled order" in w.status.currentMessage()
    # a calibration measured on another validation split (another folder, the CLI's split) is not this one's
    w.ws.model.meta.training["uncertainty_calibration"] = {"images": 40, "rho": 0.9, "split": "app-000000000000"}
    assert not w.queue_ranks_by_uncertainty()
    w.rescore_queue()
    assert "not checked against its errors on this folder's validation images" in w.status.currentMessage()
    w.close()


def test_after_a_finetune_the_queue_is_rescored_by_the_new_model(qtbot, folder: Path, tiny_model: Path,
                                                                 tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    w = window_with_model(qtbot, tmp_path, folder, tiny_model)
    _predicted_all(qtbot, w)
    assert w.files.sort_key() == "name"
    val = validation_stems(w.ws.layout, w.ws.records, w.ws.groups)
    correct_outside_validation(qtbot, w)
    first = w.ws.model.version
    w.train_ctl.choice_use_new = True
    w.training.forms["finetune"].set_values(TrainSettings("finetune", None, 1, None, 3e-4, "cpu", 0.3, "unet-tiny"))
    w.finetune_now()
    with qtbot.waitSignal(w.train_ctl.runFinished, timeout=120000) as finished:
        pass
    steps_run = finished.args[0].steps
    # the run logged into the store: TensorBoard events and the curves the panel redraws after reopening
    from unet_core.loop.run_logs import run_logs

    logs = run_logs(w.ws.store)
    assert len(logs) == 1 and list(logs[0].glob("events.out.tfevents.*"))
    new = w.ws.store.current_model().id
    assert new != first
    todo = [r for r in w.ws.records if r.status not in ("corrected", "reviewed")]
    wait_for(qtbot, lambda: w.ws.model.version == new and all(r.scored_by == new for r in todo), timeout=60000)
    # the run measured the new model's uncertainty against its errors on the (here tiny) validation
    # split: too few images to trust it, so the list keeps its order and the status bar says why
    recorded = w.ws.model.meta.training["uncertainty_calibration"]
    assert 0 < recorded["images"] < 8
    assert w.files.sort_key() == "name"
    w.rescore_queue()
    assert "stays shuffled" in w.status.currentMessage() and "too few" in w.status.currentMessage()
    # a model whose uncertainty ranks its errors: re-scoring sorts the list by it
    _trust_uncertainty(w)
    w.rescore_queue()
    wait_for(qtbot, lambda: w.files.sort_key() == "uncertainty")
    # the list shows the queue most uncertain first, and its first row is where Q goes
    model = w.files.model
    shown = [w.ws.records[model.source_row(v)] for v in range(model.rowCount())]
    scores = [r.uncertainty for r in shown if r.uncertainty is not None]
    assert scores == sorted(scores, reverse=True)
    w.next_in_queue()
    assert w.ws.records[w.ws.current].scored_by == new
    w.close()
    # reopened, the scores and the versions that gave them come back from the store: Q needs no re-predicting
    w2 = make_window(qtbot, tmp_path)
    w2.open_folder(folder)
    wait_for(qtbot, lambda: w2.ws.model.version == new)
    # ... and the training panel shows the last run's curves again
    wait_for(qtbot, lambda: w2.training.status_label.text().startswith("Last run, started "))
    assert w2.training.plots.loss.n > 0 and w2.training.plots.dice.n > 0
    assert w2.training.plots.loss.data()[0][-1] == steps_run
    assert all(r.scored_by == new for r in w2.ws.records if r.status not in ("corrected", "reviewed"))
    recs = w2.ws.records
    candidates = [i for i, r in enumerate(recs) if r.status not in ("corrected", "reviewed") and r.stem not in val]
    _trust_uncertainty(w2)
    assert w2.queue()[0] == max(candidates, key=lambda i: recs[i].uncertainty)
    w2.close()


def test_queue_without_folder_or_model_says_what_is_missing(qtbot, folder: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    w = make_window(qtbot, tmp_path)
    w.next_in_queue()
    assert "Open a folder" in w.status.currentMessage() and w.ws.current is None
    assert w.open_folder(folder)
    wait_for(qtbot, lambda: w.ws.loaded is not None)
    assert w.rescore_queue() == 0 and "Load a model" in w.status.currentMessage()
    assert w.files.sort_key() == "name"  # nothing to rank by: the list is left as it was
    start = w.ws.current
    w.next_in_queue()  # without a model: the fixed shuffled order, and the status bar says so
    assert w.ws.current != start and "no model yet" in w.status.currentMessage()
    first = w.ws.current
    w.show_row(start)
    w.next_in_queue()
    assert w.ws.current == first  # the same order every time
    w.close()


def _add_look_alike(folder: Path, stem: str, new_stem: str) -> None:
    """A re-saved, slightly changed copy of ``stem`` as another view of the same car."""
    import cv2

    img = cv2.imread(str(folder / "train" / f"{stem}.jpg"))
    img[:3, :3] = 255
    cv2.imwrite(str(folder / "train" / f"{new_stem}.jpg"), img)
    shutil.copyfile(folder / "train_masks" / f"{stem}_mask.gif", folder / "train_masks" / f"{new_stem}_mask.gif")


def test_q_skips_look_alikes_of_an_image_corrected_since_the_model(qtbot, folder: Path, tiny_model: Path,
                                                                    tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cars = sorted({p.name.rsplit("_", 1)[0] for p in (folder / "train").glob("*.jpg")})
    for car in cars[:2]:  # two cars get a look-alike: at most one car is in the validation split
        _add_look_alike(folder, f"{car}_01", f"{car}_03")
    w = window_with_model(qtbot, tmp_path, folder, tiny_model)  # waits for the background grouping
    assert (w.ws.store.root / "frame_signatures.npz").is_file()
    alike = w.ws.groups.lookalike
    val = validation_stems(w.ws.layout, w.ws.records, w.ws.groups)
    car = next(c for c in cars[:2] if f"{c}_01" not in val)
    first, twin = f"{car}_01", f"{car}_03"
    assert alike[first] == alike[twin] and twin not in val
    version = w.ws.model.version
    _trust_uncertainty(w)
    for r in w.ws.records:  # the active model's scores: the two look-alikes are the least sure
        r.uncertainty, r.scored_by = {first: 0.9, twin: 0.8}.get(r.stem, 0.1), version
    row = w.ws.row_of
    w.show_row(next(i for i, r in enumerate(w.ws.records) if r.stem not in (first, twin)))
    w.next_in_queue()
    assert w.ws.current == row[first]
    wait_for(qtbot, lambda: w.ws.loaded is not None)
    w.select_class(1)
    paint_stroke(qtbot, w, [(100, 60), (130, 70)])
    assert w.ws.records[row[first]].corrected_with == version
    w.next_in_queue()  # the look-alike teaches nothing new until the model learnt the correction
    assert w.ws.current != row[twin]
    assert "1 look-alike(s) of new corrections wait" in w.status.currentMessage()
    queue = [w.ws.records[i].stem for i in w.queue()]
    before = queue[:queue.index(twin)]
    assert alike[first] not in {alike[s] for s in before}
    others = {alike[r.stem] for r in w.ws.records if r.status not in ("corrected", "reviewed")
              and r.stem not in val and alike[r.stem] != alike[first]}
    assert others <= {alike[s] for s in before}  # every other group of look-alikes had its turn first
    # once another model version is active, the correction counts as learnt: the look-alike is next
    for r in w.ws.records:
        r.scored_by = "v9999"
    w.ws.model.version = "v9999"
    assert w.queue()[0] == row[twin]
    w.close()
