"""ExportDialog: where, in which format and which masks File › Export Masks writes."""

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
from unet_core.formats import EXPORT_FORMATS

FORMAT_LABELS = {
    "native": ("The dataset's own format", "Its own folders and encoding: train_masks/*_mask.gif (Carvana), "
               "CameraMask/*.png (CARLA), masks/*.png (others)"),
    "index": ("Index PNG", "<image>.png: one grey PNG per image whose pixel values are the class ids"),
    "color": ("Colour PNG", "<image>.png in the class colours, to look at (ids are not kept)"),
    "voc": ("Pascal VOC", "SegmentationClass/<image>.png: palette PNGs of class ids (255 = void)"),
    "coco": ("COCO JSON", "annotations.json: one run-length mask per class and image, categories by name"),
    "labelme": ("labelme JSON", "<image>.json: the classes' regions as polygons; put the files beside the images"),
    "kaggle-csv": ("Kaggle run-length CSV", "masks.csv (img,rle_mask): Carvana's submission format; two classes only"),
}
WHAT_LABELS = {  # the dialog's order: what the user sees first
    "all": "Every mask as shown (correction, own mask or prediction)",
    "corrections": "Corrections only",
    "predictions": "Predictions of the current model",
}


def _enable_item(box: QComboBox, key: str, enabled: bool, why: str) -> None:
    """Grey out the choice ``key`` of ``box`` (with the reason as its tooltip) when it cannot be used."""
    item = box.model().item(box.findData(key))  # type: ignore[attr-defined]
    if item is not None and not enabled:
        item.setEnabled(False)
        item.setToolTip(why)


class ExportDialog(QDialog):
    """The export's folder (typed or browsed), format and masks; OK stays disabled until a folder is given."""

    def __init__(self, folder: str = "", fmt: str = "native", what: str = "all", parent: QWidget | None = None,
                 has_model: bool = True, native: bool = True, classes: int = 2) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export Masks")
        self.folder = QLineEdit(folder)
        self.folder.setPlaceholderText("Folder to write into (created if missing)")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        self.format = QComboBox()
        for key in EXPORT_FORMATS:
            label, tip = FORMAT_LABELS[key]
            self.format.addItem(label, key)
            self.format.setItemData(self.format.count() - 1, tip, 3)  # Qt.ToolTipRole
        self.what = QComboBox()
        for key in WHAT_LABELS:
            self.what.addItem(WHAT_LABELS[key], key)
        _enable_item(self.what, "predictions", has_model, "No model yet: train or open one first")
        _enable_item(self.format, "native", native, "A folder of images only has no mask format of its own")
        _enable_item(self.format, "kaggle-csv", classes == 2,
                     f"Kaggle's CSV holds one foreground class; this folder has {classes} classes")
        if (not native and fmt == "native") or (classes != 2 and fmt == "kaggle-csv"):
            fmt = "index"
        if not has_model and what == "predictions":
            what = "all"
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.folder, 1)
        row.addWidget(browse)
        form = QFormLayout()
        form.addRow("Folder", row)
        form.addRow("Format", self.format)
        form.addRow("Masks", self.what)
        self.buttons = ok_cancel(self, "Export")
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.hint)
        layout.addWidget(self.buttons)
        self.format.setCurrentIndex(max(0, self.format.findData(fmt)))
        self.what.setCurrentIndex(max(0, self.what.findData(what)))
        self.format.currentIndexChanged.connect(self._update)
        self.folder.textChanged.connect(self._update)
        self.setMinimumWidth(560)
        self._update()

    def choice(self) -> tuple[Path, str, str]:
        """(folder, format, which masks) as chosen."""
        return Path(self.folder.text().strip()).expanduser(), str(self.format.currentData()), str(self.what.currentData())

    def _browse(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, "Export masks to…", self.folder.text())
        if chosen:
            self.folder.setText(chosen)

    def _update(self) -> None:
        self.hint.setText(FORMAT_LABELS[str(self.format.currentData())][1])
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(bool(self.folder.text().strip()))


__all__ = ["FORMAT_LABELS", "WHAT_LABELS", "ExportDialog"]
