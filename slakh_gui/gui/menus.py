"""The main window's menus and toolbar (File, Edit, Render, Playback, View, Help) and the Help dialogs."""

from __future__ import annotations

import importlib.metadata
from typing import TYPE_CHECKING

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication, QMessageBox

from slakh_gui import __version__, paths

if TYPE_CHECKING:
    from slakh_gui.gui.main_window import MainWindow


def build_menus(win: MainWindow) -> None:
    """Create the window's actions (as attributes: ``win.open_action``, ``win.undo_action``, …), menus, toolbar."""
    def act(text, slot, shortcut=None, tip=""):
        a = QAction(text, win)
        if shortcut:
            a.setShortcut(QKeySequence(shortcut))
        a.setStatusTip(tip or text.replace("&", ""))
        a.triggered.connect(slot)
        return a

    m = win.menuBar()
    f = m.addMenu("&File")
    win.open_action = act("&Open MIDI…", win.documents.open_dialog, QKeySequence.StandardKey.Open)
    win.open_track_action = act("Open &Track Folder…", win.documents.open_track_dialog, "Ctrl+Shift+O")
    win.recent_menu = f.addMenu("Open &Recent")
    win.open_session_action = act("Open &Session…", win.documents.open_session_dialog, "Ctrl+Shift+L")
    win.save_session_action = act("&Save Session", win.documents.save_session, QKeySequence.StandardKey.Save)
    win.save_session_as_action = act("Save Session &As…", win.documents.save_session_as, "Ctrl+Shift+S")
    win.export_action = act("&Export Mix…", win.exports.export_dialog, "Ctrl+E")
    win.export_stems_action = act("Export Mix and &Gained Stems…", win.exports.export_stems_dialog, "Ctrl+Shift+E")
    quit_action = act("&Quit", win.close, QKeySequence.StandardKey.Quit)
    for a in (win.open_action, win.open_track_action):
        f.addAction(a)
    f.insertMenu(win.open_track_action, win.recent_menu)
    from slakh_gui.gui import dataset_dialog

    f.addSeparator()
    win.dataset_action = act("Build &Dataset…", lambda: dataset_dialog.show_dataset_dialog(win), "Ctrl+Shift+D",
                              "Render a MIDI folder into a Slakh2100-layout dataset")
    win.open_dataset_action = act("Open Dataset &Folder…", lambda: dataset_dialog.open_dataset_folder(win),
                                   tip="Lint findings and statistics of a dataset folder")
    f.addAction(win.dataset_action)
    f.addAction(win.open_dataset_action)
    f.addSeparator()
    for a in (win.open_session_action, win.save_session_action, win.save_session_as_action):
        f.addAction(a)
    f.addSeparator()
    f.addAction(win.export_action)
    f.addAction(win.export_stems_action)
    f.addSeparator()
    f.addAction(quit_action)
    e = m.addMenu("&Edit")
    win.undo_group.addStack(win.undo_stack)
    win.undo_group.addStack(win.patches_view.undo_stack)
    win.undo_group.setActiveStack(win.undo_stack)
    QApplication.instance().focusChanged.connect(win._focus_changed)
    win.undo_action = win.undo_group.createUndoAction(win, "&Undo")
    win.undo_action.setShortcut(QKeySequence.StandardKey.Undo)
    win.redo_action = win.undo_group.createRedoAction(win, "&Redo")
    win.redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence.StandardKey.Redo])
    e.addAction(win.undo_action)
    e.addAction(win.redo_action)
    r = m.addMenu("&Render")
    win.render_action = act("&Render", win.start_render, "Ctrl+R")
    win.cancel_action = act("&Cancel Render", win.cancel_render, "Esc")
    r.addAction(win.render_action)
    r.addAction(win.cancel_action)
    r.addAction(act("Re-roll &Unlocked Patches", win.reroll_unlocked, "Ctrl+Shift+R"))
    p = m.addMenu("&Playback")
    t = win.transport
    win.play_action, win.stop_action, win.loop_action = t.play_action, t.stop_action, t.loop_action
    for a in (win.play_action, win.stop_action, win.loop_action):
        p.addAction(a)
    v = m.addMenu("&View")
    for d in (win.tracks_dock, win.patches_dock, win.mixer_dock, win.separate_dock, win.render_dock):
        v.addAction(d.toggleViewAction())
    h = m.addMenu("&Help")
    h.addAction(act("&Diagnostics…", lambda: show_diagnostics(win), tip="Versions, SoundFonts, audio devices and paths "
                    "for a bug report"))
    h.addAction(act("&About Slakh Studio", lambda: QMessageBox.about(win, "About Slakh Studio", about_text())))

    tb = win.addToolBar("Main")
    tb.setObjectName("toolbar_main")
    for a in (win.open_action, win.render_action, win.cancel_action):
        tb.addAction(a)
    tb.addSeparator()
    tb.addWidget(win.transport)
    win.documents.update_recent_menu()


def show_diagnostics(win: MainWindow):
    from slakh_gui.gui.diagnostics_dialog import DiagnosticsDialog

    win._diagnostics = DiagnosticsDialog(win, runner=win.runner)
    win._diagnostics.show()
    return win._diagnostics


def about_text() -> str:
    from PySide6 import __version__ as pyside_version
    from PySide6.QtCore import qVersion

    from slakh_gui.core.render import fluid

    def version(name: str) -> str:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"

    try:
        fs = fluid.version()
    except Exception as exc:
        fs = f"not available ({exc})"
    return (f"<h3>Slakh Studio {__version__}</h3>"
            "<p>Build and audition Slakh2100-style multitrack data from MIDI.</p>"
            f"<p>FluidSynth {fs}<br>Qt {qVersion()} / PySide6 {pyside_version}<br>"
            f"pyloudnorm {version('pyloudnorm')}, pedalboard {version('pedalboard')}, "
            f"pyqtgraph {version('pyqtgraph')}<br>torch {version('torch')}</p>"
            f"<p>Patch banks: {paths.patches_dir()}<br>Resources: {paths.resources_dir()}</p>")

