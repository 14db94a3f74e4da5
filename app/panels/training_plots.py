"""Live training curves (pyqtgraph): loss per step and validation Dice per epoch, redrawn at most ~10 times/s."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QSizePolicy, QVBoxLayout, QWidget

# isort: split
import pyqtgraph as pg  # after PySide6 so pyqtgraph binds to it

REDRAW_MS = 100  # coalescing interval: setData at most ~10 times per second
DOWNSAMPLE_ABOVE = 5000  # loss points before peak downsampling / clip-to-view kick in
LOSS_COLOR = QColor(40, 120, 220)
DICE_COLOR = QColor(230, 120, 20)
START_COLOR = QColor(120, 120, 120)


class _Series:
    """A growable pair of float arrays (amortised O(1) append, views handed to setData without copies)."""

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
    """Two stacked plots. Feed them with :meth:`add_loss` / :meth:`add_dice`; a timer redraws dirty curves."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.loss = _Series()
        self.dice = _Series()
        self._dirty = False
        self._loss_dirty = self._dice_dirty = False
        self.redraws = 0  # how many times the curves were pushed to pyqtgraph (tests, benchmarks)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REDRAW_MS)
        self._timer.timeout.connect(self.flush)

        bg = self.palette().color(QPalette.ColorRole.Base)
        fg = self.palette().color(QPalette.ColorRole.Text)
        self.loss_plot = self._make_plot("Training loss", "step", bg, fg)
        self.dice_plot = self._make_plot("Validation Dice", "epoch", bg, fg)
        self.dice_plot.setYRange(0.0, 1.0, padding=0.02)
        self.dice_plot.getPlotItem().enableAutoRange(axis="y", enable=False)
        self.dice_plot.getPlotItem().setLimits(yMin=-0.05, yMax=1.05)

        self.loss_curve = self.loss_plot.plot([], [], pen=pg.mkPen(LOSS_COLOR, width=1.5), name="loss")
        self.loss_curve.setClipToView(True)
        self.dice_curve = self.dice_plot.plot(
            [], [], pen=pg.mkPen(DICE_COLOR, width=2), symbol="o", symbolSize=7,
            symbolBrush=DICE_COLOR, symbolPen=None, name="dice",
        )
        self.start_line = pg.InfiniteLine(
            angle=0, movable=False,
            pen=pg.mkPen(START_COLOR, width=1.5, style=Qt.PenStyle.DashLine),
            label="start {value:.3f}", labelOpts={"position": 0.97, "color": START_COLOR, "anchors": [(1, 0), (1, 0)]},
        )
        self.start_line.setVisible(False)
        self.dice_plot.addItem(self.start_line, ignoreBounds=True)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.loss_plot, 1)
        layout.addWidget(self.dice_plot, 1)
        self.setAccessibleName("Training curves")
        self.setToolTip("Training loss per step (top) and validation Dice per epoch (bottom)")

    def sizeHint(self) -> QSize:  # Qt override
        """Modest default size (pyqtgraph's own hint is 640x480 per plot)."""
        return QSize(320, 360)

    @staticmethod
    def _make_plot(title: str, x_label: str, bg: QColor, fg: QColor) -> pg.PlotWidget:
        plot = pg.PlotWidget(background=bg)
        plot.setAccessibleName(title)
        item = plot.getPlotItem()
        item.setTitle(title, color=fg.name(), size="9pt")
        item.setLabel("bottom", x_label, color=fg.name())
        for side in ("left", "bottom"):
            axis = item.getAxis(side)
            axis.setPen(pg.mkPen(fg))
            axis.setTextPen(pg.mkPen(fg))
        # no grid: pyqtgraph draws grid lines through the axis items, ~20 ms per repaint in software
        item.setMenuEnabled(False)
        item.hideButtons()
        plot.setMinimumHeight(110)
        plot.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        return plot

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
        """Show the starting model's Dice as a dashed line (``None`` hides it)."""
        if value is None:
            self.start_line.setVisible(False)
        else:
            self.start_line.setVisible(True)  # the label only refreshes while visible
            self.start_line.setValue(float(value))
            self.start_line.label.valueChanged()

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
        """Push changed data to its curve now (the timer calls this; at most every REDRAW_MS).

        Only a curve whose data changed is set, so only that plot repaints.
        """
        self._timer.stop()
        self._dirty = False
        if not (self._loss_dirty or self._dice_dirty):
            return
        self.redraws += 1
        if self._loss_dirty:
            self._loss_dirty = False
            lx, ly = self.loss.data()
            self.loss_curve.setDownsampling(auto=self.loss.n > DOWNSAMPLE_ABOVE, method="peak")
            self.loss_curve.setData(lx, ly)
        if self._dice_dirty:
            self._dice_dirty = False
            dx, dy = self.dice.data()
            self.dice_curve.setData(dx, dy)
            if self.dice.n:
                self.dice_plot.setXRange(0.5 if dx[0] >= 1 else 0, max(float(dx[-1]) + 0.5, 2), padding=0)

    def is_dirty(self) -> bool:
        """Whether points are waiting for the next redraw."""
        return self._dirty


__all__ = ["DOWNSAMPLE_ABOVE", "REDRAW_MS", "TrainingPlots"]
