"""Opening and saving the window's document: MIDI files, track folders, sessions, recent files, another bank —
and the question about unsaved work before any of it replaces what is open."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog, QMessageBox

from slakh_gui.core.bank import patches
from slakh_gui.core.midi import midifile
from slakh_gui.core.render.track_folder import load_track_folder
from slakh_gui.core.studio import session as sess
from slakh_gui.core.studio.project import ProjectError, stem_peaks
from slakh_gui.gui.job_runner import Job

if TYPE_CHECKING:
    from slakh_gui.gui.main_window import MainWindow

Answer = QMessageBox.StandardButton
MAX_RECENT = 8


def freeze_heap() -> None:
    """Move every object alive now out of the cyclic GC's reach. A full collection of this heap (Qt wrappers,
    pyqtgraph, the song's notes: ~10^5 objects) holds the GIL for 50-100 ms, and allocation-heavy worker threads
    (MIDI export, analysis) trigger them: the UI froze. Objects freed by reference counting are still freed."""
    gc.collect()
    gc.freeze()


def load_song_and_bank(song_path: Path, bank_path: Path):
    return midifile.load_song(song_path), patches.load_bank(bank_path)


def open_folder(path: Path):
    """Worker side of opening a track folder: the audio and each stem's peak (kept off the UI thread)."""
    folder = load_track_folder(path, keep_channels=True)  # a stereo folder plays in stereo
    return folder, stem_peaks(folder.stems)


