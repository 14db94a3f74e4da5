"""Interactive mode: clicks, the guide maps they become, the click simulator and click-guided training."""

from unet_core.clicks.simulator import next_click, pick_class
from unet_core.data.guides import GUIDE_CHANNELS, Click, GuideEncoding, guide_maps

__all__ = ["GUIDE_CHANNELS", "Click", "GuideEncoding", "guide_maps", "next_click", "pick_class"]
