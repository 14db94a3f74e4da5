"""Procedural Carvana- and CARLA-like scenes written in the datasets' native formats (tests, demo)."""

from unet_core import lazy_exports

_EXPORTS = {
    "write_sample": "unet_core.sample.writer",
    "LAYOUTS": "unet_core.sample.writer",
}
__getattr__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
