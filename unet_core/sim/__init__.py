"""The simulated person of the benchmarks: annotator, strokes, held-out split, labelling session."""

from unet_core import lazy_exports

_EXPORTS = {
    "annotate": "unet_core.sim.annotator",
    "AnnotatorConfig": "unet_core.sim.annotator",
}
__getattr__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
