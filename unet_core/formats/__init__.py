"""Mask formats of other tools: Kaggle run-length CSV, COCO run-length JSON, labelme JSON, Pascal VOC and colour PNGs."""

EXPORT_FORMATS = ("native", "index", "color", "voc", "coco", "labelme", "kaggle-csv")
EXPORT_WHAT = ("corrections", "predictions", "all")
IMPORT_FORMATS = ("coco", "labelme", "voc", "kaggle-csv")
