"""Training: the trainer and its types, fine-tuning, validation, resume, losses, metrics, distributed runs."""

from unet_core import lazy_exports

_EXPORTS = {
    "train": "unet_core.training.trainer",
    "TrainConfig": "unet_core.training.types",
    "TrainResult": "unet_core.training.types",
    "Callback": "unet_core.training.types",
    "fine_tune": "unet_core.training.finetune",
}
__getattr__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
