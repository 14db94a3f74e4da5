"""Click-guided prediction: the interactive model re-run on a window around the clicks, merged into the mask."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import torch

from unet_core.clicks.focus import focus_scale, zooms
from unet_core.data.framing import fit_scale, pad_to
from unet_core.data.guides import Click, GuideEncoding, guide_maps
from unet_core.edit.selection import Selection, selection_from
from unet_core.model.predictor import Predictor
from unet_core.model.upsample import upsample_labels
from unet_core.priority import INTERACTIVE

CONTEXT = 1.4
"""A window spans the clicked object's box (its class's pixels around the clicks, and the clicks) this many
times over, so the model sees the object's edges and some of what surrounds it (RITM's zoom-in uses 1.4)."""


@dataclass(frozen=True)
class Window:
    """A rectangle of the image, rows ``y0:y1`` and columns ``x0:x1``, and the scale it is predicted at."""

    y0: int
    x0: int
    y1: int
    x1: int
    scale: float  # model pixels per image pixel

    @property
    def shape(self) -> tuple[int, int]:
        """(height, width) in image pixels."""
        return self.y1 - self.y0, self.x1 - self.x0

    def working(self) -> tuple[int, int]:
        """(height, width) once resized for the model."""
        h, w = self.shape
        return max(1, round(h * self.scale)), max(1, round(w * self.scale))


@dataclass
class ClickResult:
    """The corrected pixels of one click: ``labels`` replace the mask's ``window`` rows and columns."""

    window: Window
    labels: np.ndarray  # window-sized uint8 class ids (only pixels of the class, or taken from it, differ)

    def apply(self, mask: np.ndarray) -> None:
        """Write the result into ``mask`` (H x W uint8) in place."""
        w = self.window
        mask[w.y0 : w.y1, w.x0 : w.x1] = self.labels

    def changes(self, mask: np.ndarray) -> Selection | None:
        """The pixels of ``mask`` the result changes, as an editing selection (None: nothing changes)."""
        w = self.window
        return selection_from(self.labels != mask[w.y0 : w.y1, w.x0 : w.x1], self.labels, w.x0, w.y0)


def _class_box(mask: np.ndarray, cls: int, clicks: Sequence[Click]) -> tuple[int, int, int, int]:
    """Bounding box (y0, x0, y1, x1) of the clicks and of the class's connected regions that hold a click."""
    ys = [int(c.y) for c in clicks]
    xs = [int(c.x) for c in clicks]
    box = [min(ys), min(xs), max(ys) + 1, max(xs) + 1]
    region = (mask == cls).view(np.uint8)
    if region.any():
        _count, labels, stats, _ = cv2.connectedComponentsWithStats(region, connectivity=8)
        h, w = mask.shape
        hit = {int(labels[min(h - 1, max(0, y)), min(w - 1, max(0, x))]) for y, x in zip(ys, xs, strict=True)}
        for i in hit - {0}:
            x, y, bw, bh = (int(v) for v in stats[i, :4])
            box = [min(box[0], y), min(box[1], x), max(box[2], y + bh), max(box[3], x + bw)]
    return box[0], box[1], box[2], box[3]


def choose_window(mask: np.ndarray, cls: int, clicks: Sequence[Click], input_hw: tuple[int, int],
                  scale: float, zoom: float = 1.0) -> Window:
    """The window to re-predict: the clicked object's box with :data:`CONTEXT`, grown to fill the model's
    input at ``scale x zoom`` (or the whole image), and shrunk in scale when the box is larger than that."""
    if not clicks:
        raise ValueError("no clicks to predict from")
    h, w = mask.shape
    y0, x0, y1, x1 = _class_box(mask, cls, clicks)
    cy, cx = (y0 + y1) / 2, (x0 + x1) / 2
    bh, bw = min(h, (y1 - y0) * CONTEXT), min(w, (x1 - x0) * CONTEXT)  # the context ends at the image's edge
    s = scale * zoom
    s = min(s, input_hw[0] / max(bh, 1.0), input_hw[1] / max(bw, 1.0))  # a large object: coarser, whole
    wh, ww = min(h, max(bh, input_hw[0] / s)), min(w, max(bw, input_hw[1] / s))
    top = round(min(max(cy - wh / 2, 0), h - wh))
    left = round(min(max(cx - ww / 2, 0), w - ww))
    bottom, right = min(h, top + round(wh)), min(w, left + round(ww))
    s = min(s, input_hw[0] / (bottom - top), input_hw[1] / (right - left))
    return Window(top, left, bottom, right, s)


