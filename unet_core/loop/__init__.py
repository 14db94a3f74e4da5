"""The loop's policy shared by the app and the benchmark: corrections and jobs, queue, keep rule, runs."""

from unet_core import lazy_exports

_EXPORTS = {
    "is_correction": "unet_core.loop.policy",
    "keep_new_version": "unet_core.loop.policy",
    "trained_dice": "unet_core.loop.policy",
    "adopt_run": "unet_core.loop.runs",
    "round_config": "unet_core.loop.rounds",
    "new_run_path": "unet_core.loop.runs",
    "remove_run": "unet_core.loop.runs",
    "correction_queue": "unet_core.loop.corrections",
    "finetune_job": "unet_core.loop.corrections",
    "scratch_job": "unet_core.loop.corrections",
}
__getattr__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
