"""Status bar: device, model, image, pixel under the cursor, zoom, and a cancellable progress bar."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar, QToolButton


class StatusBar(QStatusBar):
    """Permanent fields on the right; transient messages on the left."""

    cancelRequested = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.device = QLabel("device: –")
        self.model = QLabel("no model")
        self.image = QLabel("")
        self.pixel = QLabel("")
        self.zoom = QLabel("")
        self.read_only = QLabel("")  # another window writes this folder: shown until the folder changes
        self.read_only.setStyleSheet("QLabel { background: #b3261e; color: white; padding: 1px 6px; }")
        self.read_only.setVisible(False)
        self.store_place = QLabel("Edits kept in your user folder")  # the dataset folder is not writable
        self.store_place.setVisible(False)
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(180)
        self.progress.setFormat("predicting %v/%m")
        self.progress.setVisible(False)
        self.cancel = QToolButton()
        self.cancel.setText("Cancel")
        self.cancel.setToolTip("Cancel predicting all images")
        self.cancel.setVisible(False)
        self.cancel.clicked.connect(self.cancelRequested)
        for w in (self.read_only, self.store_place, self.progress, self.cancel, self.image, self.pixel, self.zoom, self.model,
                  self.device):
            self.addPermanentWidget(w)
        self.pixel.setMinimumWidth(190)
        self.hint = QLabel("")  # what the current tool's click, drag, wheel and keys do
        self.hint.setMinimumWidth(10)
        self.addWidget(self.hint, 1)

    def set_read_only(self, notice: str | None) -> None:
        """Show ``notice`` (the folder is read-only in this window), or hide it with ``None``."""
        self.read_only.setText(notice or "")
        self.read_only.setToolTip(f"{notice}: this window can look but not edit" if notice else "")
        self.read_only.setVisible(bool(notice))

    def set_store_place(self, store_root: str | None) -> None:
        """Say where edits go when it is not the dataset's own ``.maskloop`` (``None`` hides it)."""
        self.store_place.setToolTip(f"The dataset folder is read-only, so corrections, predictions and model "
                                    f"versions are kept in {store_root}" if store_root else "")
        self.store_place.setVisible(bool(store_root))

    def set_hint(self, text: str) -> None:
        """The current tool's hint (shown whenever no transient message is)."""
        self.hint.setText(text)
        self.hint.setToolTip(text)

    def set_progress(self, done: int, total: int) -> None:
        """Show predict-all progress (hidden when done)."""
        running = 0 <= done < total
        self.progress.setVisible(running)
        self.cancel.setVisible(running)
        if running:
            self.progress.setRange(0, total)
            self.progress.setValue(done)

    def set_pixel(self, x: int, y: int, class_name: str | None) -> None:
        """x, y and the class under the cursor ((-1, -1) = outside the image)."""
        self.pixel.setText("" if x < 0 else f"x {x}  y {y}  {class_name or ''}")
