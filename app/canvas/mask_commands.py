"""Whole-mask commands on the canvas (cleanup, refine edges): a preview of the active class computed off the GUI thread, a size set with [ ], Enter applies it as one undo step."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from app.canvas.preview import Preview, build_preview
from unet_core.edit.cleanup import cleanup
from unet_core.edit.refine import default_reach, refine_edges, step_reach
from unet_core.edit.selection import Selection, writable_part

if TYPE_CHECKING:
    from app.canvas.smart import SmartTools

COMMANDS = ("cleanup", "refine")
"""The tools that are whole-mask commands: chosen, they preview; Enter applies, Esc goes back."""

class MaskCommands:
    """The state of cleanup and refine edges for one canvas: their sizes, the preview and Enter/Esc."""

    def __init__(self, tools: SmartTools) -> None:
        self.tools = tools
        self.cleanup_area = 0  # 0: chosen from the image size when cleanup first runs
        self.reach = 0  # refine edges' reach; 0: chosen from the image size

    def default_area(self) -> int:
        """Cleanup's size for the shown mask, until the user sets one."""
        mask = self.tools.view.mask()
        return max(16, round(mask.size / 10_000)) if mask is not None else 64

    def current_reach(self) -> int:
        """Refine edges' reach for the shown mask, until the user sets one."""
        if self.reach:
            return self.reach
        mask = self.tools.view.mask()
        return default_reach(mask.shape) if mask is not None else 8

    def step(self, up: bool) -> None:
        """[ / ] or Ctrl+wheel: the size of the current command, about 1.5x up or down; previews again."""
        if self.tools.tool == "cleanup":
            area = self.cleanup_area or self.default_area()
            self.cleanup_area = max(1, round(area * 1.5) if up else round(area / 1.5))
        else:
            self.reach = step_reach(self.current_reach(), up)  # the core's steps: the simulated person's too
            self.tools._show(None)  # the old reach's preview is not this one's
        self.preview()

    def preview(self) -> None:
        """Show what the current command would change in the active class (computed off the GUI thread)."""
        tools = self.tools
        tool, view = tools.tool, tools.view
        if tool not in COMMANDS:
            return  # the job belongs to another tool
        mask, image, value = view.mask(), view.image_array(), view.active_class()
        if mask is None or (tool == "refine" and (image is None or value == 0)):
            tools.job.cancel()  # a preview of another mask or class still being computed must not land
            tools._show(None)
            if mask is not None and image is not None:
                tools._say("choose a class to refine (the background's edges are the other classes' edges)")
            return
        snapshot, colors = mask.copy(), tools._colors()
        writable = view._editor.writable  # locks and paint over: the preview shows what Enter would write
        compute: Callable[[], Selection | None]
        if tool == "cleanup":
            area = self.cleanup_area or self.default_area()
            compute = lambda: cleanup(snapshot, value, area)  # noqa: E731
            nothing = "nothing to clean up"
        else:
            assert image is not None
            reach = self.current_reach()
            compute = lambda: refine_edges(image, snapshot, value, reach)  # noqa: E731
            nothing = "nothing to refine: no outline of this class in this image moves"
            tools._say("refining…")

        def done(preview: Preview | None) -> None:
            if tools.tool != tool or tools.job.busy:  # another tool, or a newer request (another reach) waits
                return
            tools._show(preview)
            tools._say(f"{preview.selection.area} px would change" if preview is not None else nothing)

        tools.job.submit(lambda: build_preview(writable_part(snapshot, compute(), writable), colors,
                                               rings=tool == "cleanup"), done)

    def apply(self) -> None:
        """Enter: apply the preview shown (nothing while it is still being computed) and go back to the
        tool used before."""
        tools = self.tools
        if tools.job.busy:
            tools._say("the preview is still being computed: press Enter again once it shows")
            return
        if not tools.view._editor.can_edit:
            tools._say("this view cannot be edited: choose Corrected (Alt+1) to apply it")
            return
        sel, tool = tools.preview.selection, tools.tool
        tools.cancel()
        tools.view._editor.apply_selection(sel, tool)
        tools.view.set_tool(tools.previous_tool)
