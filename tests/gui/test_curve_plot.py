"""CurvePlot: 1-2-5 ranges that change rarely, peak downsampling that keeps every spike, a painted curve."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtGui import QColor

from app.panels.curve_plot import FINE_STEPS, CurvePlot, nice_ceiling, nice_step, peak_reduce


def test_nice_ceilings_and_steps() -> None:
    assert [nice_ceiling(v) for v in (0, -3, 0.7, 1, 1.01, 3, 7, 10, 11, 240, float("nan"))] == \
        [1, 1, 1, 1, 2, 5, 10, 10, 20, 500, 1]
    assert nice_ceiling(2.07, FINE_STEPS) == 2.5 and nice_ceiling(0.33, FINE_STEPS) == pytest.approx(0.4)
    assert nice_step(1.0) == pytest.approx(0.2) and nice_step(500) == 100 and nice_step(0) == 1


def test_peak_reduce_keeps_each_columns_lowest_and_highest_point() -> None:
    px = np.linspace(0, 99.9, 10_000)
    py = np.zeros_like(px)
    py[4321] = 50.0  # one spike among 10,000 points
    py[777] = -20.0
    x, y = peak_reduce(px, py, 100)
    assert len(x) == 200 and y.max() == 50.0 and y.min() == -20.0
    assert np.all(np.diff(x) >= 0)
    small_x, small_y = peak_reduce(px[:50], py[:50], 100)
    assert len(small_x) == 50 and len(small_y) == 50  # few points: drawn as they are


def test_ranges_grow_in_steps_and_the_curve_is_painted(qtbot) -> None:  # type: ignore[no-untyped-def]
    plot = CurvePlot("Loss", "step", QColor(200, 0, 0))
    qtbot.addWidget(plot)
    plot.resize(300, 200)
    assert plot.ranges() == ((0.0, 10.0), (0.0, 1.0))  # empty: a minimal frame
    x = np.arange(1, 131, dtype=float)
    plot.set_data(x, 2.2 / np.sqrt(x))
    assert plot.ranges() == ((0.0, 200.0), (0.0, 2.5))
    longer = np.arange(1, 201, dtype=float)
    plot.set_data(longer, 2.2 / np.sqrt(longer))
    assert plot.ranges()[0] == (0.0, 200.0)  # unchanged until the curve outgrows it
    plot.set_data(np.arange(1, 202, dtype=float), np.ones(201))
    assert plot.ranges() == ((0.0, 500.0), (0.0, 1.0))
    with pytest.raises(ValueError, match="differ"):
        plot.set_data(x, x[:-1])
    image = plot.grab().toImage()
    reds = sum(1 for yy in range(0, image.height(), 2) for xx in range(0, image.width(), 2)
               if (c := image.pixelColor(xx, yy)).red() > 150 and c.green() < 90 and c.blue() < 90)
    assert reds > 20  # the line is there
    dice = CurvePlot("Dice", "epoch", QColor(0, 0, 200), markers=True, y_range=(0.0, 1.0), min_x_span=5)
    qtbot.addWidget(dice)
    dice.set_reference(0.9, "start {value:.2f}")
    assert dice.ranges() == ((0.0, 5.0), (0.0, 1.0)) and dice.reference_text() == "start 0.90"
