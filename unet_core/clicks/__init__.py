"""Interactive mode: clicks, the guide maps they become, the click simulator and click-guided training."""

from unet_core.clicks.guides import GUIDE_CHANNELS, Click, GuideEncoding, guide_maps
from unet_core.clicks.simulator import next_click, pick_class

__all__ = ["GUIDE_CHANNELS", "Click", "GuideEncoding", "guide_maps", "next_click", "pick_class"]