def focus_window(image_hw: tuple[int, int], click: Click, input_hw: tuple[int, int], scale: float) -> Window:
    """The window of the model's input size at ``scale`` centred on ``click``, moved inside the image (the whole
    image, at that scale or coarser, where the image is smaller than the window)."""
    h, w = image_hw
    wh, ww = min(h, round(input_hw[0] / scale)), min(w, round(input_hw[1] / scale))
    top = int(min(max(round(click.y - wh / 2), 0), h - wh))
    left = int(min(max(round(click.x - ww / 2), 0), w - ww))
    s = min(scale, input_hw[0] / wh, input_hw[1] / ww)
    return Window(top, left, top + wh, left + ww, s)


def _regions_at(region: np.ndarray, points: Sequence[tuple[int, int]]) -> np.ndarray:
    """The 8-connected parts of ``region`` (H x W bool) that hold one of ``points`` (row, column)."""
    out = np.zeros(region.shape, bool)
    h, w = region.shape
    inside = [(y, x) for y, x in points if 0 <= y < h and 0 <= x < w and region[y, x]]
    if not inside:
        return out
    count, labels = cv2.connectedComponents(region.view(np.uint8), connectivity=8)
    hit = np.zeros(count, bool)
    hit[[labels[y, x] for y, x in inside]] = True
    return hit[labels]


def changes_near(labels: np.ndarray, region: np.ndarray, points: Sequence[tuple[int, int]],
                 reach: float) -> np.ndarray:
    """``labels`` where they differ from ``region`` in an 8-connected part of the change that comes within
    ``reach`` pixels of one of ``points`` (row, column); ``region`` everywhere else (FocalClick's local
    update: a click fixes the error it is on and moves no edge elsewhere)."""
    change = labels != region
    if not change.any():
        return labels
    near = np.zeros(change.shape, np.uint8)
    for y, x in points:
        cv2.circle(near, (x, y), max(1, round(reach)), 1, -1)
    count, parts = cv2.connectedComponents(change.view(np.uint8), connectivity=8)
    keep = np.zeros(count, bool)
    keep[parts[near.view(bool) & change]] = True
    keep[0] = False
    chosen = keep[parts]
    out = region.copy()
    out[chosen] = labels[chosen]
    return out


