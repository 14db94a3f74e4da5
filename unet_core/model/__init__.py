"""The network: the UNet and its blocks, checkpoints (header checks, loading), the predictor, upsampling."""

from unet_core import lazy_exports

_EXPORTS = {
    "UNet": "unet_core.model.unet",
    "UNetConfig": "unet_core.model.unet",
    "build_model": "unet_core.model.unet",
    "count_parameters": "unet_core.model.unet",
    "ARCH_NAMES": "unet_core.model.unet",
    "CheckpointMeta": "unet_core.model.checkpoint",
    "load_checkpoint": "unet_core.model.checkpoint",
    "read_metadata": "unet_core.model.checkpoint",
    "inspect_checkpoint": "unet_core.model.checkpoint",
    "save_checkpoint": "unet_core.model.checkpoint",
    "Predictor": "unet_core.model.predictor",
    "Prediction": "unet_core.model.predictor",
}
__getattr__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
