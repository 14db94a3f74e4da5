"""Qt-free mask editing shared by the canvas and the simulated person: brush, fill, polygon, smart tools, patches."""

from unet_core import lazy_exports

_EXPORTS = {
    "Patch": "unet_core.edit.patches",
    "PatchRecorder": "unet_core.edit.patches",
    "Rect": "unet_core.edit.patches",
    "writable_classes": "unet_core.edit.patches",
    "paint_stroke": "unet_core.edit.brush",
    "erase_stroke": "unet_core.edit.brush",
    "revert_stroke": "unet_core.edit.brush",
    "stamp_disc": "unet_core.edit.brush",
    "stamp_segment": "unet_core.edit.brush",
    "stamp_path": "unet_core.edit.brush",
    "fill_region": "unet_core.edit.fill",
    "flood_fill": "unet_core.edit.fill",
    "paint_polygon": "unet_core.edit.polygon",
    "fill_polygon": "unet_core.edit.polygon",
    "replace_all": "unet_core.edit.replace",
    "accept_prediction": "unet_core.edit.replace",
    "Selection": "unet_core.edit.selection",
    "apply_selection": "unet_core.edit.selection",
    "ClassProbabilities": "unet_core.edit.probabilities",
    "magic_wand": "unet_core.edit.wand",
    "snap_stroke": "unet_core.edit.snap",
    "region_click": "unet_core.edit.region",
    "second_choice": "unet_core.edit.region",
    "Scissors": "unet_core.edit.scissors",
    "superpixels": "unet_core.edit.superpixels",
    "superpixel_stroke": "unet_core.edit.superpixels",
    "cleanup": "unet_core.edit.cleanup",
    "refine_edges": "unet_core.edit.refine",
    "edge_stroke": "unet_core.edit.edge_erase",
}
__getattr__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