class ClickPredictor:
    """Runs an interactive checkpoint's model with clicks; wraps a :class:`Predictor` (device, AMP, layout)."""

    def __init__(self, predictor: Predictor, zoom: float = 1.0) -> None:
        if not predictor.meta.interactive:
            raise ValueError("this model takes no clicks: train it with clicks (unet-core train --clicks 0.5, or "
                             "Learn clicks in the app's training settings)")
        self.predictor = predictor
        self.encoding = predictor.meta.guides or GuideEncoding()
        self.zoom = float(zoom)

    def scale(self, image_hw: tuple[int, int]) -> float:
        """The model's own scale (for a model that stretches images, from before framing: the image's fit)."""
        meta = self.predictor.meta
        return meta.scale if meta.scale is not None else fit_scale(image_hw, meta.input_size)

    def window(self, mask: np.ndarray, cls: int, clicks: Sequence[Click]) -> Window:
        """Where :meth:`run` re-predicts for these clicks: the clicked object's window; for a model that learnt
        focus windows (``zoom`` in its encoding), the object seen at up to the focus scale, and where it is too
        large for that, the focus window around the last click (unless that window holds none of the class:
        then there is no outline to refine, and the object's window at the model's scale finds it)."""
        meta, scale = self.predictor.meta, self.scale(mask.shape[:2])
        if not clicks or not zooms(meta.scale, self.encoding.zoom):
            return choose_window(mask, cls, clicks, meta.input_size, scale, self.zoom)
        fine = focus_scale(scale, self.encoding.zoom)
        focus = focus_window(mask.shape[:2], clicks[-1], meta.input_size, fine)
        if not (mask[focus.y0 : focus.y1, focus.x0 : focus.x1] == cls).any():  # no outline here to refine: find
            return choose_window(mask, cls, clicks, meta.input_size, scale, self.zoom)  # the object at its scale
        whole = choose_window(mask, cls, clicks, meta.input_size, scale, fine / scale)
        return whole if whole.scale >= fine * 0.999 else focus

    @torch.inference_mode()
    def run(self, image: np.ndarray, mask: np.ndarray, cls: int, clicks: Sequence[Click]) -> ClickResult:
        """The object of class ``cls`` that ``clicks`` (image coordinates) are on, re-predicted given the current
        ``mask``: where the model's ``cls`` region holds a positive click, its pixels become ``cls``; where a
        ``cls`` region of the mask holds a click, its pixels the model gives to another class take that
        class. Of those changes, only the connected parts that a click's disk touches are kept
        (:func:`changes_near`): other objects of the class, edges of the clicked object away from the clicks,
        and every other pixel keep their labels. The background (class 0) is not an object to click."""
        if image.ndim != 3 or image.shape[2] not in (3, 4) or image.shape[:2] != mask.shape:
            raise ValueError(f"image is {image.shape}, the mask {mask.shape}: need an H x W x 3 image of the mask's size")
        if not 0 < cls < self.predictor.num_classes:
            raise ValueError(f"clicks need an object class (1..{self.predictor.num_classes - 1}), not {cls}")
        win = self.window(mask, cls, clicks)
        wh, ww = win.working()
        crop = image[win.y0 : win.y1, win.x0 : win.x1, :3]  # RGBA: the colour channels
        inter = cv2.INTER_AREA if wh <= crop.shape[0] else cv2.INTER_LINEAR
        working = cv2.resize(np.ascontiguousarray(crop), (ww, wh), interpolation=inter)
        region = mask[win.y0 : win.y1, win.x0 : win.x1]
        have = cv2.resize(region, (ww, wh), interpolation=cv2.INTER_NEAREST_EXACT) == cls
        sy, sx = wh / win.shape[0], ww / win.shape[1]
        local = [c.scaled(sy, sx, win.y0 - 0.5 + 0.5 / sy, win.x0 - 0.5 + 0.5 / sx) for c in clicks]  # pixel centres
        maps = guide_maps((wh, ww), local, have, self.encoding, cls, self.predictor.num_classes)
        guide = pad_to(maps.transpose(1, 2, 0), self.predictor.meta.input_size, mode="zero").transpose(2, 0, 1)
        probs = self.predictor.probabilities_lowres(self.predictor.preprocess(working)[None],
                                                    np.ascontiguousarray(guide)[None])[0].numpy()
        low = probs[:, :wh, :ww].transpose(1, 2, 0)
        predicted = upsample_labels(np.ascontiguousarray(low), win.shape)
        now, old = predicted == cls, region == cls
        points = [(int(c.y) - win.y0, int(c.x) - win.x0, c.positive) for c in clicks]
        objects = _regions_at(now, [(y, x) for y, x, positive in points if positive])
        objects |= _regions_at(old, [(y, x) for y, x, _ in points])
        labels = region.copy()
        add, lost = now & ~old & objects, old & ~now & objects
        labels[add] = cls
        labels[lost] = predicted[lost]
        labels = changes_near(labels, region, [(y, x) for y, x, _ in points], self.encoding.reach / win.scale)
        return ClickResult(win, labels)

    def selection(self, image: np.ndarray, mask: np.ndarray, cls: int, clicks: Sequence[Click]) -> Selection | None:
        """What a group of clicks changes in ``mask``, as an editing selection (the click tool's job). Training
        in the same process pauses between steps while it runs (:data:`unet_core.priority.INTERACTIVE`)."""
        with INTERACTIVE.hold():
            return self.run(image, mask, cls, clicks).changes(mask)


__all__ = ["CONTEXT", "ClickPredictor", "ClickResult", "Window", "changes_near", "choose_window", "focus_window"]
