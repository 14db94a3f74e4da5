"""The main window's actions, menus and toolbar: every command with its shortcut in one table."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QComboBox, QLabel, QMenu, QSpinBox, QToolBar

from app.icons import icon
from app.window.view_modes import LABELS, MODES

if TYPE_CHECKING:
    from app.window.main_window import MainWindow

TOOLS = (  # name, label, shortcut, icon
    ("brush", "Brush", "B", "brush"),
    ("eraser", "Eraser", "E", "eraser"),
    ("fill", "Flood fill", "G", "fill"),
    ("polygon", "Polygon / lasso fill", "P", "polygon"),
    ("revert", "Revert region to prediction", "V", "revert"),
    ("pan", "Pan", "Shift+H", "pan"),
    ("wand", "Magic wand (drag sideways: tolerance)", "W", "wand"),
    ("snap", "Snapping stroke (snaps to the object's edges)", "S", "snap"),
    ("region", "Region click (fix a wrong region; Shift: model's second choice)", "F", "region"),
    ("scissors", "Intelligent scissors (edge-following polygon)", "I", "scissors"),
    ("superpixel", "Superpixel brush", "X", "superpixel"),
    ("cleanup", "Clean up holes and specks", "K", "cleanup"),
    ("refine", "Refine edges (moves the active class's outline onto the image's edges)", "J", "refine"),
    ("edge", "Edge-aware brush (Shift: erase)", "T", "edge"),
    ("click", "Click to correct (left: the active class, right: not it; needs an interactive model)", "U", "click"),
)
SMART_START = 6  # TOOLS[SMART_START:] are the smart tools


def _act(w: MainWindow, text: str, slot: Callable[..., object], shortcut: str | QKeySequence.StandardKey | None = None,
         tip: str = "", icon_name: str | None = None) -> QAction:
    a = QAction(text, w)
    if shortcut is not None:
        a.setShortcut(QKeySequence(shortcut))
        a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    if tip:
        a.setStatusTip(tip)
        a.setToolTip(f"{text} ({a.shortcut().toString()})" if a.shortcut().toString() else text)
    if icon_name:
        a.setIcon(icon(icon_name))
    a.triggered.connect(lambda *_: slot())
    w.addAction(a)
    return a


def build_actions(w: MainWindow) -> dict[str, QAction]:
    """Create every action, the menu bar and the toolbar; returns the actions by name."""
    a: dict[str, QAction] = {}
    a["open"] = _act(w, "&Open Folder…", w.choose_folder, QKeySequence.StandardKey.Open, "Open a dataset folder", "open")
    a["open_model"] = _act(w, "Open &Model…", w.choose_model, "Ctrl+M", "Load a .safetensors checkpoint")
    a["save_model"] = _act(w, "&Save Model As…", w.save_model_as, "Ctrl+Shift+S", "Copy the active model to a file")
    a["export"] = _act(w, "&Export Masks…", w.choose_export, "Ctrl+E",
                       "Write the corrections and/or predictions to a folder: the dataset's own format, index or "
                       "colour PNGs, Pascal VOC, COCO or Kaggle CSV")
    a["import"] = _act(w, "&Import Masks…", w.choose_import, "Ctrl+I",
                       "Take masks from COCO, labelme, Pascal VOC or a Kaggle CSV as what the images start from")
    a["quit"] = _act(w, "&Quit", w.close, QKeySequence.StandardKey.Quit)
    undo = w.undo_group.createUndoAction(w, "&Undo")
    undo.setShortcut(QKeySequence("Ctrl+Z"))
    redo = w.undo_group.createRedoAction(w, "&Redo")
    redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
    undo.setIcon(icon("undo"))
    redo.setIcon(icon("redo"))
    w.addAction(undo)
    w.addAction(redo)
    a["undo"], a["redo"] = undo, redo
    a["accept"] = _act(w, "&Accept Prediction", w.accept_prediction, "Ctrl+Return",
                       "Replace this image's mask with the model's prediction (one undo step)", "accept")
    a["reviewed"] = _act(w, "Mark &Reviewed", w.mark_reviewed, "R", "Mark this image as checked; again: no longer reviewed", "reviewed")
    a["next"] = _act(w, "&Next Image", w.next_image, "D", "Next image in the list order", "next")
    a["prev"] = _act(w, "&Previous Image", w.previous_image, "A", "Previous image in the list order", "prev")
    a["next_todo"] = _act(w, "Next &Not Reviewed", w.next_not_reviewed, "N", "Next image that is not reviewed yet")
    a["next_queue"] = _act(w, "Next in &Queue", w.next_in_queue, "Q",
                           "The most uncertain image not corrected yet (the active-learning queue)", "queue")
    a["rescore"] = _act(w, "&Rank Queue by Uncertainty", w.rescore_queue, "Ctrl+Shift+Q",
                        "Predict the images still to correct with the active model and sort them most uncertain first")
    for extra, target in (("PgDown", "next"), ("PgUp", "prev")):
        a[target].setShortcuts([a[target].shortcut(), QKeySequence(extra)])
    a["predict"] = _act(w, "&Predict Image", w.predict_current, "Ctrl+P", "Predict the current image", "predict")
    a["predict_all"] = _act(w, "Predict &All", w.predict_all, "Ctrl+Shift+P", "Predict every image (cancellable)")
    a["cancel_predict"] = _act(w, "&Cancel Predictions", w.cancel_predictions, None, "Stop predicting all images")
    a["finetune"] = _act(w, "&Fine-tune on Corrections", w.finetune_now, "Ctrl+T",
                         "Fine-tune the model on the corrected masks", "train")
    a["fit"] = _act(w, "&Fit to Window", w.canvas.fit_to_window, "Ctrl+0")
    a["actual"] = _act(w, "&Actual Size (1:1)", w.canvas.zoom_actual, "Ctrl+1")
    a["zoom_in"] = _act(w, "Zoom &In", lambda: w.canvas.zoom_by(1.25), QKeySequence.StandardKey.ZoomIn)
    a["zoom_out"] = _act(w, "Zoom &Out", lambda: w.canvas.zoom_by(0.8), QKeySequence.StandardKey.ZoomOut)
    a["bigger"] = _act(w, "Bigger Brush (radius)", lambda: w.canvas.step_brush_radius(True), "]")
    a["smaller"] = _act(w, "Smaller Brush (radius)", lambda: w.canvas.step_brush_radius(False), "[")
    a["shortcuts"] = _act(w, "&Keyboard Shortcuts", w.show_shortcuts, "F1")
    a["about"] = _act(w, "&About Maskloop", w.show_about)

    tools = QActionGroup(w)
    for name, label, key, ic in TOOLS:
        t = _act(w, label, lambda n=name: w.set_tool(n), key, label, ic)
        t.setCheckable(True)
        tools.addAction(t)
        a[f"tool_{name}"] = t
    a["tool_brush"].setChecked(True)
    modes = QActionGroup(w)
    for i, mode in enumerate(MODES, 1):
        m = _act(w, LABELS[mode], lambda md=mode: w.set_view_mode(md), f"Alt+{i}", f"Show: {LABELS[mode]}")
        m.setCheckable(True)
        modes.addAction(m)
        a[f"mode_{mode}"] = m
    a["mode_corrected"].setChecked(True)
    for i in range(10):  # digits typed quickly form one class id (1 then 2 = class 12); 0 = background
        _act(w, f"Class {i}", lambda k=i: w.type_class_digit(k), str(i))
    a["pick_class"] = _act(w, "&Pick Class…", w.open_class_picker, "C",
                           "Search the classes by name and pick the one to paint with (C or Ctrl+K)")
    a["pick_class"].setShortcuts([QKeySequence("C"), QKeySequence("Ctrl+K")])
    a["edit_classes"] = _act(w, "&Edit Classes…", w.edit_classes, "Ctrl+Shift+K",
                             "Add, rename and recolour this folder's classes (a folder of images, or images/ + masks/)")
    a["lock_here"] = _act(w, "&Lock Class Under Pointer", w.toggle_lock_here, "L",
                          "Lock or unlock the class under the pointer: no tool overwrites a locked class")
    a["paint_all"] = _act(w, "Paint Over &All Classes", lambda: w.set_paint_over(None), None,
                          "Edits may change pixels of any class that is not locked")
    a["paint_background"] = _act(w, "Paint Over &Background Only", lambda: w.set_paint_over(0), None,
                                 "Preserve labels: edits change background pixels only")
    for k in ("paint_all", "paint_background"):
        a[k].setCheckable(True)
    a["paint_all"].setChecked(True)
    a["cycle_paint"] = _act(w, "&Switch Paint Over (All / Background Only)", w.cycle_paint_over, "O",
                            "Preserve labels on or off: paint over background only, or over every class")
    a["reset_image"] = _act(w, "&Reset Brightness and Contrast", w.reset_image_adjustment, "Ctrl+Alt+0",
                            "Show the image as it is in the file")

    _menus(w, a)
    _toolbar(w, a)
    return a


def _menus(w: MainWindow, a: dict[str, QAction]) -> None:
    mb = w.menuBar()
    f = mb.addMenu("&File")
    f.addAction(a["open"])
    w.recent_menu = QMenu("Open &Recent", w)
    f.addMenu(w.recent_menu)
    f.addSeparator()
    for k in ("open_model", "save_model", "import", "export"):
        f.addAction(a[k])
    w.versions_menu = QMenu("Model &Versions", w)
    f.addMenu(w.versions_menu)
    f.addSeparator()
    f.addAction(a["quit"])
    e = mb.addMenu("&Edit")
    for k in ("undo", "redo"):
        e.addAction(a[k])
    e.addSeparator()
    for k in ("accept", "reviewed"):
        e.addAction(a[k])
    e.addSeparator()
    paint = e.addMenu("Paint &Over")
    for k in ("paint_all", "paint_background", "cycle_paint"):
        paint.addAction(a[k])
    e.addAction(a["lock_here"])
    e.addAction(a["pick_class"])
    e.addAction(a["edit_classes"])
    e.addSeparator()
    e.addAction(w.files.find_action)
    v = mb.addMenu("&View")
    for mode in MODES:
        v.addAction(a[f"mode_{mode}"])
    v.addSeparator()
    for k in ("fit", "actual", "zoom_in", "zoom_out"):
        v.addAction(a[k])
    v.addAction(a["reset_image"])
    v.addSeparator()
    w.docks_menu = v.addMenu("&Panels")
    t = mb.addMenu("&Tools")
    for i, (name, *_) in enumerate(TOOLS):
        if i == SMART_START:
            t.addSeparator()
        t.addAction(a[f"tool_{name}"])
    t.addSeparator()
    t.addAction(a["bigger"])
    t.addAction(a["smaller"])
    n = mb.addMenu("&Go")
    for k in ("next", "prev", "next_todo", "next_queue", "rescore"):
        n.addAction(a[k])
    m = mb.addMenu("&Model")
    for k in ("predict", "predict_all", "cancel_predict", "finetune"):
        m.addAction(a[k])
    h = mb.addMenu("&Help")
    h.addAction(a["shortcuts"])
    h.addAction(a["about"])


def _toolbar(w: MainWindow, a: dict[str, QAction]) -> None:
    tb = QToolBar("Tools", w)
    tb.setObjectName("toolbar_main")
    tb.setMovable(False)
    w.addToolBar(tb)
    tb.addAction(a["open"])
    tb.addSeparator()
    palette = QToolBar("Editing tools", w)  # every tool in one column beside the panels
    palette.setObjectName("toolbar_tools")
    palette.setMovable(False)
    for i, (name, *_) in enumerate(TOOLS):
        if i == SMART_START:
            palette.addSeparator()
        palette.addAction(a[f"tool_{name}"])
    w.addToolBar(Qt.ToolBarArea.LeftToolBarArea, palette)
    tb.addWidget(QLabel(" Radius "))  # the brush's radius in image pixels, as the outline and [ ] use it
    w.brush_spin = QSpinBox(w)
    w.brush_spin.setRange(1, 500)
    w.brush_spin.setSuffix(" px")
    w.brush_spin.setToolTip("Brush radius in image pixels: the distance from the pointer to the outline "
                            "([ and ] change it)")
    w.brush_spin.setAccessibleName("Brush radius")
    tb.addWidget(w.brush_spin)
    tb.addWidget(QLabel(" Paint over "))
    w.paint_over_combo = QComboBox(w)
    w.paint_over_combo.setAccessibleName("Paint over")
    w.paint_over_combo.setToolTip("Which pixels edits may change: every class, background only (preserve "
                                  "labels), or one class only (O switches all / background only; "
                                  "locked classes never change)")
    w.paint_over_combo.addItem("All classes", -1)
    w.paint_over_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
    tb.addWidget(w.paint_over_combo)
    tb.addSeparator()
    for k in ("undo", "redo"):
        tb.addAction(a[k])
    tb.addSeparator()
    tb.addWidget(QLabel(" View "))
    w.mode_combo = QComboBox(w)
    w.mode_combo.setAccessibleName("View mode")
    for mode in MODES:
        w.mode_combo.addItem(LABELS[mode], mode)
    w.mode_combo.setToolTip("What the overlay shows (Alt+1…4); hold H to hide it")
    tb.addWidget(w.mode_combo)
    tb.addSeparator()
    for k in ("accept", "reviewed", "prev", "next", "next_queue", "predict", "finetune"):
        tb.addAction(a[k])
