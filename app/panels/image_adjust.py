"""Brightness and contrast sliders for the image layer (the mask overlay keeps its colours)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGridLayout, QLabel, QSlider, QToolButton, QWidget

RANGE = 100


class ImageAdjustPanel(QWidget):
    """Two sliders (-100..100, 0 = as in the file) and a reset button.

    ``changed(brightness, contrast)`` reports user moves only; :meth:`set_values` does not emit.
    """

    changed = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Image brightness and contrast")
        self._quiet = False
        self.brightness = self._slider("Brightness of the image (not of the mask overlay)")
        self.contrast = self._slider("Contrast of the image (not of the mask overlay)")
        self.reset_button = QToolButton(self)
        self.reset_button.setText("Reset")
        self.reset_button.setToolTip("Show the image as it is in the file (Ctrl+Alt+0)")
        self.reset_button.clicked.connect(self.reset)
        grid = QGridLayout(self)
        grid.setContentsMargins(4, 0, 4, 4)
        grid.setSpacing(4)
        for row, (title, slider) in enumerate((("Brightness", self.brightness), ("Contrast", self.contrast))):
            label = QLabel(title, self)
            label.setBuddy(slider)
            grid.addWidget(label, row, 0)
            grid.addWidget(slider, row, 1)
        grid.addWidget(self.reset_button, 0, 2, 2, 1)
        grid.setColumnStretch(1, 1)
        self._update_reset()

    def _slider(self, tip: str) -> QSlider:
        slider = QSlider(Qt.Orientation.Horizontal, self)
        slider.setRange(-RANGE, RANGE)
        slider.setSingleStep(5)
        slider.setPageStep(20)
        slider.setToolTip(tip)
        slider.setAccessibleName(tip.split(" (")[0])
        slider.valueChanged.connect(self._on_slider)
        return slider

    def values(self) -> tuple[int, int]:
        """(brightness, contrast), each -100..100."""
        return (self.brightness.value(), self.contrast.value())

    def set_values(self, brightness: int, contrast: int) -> None:
        """Move the sliders without emitting."""
        self._quiet = True
        try:
            self.brightness.setValue(int(brightness))
            self.contrast.setValue(int(contrast))
        finally:
            self._quiet = False
        self._update_reset()

    def reset(self) -> None:
        """Back to (0, 0); emits when something changed."""
        if self.values() != (0, 0):
            self.set_values(0, 0)
            self.changed.emit(0, 0)

    def _on_slider(self, _value: int) -> None:
        self._update_reset()
        if not self._quiet:
            self.changed.emit(*self.values())

    def _update_reset(self) -> None:
        self.reset_button.setEnabled(self.values() != (0, 0))
