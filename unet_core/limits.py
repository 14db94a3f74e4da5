"""Hard bounds on sizes read from files or typed by users, checked before anything is allocated."""

from __future__ import annotations

MAX_CLASSES = 255
"""Class ids are stored in uint8 masks and 255 is the ignore label (void), so a class table holds at most 255
classes (ids 0..254)."""

MAX_IN_CHANNELS = 16
"""Input channels of a UNet's image (RGB, or a few more)."""

MAX_GUIDE_CHANNELS = 1 + 2 * MAX_CLASSES
"""Guide channels of an interactive UNet: a mask and a positive and a negative click map per class."""

MAX_WIDEST_CHANNELS = 2048
"""Channels of a UNet's bottleneck (``base_width * 2**depth``); the classic UNet has 1024."""

MAX_PARAMETERS = 125_000_000
"""Parameters of a model we build or load (500 MB of fp32 weights; the classic UNet has 31 M and every
config within the bounds above has at most 124.5 M)."""

MAX_INPUT_SIDE = 4096
"""Longest side of a model's input size (the default trains at 256x384)."""

MAX_FIRST_LEVEL_ELEMENTS = 2**26
"""``base_width x H x W`` of a model at its input size: one first-level feature map of one image
(67 M floats, 256 MB; unet-small at 256x384 uses 1.6 M, the classic UNet at 1024x1024 exactly this)."""

MAX_IMAGE_PIXELS = 80_000_000
"""Images with more pixels are refused before decoding (about 10,000 x 8,000; a decoded RGB copy is 240 MB)."""

MAX_IMAGE_FILE_BYTES = 1024 * 2**20
"""Image and mask files larger than this are refused before they are read."""

MAX_HEADER_BYTES = 16 * 1024 * 1024
"""A safetensors header (JSON) larger than this is not one of ours."""

MAX_TENSORS = 10_000
"""Tensors in one checkpoint (a UNet has a few hundred, with optimizer state)."""

MIN_SCALE = 1.0 / 256
MAX_SCALE = 8.0
"""Bounds of a model's scale (model pixels per image pixel) read from a checkpoint or typed by a user."""
