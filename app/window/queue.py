"""The correction queue in the window: "Next in Queue" (shuffled until the model's uncertainty is trusted,
then most uncertain first) and re-scoring after a fine-tune."""

from __future__ import annotations

from typing import TYPE_CHECKING

from unet_core.loop.corrections import (
    correction_queue,
    done_stems,
    queue_calibration,
    unlearnt_stems,
    validation_stems,
)
from unet_core.store.state import DONE_STATUSES
from unet_core.training.calibration import Calibration

if TYPE_CHECKING:
    from app.window.main_window import MainWindow


class QueueCommands:
    """Mixed into :class:`MainWindow`: the app's side of the active-learning queue.

    The order is :func:`unet_core.loop.corrections.correction_queue` — the same function the loop
    benchmark's simulated annotator takes its next image from — over the images not yet corrected
    or reviewed, scored by the active model only (scores of older versions count as missing), ranked
    by uncertainty only once the active model's training found its uncertainty ranks its errors on
    the validation split (else a fixed shuffle);
    look-alike frames (``ws.groups``) take turns, and wait while one of them is corrected but
    not yet learnt.
    """

    _rescore_after_load: bool = False

    def _calibration(self: MainWindow) -> Calibration | None:
        """What the active model's training measured of its uncertainty against its errors."""
        meta = self.ws.model.meta
        return queue_calibration(meta.training, self._app_split()) if meta is not None else None

    @staticmethod
    def _why_shuffled(calibration: Calibration | None) -> str:
        if calibration is None:
            return "this model's uncertainty was not checked against its errors on this folder's validation images"
        return calibration.describe()

    def queue_ranks_by_uncertainty(self: MainWindow, calibration: Calibration | None = None) -> bool:
        """Whether Q takes the most uncertain image first (the active model's uncertainty is trusted);
        ``calibration``: :meth:`_calibration` when the caller has it already."""
        calibration = calibration or self._calibration()
        return calibration is not None and calibration.trusted

    def queue(self: MainWindow) -> list[int]:
        """Rows still to correct: the fixed shuffle until the active model's
        uncertainty is trusted, then most uncertain first (validation images spread through)."""
        ws = self.ws
        if ws.layout is None:
            return []
        version = ws.model.version
        scores = {r.stem: r.uncertainty for r in ws.records
                  if version is not None and r.scored_by == version and r.uncertainty is not None}
        stems = correction_queue(ws.layout, ws.records, done_stems(ws.records), scores or None, groups=ws.groups,
                                 unlearnt=unlearnt_stems(ws.records, version),
                                 calibrated=self.queue_ranks_by_uncertainty())
        return [ws.row_of[s] for s in stems]

    def _waiting_look_alikes(self: MainWindow, chosen: int) -> int:
        """How many images more uncertain than row ``chosen`` wait as look-alikes of unlearnt corrections."""
        groups, version = self.ws.groups, self.ws.model.version
        rec = self.ws.records[chosen]
        if groups is None or rec.uncertainty is None or rec.scored_by != version:
            return 0
        covered = {groups.lookalike.get(s, s) for s in unlearnt_stems(self.ws.records, version)}
        return sum(1 for r in self.ws.records if r.status not in DONE_STATUSES and r.scored_by == version
                   and r.uncertainty is not None and r.uncertainty > rec.uncertainty
                   and groups.lookalike.get(r.stem, r.stem) in covered)

    def next_in_queue(self: MainWindow) -> None:
        """Go to the first image of the queue other than the current one."""
        if self.ws.layout is None:
            self.status.showMessage("Open a folder first (Ctrl+O)", 5000)
            return
        queue = self.queue()
        rows = [r for r in queue if r != self.ws.current]
        if not rows:
            self.status.showMessage("The queue is empty: every image is corrected or reviewed", 6000)
            return
        self.show_row(rows[0])
        rec = self.ws.records[rows[0]]
        unscored = sum(1 for r in rows if self.ws.records[r].scored_by != self.ws.model.version
                       or self.ws.records[r].uncertainty is None)
        text = f"Queue: {len(queue)} to correct"
        calibration = self._calibration()
        ranked = self.queue_ranks_by_uncertainty(calibration)
        assert self.ws.layout is not None
        is_val = rec.stem in validation_stems(self.ws.layout, self.ws.records, self.ws.groups)
        if is_val:
            text += "; a validation image: comes in turn, not by uncertainty (it checks each fine-tune)"
        elif self.ws.model.predictor is not None and not ranked:
            text += "; shuffled: " + self._why_shuffled(calibration)
        elif rec.uncertainty is not None and rec.scored_by == self.ws.model.version:
            text += f"; uncertainty {rec.uncertainty:.3f}"
            waiting = self._waiting_look_alikes(rows[0])
            if waiting:  # more uncertain, but like an image corrected since the last fine-tune
                text += f"; {waiting} look-alike(s) of new corrections wait for a fine-tune"
        if self.ws.model.predictor is None:
            text += "; no model yet: a fixed shuffled order"
        elif unscored and ranked and not is_val:  # (kept short: the status bar shares its row with the image name)
            text += f"; {unscored} not scored by {self.ws.model.version} (Predict All ranks them)"
        self.status.showMessage(text, 8000)

    def rescore_queue(self: MainWindow) -> int:
        """Predict every queued image the active model has not scored (background, cancellable);
        the file list sorts by uncertainty when the queue ranks by it. Returns how many predictions were queued."""
        if self.ws.model.predictor is None:
            self.status.showMessage("Load a model (Ctrl+M) or train one first: its uncertainty is what the "
                                    "queue is ranked by, once it is trusted", 6000)
            return 0
        rows = [r for r, rec in enumerate(self.ws.records) if rec.status not in DONE_STATUSES]
        n = self.ws.model.predict_all(rows)
        calibration = self._calibration()
        ranked = self.queue_ranks_by_uncertainty(calibration)
        if ranked:
            self.files.set_sort("uncertainty")  # the list shows the queue
        # else the list keeps its order: the queue stays shuffled, and the status bar says why
        why = "" if ranked else f"; the queue stays shuffled: {self._why_shuffled(calibration)}"
        if n:
            self.status.set_progress(0, n)
            self.status.showMessage(f"Re-scoring {n} queued image(s) with model {self.ws.model.version}…{why}", 8000)
        elif why:
            self.status.showMessage(why[2].upper() + why[3:], 8000)
        return n

    def _after_training(self: MainWindow, _result: object) -> None:
        """A run ended: once the new version (if any) is loaded, re-score the queue with it."""
        self._refresh_versions_menu()
        if self.ws.model.loading_version is not None:
            self._rescore_after_load = True

    def _on_model_loaded(self: MainWindow) -> None:
        if self._rescore_after_load:
            self._rescore_after_load = False
            self.rescore_queue()