class DocumentActions(QObject):
    """What the File menu does to the window's :class:`~slakh_gui.core.studio.project.Project`."""

    def __init__(self, win: MainWindow):
        super().__init__(win)
        self.win = win
        self.project = win.project

    # -------------------------------------------------------------------------------------------- unsaved work
    def ask_unsaved(self, title: str, text: str) -> Answer:
        """Save / Discard / Cancel (tests replace this method)."""
        return QMessageBox.question(self.win, title, text, Answer.Save | Answer.Discard | Answer.Cancel, Answer.Save)

    def confirm_discard(self, doing: str = "continuing", *, bank_too: bool = False) -> bool:
        """Before the document is replaced: ask about unsaved song edits (and, quitting, about the Patches view's
        bank). True: go on (saved or discarded); False: the user cancelled (nothing was touched)."""
        if not self.win.confirm_on_close:
            return True
        p = self.project
        if p.dirty and p.song is not None and not p.is_folder:
            answer = self.ask_unsaved("Unsaved changes", f"{p.display_name} has unsaved changes (patches, locks, "
                                      f"mixer or render settings). Save the session before {doing}?")
            if answer == Answer.Cancel or (answer == Answer.Save and not self.save_session()):
                return False
        return not bank_too or bool(self.win.patches_view.confirm_discard(self.win))

    # -------------------------------------------------------------------------------------------- opening
    def last_dir(self) -> Path:
        return Path(str(self.win.settings.value("paths/last_dir", str(Path.home()), type=str)))

    def open_dialog(self) -> None:
        if not self.confirm_discard("opening another song"):
            return
        path, _ = QFileDialog.getOpenFileName(self.win, "Open MIDI file", str(self.last_dir()),
                                              "MIDI files (*.mid *.midi *.kar *.rmi);;All files (*)")
        if path:
            self.open_path(Path(path), confirmed=True)

    def open_track_dialog(self) -> None:
        if not self.confirm_discard("opening a track folder"):
            return
        path = QFileDialog.getExistingDirectory(self.win, "Open a Slakh track folder", str(self.last_dir()))
        if path:
            self.open_path(Path(path), confirmed=True)

    def open_path(self, path: Path, bank_path: Path | None = None, *, confirmed: bool = False) -> Job | None:
        """A MIDI file or a Slakh track folder, loaded off the UI thread; unsaved work is asked about first
        (None: the user kept it)."""
        path = Path(path)
        if not confirmed and not self.confirm_discard("opening another file"):
            self.win.status_label.setText("Kept the open document")
            return None
        if path.is_dir():
            self.win.status_label.setText(f"Opening track folder {path} …")
            return self.win.runner.start(open_folder, path, hooks=False, slot="open", on_result=self._folder_loaded)
        self.win.status_label.setText(f"Opening {path.name} …")
        bank = Path(bank_path or self.project.bank_path)
        return self.win.runner.start(load_song_and_bank, path, bank, hooks=False, slot="open",
                                     on_result=self._song_loaded)

    def _song_loaded(self, loaded) -> None:
        song, bank = loaded
        win = self.win
        win.stop()
        self.project.load_song(song, bank)
        win.message.hide()
        if song.repairs:
            win.message.show_message(f"{song.path.name} was repaired while loading: {'; '.join(song.repairs)}",
                                     error=False)
        win.status_label.setText(f"Loaded {song.path}")
        self.remember_recent(song.path)
        if song.tracks:
            win.table.selectRow(0)
        freeze_heap()
        win.songLoaded.emit()

    def _folder_loaded(self, loaded) -> None:
        folder, peaks = loaded
        win = self.win
        win.stop()
        self.project.load_folder(folder, peaks)
        win.message.hide()
        if folder.notes:
            win.message.show_message("; ".join(folder.notes), error=False)
        win.status_label.setText(f"Opened track folder {folder.path}")
        self.remember_recent(folder.path)
        freeze_heap()
        win.songLoaded.emit()

    def reload_with_bank(self, bank_path: Path, note: str = "") -> Job | None:
        """The same song drawn from another bank (Flakh's, or a saved edit of this one): seed, locks and the
        fixed patches the new bank still has are kept."""
        p = self.project
        if p.song is None or p.is_folder:
            return None
        state = p.patch_state()

        def reloaded(loaded) -> None:
            try:
                p.change_bank(loaded[1], state)
            except ProjectError as exc:
                self.win.show_error(str(exc))
                return
            if note:
                self.win.status_label.setText(note)
            self.win.songLoaded.emit()

        return self.win.runner.start(load_song_and_bank, p.song.path, Path(bank_path), hooks=False, slot="open",
                                     on_result=reloaded)

    # -------------------------------------------------------------------------------------------- sessions
    def save_session(self) -> bool:
        if self.project.session_path is None:
            return self.save_session_as()
        return self.write_session(self.project.session_path)

    def save_session_as(self) -> bool:
        path, _ = QFileDialog.getSaveFileName(self.win, "Save session", str(self.last_dir() / "session.slakh.json"),
                                              "Slakh Studio session (*.json)")
        return bool(path) and self.write_session(Path(path))

    def write_session(self, path: Path) -> bool:
        try:
            self.project.save_session(path)
        except (OSError, ValueError) as exc:
            self.win.show_error(f"Could not save the session: {exc}")
            return False
        self.win.undo_stack.setClean()
        self.win.status_label.setText(f"Saved session {path}")
        return True

    def open_session_dialog(self) -> None:
        if not self.confirm_discard("opening a session"):
            return
        path, _ = QFileDialog.getOpenFileName(self.win, "Open session", str(self.last_dir()),
                                              "Slakh Studio session (*.json);;All files (*)")
        if path:
            self.open_session(Path(path), confirmed=True)

    def open_session(self, path: Path, *, confirmed: bool = False) -> Job | None:
        if not confirmed and not self.confirm_discard("opening a session"):
            return None
        try:
            s = sess.load_session(path)
        except sess.SessionError as exc:
            self.win.show_error(str(exc))
            return None

        def loaded(result) -> None:
            song, bank = result
            win = self.win
            win.stop()
            self.project.load_song(song, bank)
            try:
                self.project.apply_session(s, Path(path))
            except ProjectError as exc:
                win.show_error(str(exc))
            win.message.hide()
            win.status_label.setText(f"Opened session {path}")
            self.remember_recent(song.path)
            freeze_heap()
            win.songLoaded.emit()

        return self.win.runner.start(load_song_and_bank, Path(s.song), s.bank_path(), hooks=False, slot="open",
                                     on_result=loaded)

    # -------------------------------------------------------------------------------------------- recent files
    def remember_recent(self, path: Path) -> None:
        settings = self.win.settings
        recent = [p for p in settings.value("paths/recent", [], type=list) if p != str(path)]
        recent.insert(0, str(path))
        settings.setValue("paths/recent", recent[:MAX_RECENT])
        settings.setValue("paths/last_dir", str(path.parent if path.is_file() else path))
        self.update_recent_menu()

    def update_recent_menu(self) -> None:
        menu = self.win.recent_menu
        menu.clear()
        recent = self.win.settings.value("paths/recent", [], type=list)
        for p in recent:
            a = menu.addAction(p)
            a.triggered.connect(lambda checked=False, p=p: self.open_path(Path(p)))
        menu.setEnabled(bool(recent))

    def open_dropped(self, path: Path) -> None:
        """A file dropped on the window: a session, a MIDI file or a track folder."""
        if path.suffix.lower() == ".json":
            self.open_session(path)
        else:
            self.open_path(path)
