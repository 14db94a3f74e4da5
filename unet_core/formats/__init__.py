"""Mask formats of other tools: Kaggle run-length CSV, COCO run-length JSON, labelme JSON, Pascal VOC and colour PNGs."""

EXPORT_FORMATS = ("native", "index", "color", "voc", "coco", "labelme", "kaggle-csv")
EXPORT_WHAT = ("corrections", "predictions", "all")
IMPORT_FORMATS = ("coco", "labelme", "voc", "kaggle-csv")
VOC_NAMES_FILE = "class_names.txt"
"""Beside a VOC export's ``SegmentationClass/``: one class name per line, line i naming id i (labelme2voc's file)."""
