"""Live training curves: loss per step and validation Dice per epoch (CurvePlot), redrawn at most ~10 times/s."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QVBoxLayout, QWidget

from app.panels.curve_plot import CurvePlot

REDRAW_MS = 100  # coalescing interval: the curves are set at most ~10 times per second
LOSS_COLOR = QColor(40, 120, 220)
DICE_COLOR = QColor(230, 120, 20)


class _Series:
    """A growable pair of float arrays (amortised O(1) append, views handed to the plot without copies)."""

    def __init__(self, capacity: int = 1024) -> None:
        self.x = np.empty(capacity, np.float64)
        self.y = np.empty(capacity, np.float64)
        self.n = 0

    def append(self, x: float, y: float) -> None:
        if self.n == len(self.x):
            self.x = np.concatenate([self.x, np.empty_like(self.x)])
            self.y = np.concatenate([self.y, np.empty_like(self.y)])
        self.x[self.n] = x
        self.y[self.n] = y
        self.n += 1

    def clear(self) -> None:
        self.n = 0

    def data(self) -> tuple[np.ndarray, np.ndarray]:
        return self.x[: self.n], self.y[: self.n]


class TrainingPlots(QWidget):
    """Two stacked plots. Feed them with :meth:`add_loss` / :meth:`add_dice`; a timer redraws dirty curves.

    The plots are painted with a few QPainter calls (:class:`CurvePlot`), not a scene graph: the pyqtgraph
    plots they replace took 20-60 ms of the GUI thread per change of range or size while training threads
    kept both cores busy (``benchmarks/app_stall.py``).
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.loss = _Series()
        self.dice = _Series()
        self._dirty = False
        self._loss_dirty = self._dice_dirty = False
        self.redraws = 0  # how many times the curves were pushed to the plots (tests, benchmarks)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REDRAW_MS)
        self._timer.timeout.connect(self.flush)
        self.loss_plot = CurvePlot("Training loss", "step", LOSS_COLOR)
        self.dice_plot = CurvePlot("Validation Dice", "epoch", DICE_COLOR, markers=True, y_range=(0.0, 1.0),
                                   min_x_span=5.0)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.loss_plot, 1)
        layout.addWidget(self.dice_plot, 1)
        self.setAccessibleName("Training curves")
        self.setToolTip("Training loss per step (top) and validation Dice per epoch (bottom)")

    def sizeHint(self) -> QSize:  # Qt override
        return QSize(320, 360)

    # -- feeding ---------------------------------------------------------------------------------
    def add_loss(self, step: float, loss: float) -> None:
        """Queue a loss point (non-finite losses are skipped)."""
        if np.isfinite(loss):
            self.loss.append(step, loss)
            self._loss_dirty = True
            self._mark_dirty()

    def add_dice(self, epoch: float, dice: float | None) -> None:
        """Queue a Dice point (``None``: the run has no validation split)."""
        if dice is not None and np.isfinite(dice):
            self.dice.append(epoch, dice)
            self._dice_dirty = True
            self._mark_dirty()

    def set_start_dice(self, value: float | None) -> None:
        """Show the starting model's Dice as a dashed line labelled "start 0.912" (``None`` hides it)."""
        self.dice_plot.set_reference(value, "start {value:.3f}")

    def clear(self) -> None:
        """Forget all points and redraw now."""
        self.loss.clear()
        self.dice.clear()
        self._loss_dirty = self._dice_dirty = True
        self.flush()

    def _mark_dirty(self) -> None:
        self._dirty = True
        if not self._timer.isActive():
            self._timer.start()

    def flush(self) -> None:
        """Push changed data to its plot now (the timer calls this; at most every REDRAW_MS); only a plot
        whose data changed repaints."""
        self._timer.stop()
        self._dirty = False
        if not (self._loss_dirty or self._dice_dirty):
            return
        self.redraws += 1
        if self._loss_dirty:
            self._loss_dirty = False
            self.loss_plot.set_data(*self.loss.data())
        if self._dice_dirty:
            self._dice_dirty = False
            self.dice_plot.set_data(*self.dice.data())

    def is_dirty(self) -> bool:
        """Whether points are waiting for the next redraw."""
        return self._dirty


__all__ = ["REDRAW_MS", "TrainingPlots"]
