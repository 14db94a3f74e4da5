"""Mask formats of other tools: Kaggle run-length CSV, COCO run-length JSON, Pascal VOC and colour PNGs."""

EXPORT_FORMATS = ("native", "index", "color", "voc", "coco", "kaggle-csv")
EXPORT_WHAT = ("corrections", "predictions", "all")
