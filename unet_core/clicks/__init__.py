"""Interactive mode: clicks, the guide maps they become, the click simulator and click-guided training."""

from unet_core.clicks.simulator import next_click, pick_class
from unet_core.data.guides import Click, GuideEncoding, guide_channels, guide_maps

__all__ = ["Click", "GuideEncoding", "guide_channels", "guide_maps", "next_click", "pick_class"]
