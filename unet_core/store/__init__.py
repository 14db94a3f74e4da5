"""The project store beside a dataset: corrections, predictions, per-image state, model versions, its lock."""

from unet_core import lazy_exports

_EXPORTS = {
    "ProjectStore": "unet_core.store.project",
    "StoreError": "unet_core.store.files",
    "ImageState": "unet_core.store.state",
    "ImageStatus": "unet_core.store.state",
    "ModelVersion": "unet_core.store.state",
    "STATUSES": "unet_core.store.state",
    "DONE_STATUSES": "unet_core.store.state",
}
__getattr__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
