"""The ``unet-core`` command line: parser and entry point, commands, progress output."""

from unet_core.cli.entry import build_parser, main, run

__all__ = ["build_parser", "main", "run"]
