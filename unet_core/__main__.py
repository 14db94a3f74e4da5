"""Entry point for ``python -m unet_core``."""

from unet_core.cli.entry import run

run()
