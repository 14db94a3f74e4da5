"""ImportDialog: which file or folder of another tool's masks File › Import Masks reads, and its format."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.panels.dialog_buttons import ok_cancel
from unet_core.formats import IMPORT_FORMATS

FORMAT_LABELS = {
    "": "Detect from the file",
    "coco": "COCO JSON (run lengths or polygons)",
    "labelme": "labelme JSON (a file, or a folder of them)",
    "voc": "Pascal VOC palette PNGs (a folder)",
    "kaggle-csv": "Kaggle run-length CSV (img,rle_mask)",
}


class ImportDialog(QDialog):
    """The source (a file or a folder) and its format; OK stays disabled until a source is given."""

    def __init__(self, source: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Import Masks")
        self.source = QLineEdit(source)
        self.source.setPlaceholderText("A COCO or labelme .json, a folder of labelme .json or VOC .png, a .csv")
        pick_file, pick_folder = QPushButton("File…"), QPushButton("Folder…")
        pick_file.clicked.connect(self._pick_file)
        pick_folder.clicked.connect(self._pick_folder)
        self.format = QComboBox()
        for key in ("", *IMPORT_FORMATS):
            self.format.addItem(FORMAT_LABELS[key], key)
        note = QLabel("Imported masks become what the images start from, in place of the dataset's own masks "
                      "(its files are not changed). Your corrections are kept and still win. New class names "
                      "are added to a folder whose classes you make.")
        note.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.source, 1)
        row.addWidget(pick_file)
        row.addWidget(pick_folder)
        form = QFormLayout()
        form.addRow("Source", row)
        form.addRow("Format", self.format)
        self.buttons = ok_cancel(self, "Import")
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(self.buttons)
        self.source.textChanged.connect(self._update)
        self.setMinimumWidth(600)
        self.resize(600, self.heightForWidth(600) if self.hasHeightForWidth() else self.sizeHint().height())
        self._update()

    def choice(self) -> tuple[Path, str | None]:
        """(source, format or None to detect it)."""
        return Path(self.source.text().strip()).expanduser(), (str(self.format.currentData()) or None)

    def _pick_file(self) -> None:
        chosen, _ = QFileDialog.getOpenFileName(self, "Import masks from…", self.source.text(),
                                                "Masks (*.json *.csv);;All files (*)")
        if chosen:
            self.source.setText(chosen)
            self._ready()

    def _pick_folder(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, "Import masks from the folder…", self.source.text())
        if chosen:
            self.source.setText(chosen)
            self._ready()

    def _ready(self) -> None:
        """A source was picked: Enter now imports (the picker's button no longer holds the focus)."""
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setDefault(True)
        ok.setFocus()

    def _update(self) -> None:
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(bool(self.source.text().strip()))


__all__ = ["FORMAT_LABELS", "ImportDialog"]
