"""Qt-free mask editing shared by the canvas and the simulated person: brush, fill, polygon, replace, patches."""

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
}
__getattr__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
