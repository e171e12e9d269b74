"""The Patches view: browse every SoundFont preset, audition, curate a patch bank (classes, patches, effect chains),
validate it live and save it. It composes the parts (:mod:`.preset_browser`, :mod:`.bank_tree`, :mod:`.effect_editor`,
:mod:`.validation`, :mod:`.audition`) around one :class:`~.document.BankDocument` and owns loading and saving.

Slow work runs on the window's :class:`~slakh_gui.gui.job_runner.JobRunner` in slots named ``patches/...``; unsaved
edits are never dropped without asking (:meth:`PatchesView.confirm_discard`).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QMessageBox,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from slakh_gui import paths
from slakh_gui.core.bank.patches import Bank
from slakh_gui.gui.job_runner import Job, JobRunner
from slakh_gui.gui.patches.audition_panel import AuditionPanel
from slakh_gui.gui.patches.bank_tree import BankTree, CoverageTable
from slakh_gui.gui.patches.document import BankDocument
from slakh_gui.gui.patches.effect_editor import EffectEditor
from slakh_gui.gui.patches.kit_editor import KitEditor
from slakh_gui.gui.patches.preset_browser import PresetBrowser, soundfont_folders
from slakh_gui.gui.patches.validation import ValidationPanel
from slakh_gui.gui.patches.widget_helpers import ERROR_FG, OK_FG, eliding_label, push_button, tool_button

SLOT_PREFIX = "patches/"
Button = QMessageBox.StandardButton


def _load(path: Path) -> Bank:
    from slakh_gui.core.bank.patches import load_bank

    return load_bank(path)


class PatchesView(QWidget):
    """Browse presets, audition, edit a bank, validate it live, save it.

    The window sets ``player`` / ``player_note`` (its shared player) and reads and clears ``took_player`` (an
    audition plays instead of the song); it calls :meth:`ensure_loaded` when the view is first shown,
    :meth:`confirm_discard` before closing, and :meth:`cancel_jobs` when it shuts down.
    """

    presetsLoaded = Signal(int)  # number of presets
    bankLoaded = Signal()
    bankSaved = Signal(object)  # Path
    auditionReady = Signal(object)  # core.audition.Audition
    validated = Signal(object)  # list[Finding]
    modifiedChanged = Signal(bool)

    def __init__(self, player=None, player_note: str = "", settings: QSettings | None = None,
                 parent: QWidget | None = None, bank_path: Path | None = None, autoload: bool = True,
                 runner: JobRunner | None = None):
        super().__init__(parent)
        self.setAccessibleName("Patches: SoundFont presets and the patch bank")
        self.settings = settings or QSettings()
        self.runner = runner or JobRunner(self)
        self.doc = BankDocument(self.extra_dirs, self)
        self.undo_stack = self.doc.undo_stack
        self.browser = PresetBrowser(self.runner, self.settings, SLOT_PREFIX)
        self.bank_tree = BankTree(self.doc)
        self.effects = EffectEditor(self.doc)
        self.kit_editor = KitEditor(self.doc)
        self.validation = ValidationPanel(self.doc, self.runner, self.extra_dirs, SLOT_PREFIX)
        self.coverage_table = CoverageTable()
        self.audition = AuditionPanel(self.runner, self.extra_dirs, SLOT_PREFIX + "audition")
        self.player, self.player_note = player, player_note
        self._source = "preset"  # what Audition plays: the browser's preset or the tree's patch
        self._saved_generation: int | None = None  # a save waiting for its findings
        self._load_generation = 0  # the edits the user agreed to drop when a load was asked for
        self._build()
        self._connect()
        self._default_bank = Path(bank_path or paths.default_bank())
        self._loaded = False
        if autoload:
            self.ensure_loaded()

    # -------------------------------------------------------------------------------------------- the window's API
    @property
    def player(self):
        """The window's shared :class:`slakh_gui.core.studio.playback.Player` (None: no audio output)."""
        return self.audition.player

    @player.setter
    def player(self, player) -> None:
        self.audition.player = player

    @property
    def player_note(self) -> str:
        return self.audition.player_note

    @player_note.setter
    def player_note(self, note: str) -> None:
        self.audition.player_note = note

    @property
    def took_player(self) -> bool:
        """The shared player plays an audition (the window gives it the song back and clears this)."""
        return self.audition.took_player

    @took_player.setter
    def took_player(self, took: bool) -> None:
        self.audition.took_player = took

    @property
    def bank(self) -> Bank | None:
        return self.doc.bank

    @property
    def bank_path(self) -> Path | None:
        return self.doc.path

    @property
    def modified(self) -> bool:
        return self.doc.modified

    @property
    def findings(self) -> list:
        return self.validation.findings

    def ensure_loaded(self) -> None:
        """List the SoundFonts and load the default bank, once (a dock calls it when its tab is first shown)."""
        if self._loaded:
            return
        self._loaded = True
        self.refresh_presets()
        if self.bank is None:
            self.load_bank(self._default_bank)

    def cancel_jobs(self) -> None:
        """Stop this view's background jobs (listing, loading, validation, auditions)."""
        self.validation.timer.stop()
        for job in self.runner.running():
            if job.slot and job.slot.startswith(SLOT_PREFIX):
                job.cancel()

    def has_unsaved_changes(self) -> bool:
        return self.doc.modified

    def confirm_discard(self, parent: QWidget | None = None) -> bool:
        """True when the bank's edits may go: there are none, they were saved, or the user discards them."""
        if not self.has_unsaved_changes():
            return True
        answer = self._ask_unsaved(self.doc.display_name(), parent)
        if answer == Button.Save:
            if self._saves_elsewhere():
                return self._save_as_dialog() is not None
            # a bank that cannot be written where it is (a read-only folder) goes elsewhere
            return self.save() is not None or self._save_as_dialog() is not None
        return answer == Button.Discard

    def _ask_unsaved(self, name: str, parent: QWidget | None = None) -> QMessageBox.StandardButton:
        return QMessageBox.question(parent or self, "Unsaved patch bank",
                                    f"The patch bank '{name}' has unsaved changes.",
                                    Button.Save | Button.Discard | Button.Cancel, Button.Save)

    def extra_dirs(self) -> list[str]:
        """SoundFont folders added in the browser (searched by auditions and validation too)."""
        return soundfont_folders(self.settings)

    def validation_current(self) -> bool:
        return self.validation.validation_current()

    # -------------------------------------------------------------------------------------------- layout
    def _build(self) -> None:
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.setSpacing(4)
        lay.addLayout(self._build_top())
        lay.addWidget(self.audition)
        self.tabs = QTabWidget()
        self.tabs.setAccessibleName("Effects, findings and coverage")
        patch_page = QWidget()  # the selected patch: its kit rule (drum patches) above its effect chain
        page = QVBoxLayout(patch_page)
        page.setContentsMargins(0, 0, 0, 0)
        page.setSpacing(0)
        page.addWidget(self.kit_editor)
        page.addWidget(self.effects, 1)
        self.tabs.addTab(_scrolling(patch_page), "Effects")  # scrolls rather than holding the dock tall
        self.tabs.addTab(_scrolling(self.validation), "Findings")
        self.tabs.addTab(self.coverage_table, "Coverage")
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setChildrenCollapsible(False)
        for i, (w, stretch) in enumerate(((self.browser, 5), (self.bank_tree, 4), (self.tabs, 4))):
            self.splitter.addWidget(w)
            self.splitter.setStretchFactor(i, stretch)
        self.splitter.setSizes([450, 380, 360])
        lay.addWidget(self.splitter, 1)
        QShortcut(QKeySequence("Ctrl+Shift+A"), self, self.audition_selected)

    def _build_top(self) -> QHBoxLayout:
        top = QHBoxLayout()
        self.bank_label = eliding_label("No bank", "Bank file")
        self.bank_label.setStyleSheet("font-weight: bold;")
        self.save_label = eliding_label("", "Save state")
        self.undo_button = tool_button("↶", "Undo the last bank edit", self.undo_stack.undo)
        self.redo_button = tool_button("↷", "Redo the bank edit", self.undo_stack.redo)
        self.undo_stack.indexChanged.connect(self._update_undo_buttons)
        self.undo_stack.cleanChanged.connect(self._update_undo_buttons)
        self._update_undo_buttons()
        self.open_bank_button = push_button("Open bank…", "Open a patch bank file", self._open_bank_dialog)
        self.save_button = push_button("Save", "Save the patch bank", self.save)
        self.save_as_button = push_button("Save As…", "Save the patch bank as a new file", self._save_as_dialog)
        top.addWidget(self.bank_label, 2)
        top.addWidget(self.save_label, 1)
        for w in (self.undo_button, self.redo_button, self.open_bank_button, self.save_button, self.save_as_button):
            top.addWidget(w)
        return top

    def _update_undo_buttons(self, *_args) -> None:
        stack = self.undo_stack
        self.undo_button.setEnabled(stack.canUndo())
        self.redo_button.setEnabled(stack.canRedo())
        self.undo_button.setToolTip(f"Undo {stack.undoText()}" if stack.canUndo() else "Undo the last bank edit")
        self.redo_button.setToolTip(f"Redo {stack.redoText()}" if stack.canRedo() else "Redo the bank edit")

    def _connect(self) -> None:
        self.browser.presetsLoaded.connect(self._presets_loaded)
        self.browser.presetChosen.connect(self._preset_chosen)
        self.browser.presetActivated.connect(self.audition_selected)
        self.browser.addRequested.connect(self.add_selected_to_class)
        self.browser.foldersChanged.connect(self.doc.forget_soundfonts)
        self.bank_tree.patchChosen.connect(self._patch_chosen)
        self.bank_tree.patchActivated.connect(self.audition_selected)
        self.audition.requested.connect(self.audition_selected)
        self.audition.auditionReady.connect(self.auditionReady)
        self.validation.validated.connect(self._validated)
        self.validation.keyActivated.connect(self._finding_activated)
        self.doc.replaced.connect(self._bank_replaced)
        self.doc.changed.connect(self._bank_changed)
        self.doc.modifiedChanged.connect(self._modified_changed)

    # -------------------------------------------------------------------------------------------- loading
    def refresh_presets(self) -> Job:
        return self.browser.refresh_presets()

    def _presets_loaded(self, count: int) -> None:
        self.browser.set_in_bank(self.doc.preset_users())
        self.presetsLoaded.emit(count)

    def load_bank(self, path: str | Path) -> Job | None:
        """Load a bank file in the background; unsaved edits are kept unless the user saves or discards them."""
        if not self.confirm_discard():
            return None
        return self._start_load(Path(path))

    def _start_load(self, path: Path) -> Job:
        self._load_generation = self.doc.generation
        self.bank_label.setText(f"Loading {Path(path).name} …")
        return self.runner.start(_load, Path(path), hooks=False, on_result=self._bank_ready,
                                 on_error=self._bank_failed, slot=SLOT_PREFIX + "load")

    def _bank_ready(self, bank: Bank) -> None:
        if self.doc.generation != self._load_generation and not self.confirm_discard():
            self._update_bank_label()  # edited while it loaded, and the user keeps those edits
            return
        self.set_bank(bank)
        self.bankLoaded.emit()

    def _bank_failed(self, exc: Exception) -> None:
        self._update_bank_label()
        self.bank_tree.show_error(f"Could not open the bank: {exc}")

    def set_bank(self, bank: Bank) -> None:
        """Edit ``bank`` (dropping the current one: call :meth:`confirm_discard` first)."""
        self.doc.set_bank(bank)

    def _bank_replaced(self) -> None:
        self.audition.clear()
        self.save_label.setText("")
        self._saved_generation = None
        self._update_bank_label()
        self._bank_changed("")

    def _bank_changed(self, _note: str) -> None:
        if self.doc.bank is None:
            return
        self.save_label.setText("")
        self.coverage_table.update_from(self.doc.bank)
        self.browser.set_in_bank(self.doc.preset_users())

    def _modified_changed(self, modified: bool) -> None:
        self._update_bank_label()
        self.modifiedChanged.emit(modified)

    def _update_bank_label(self) -> None:
        path = self.doc.path
        name = path.name if path else "(unsaved bank)"
        bank_name = f" '{self.doc.bank.name}'" if self.doc.bank is not None else ""
        self.bank_label.setText(f"{name}{bank_name}{' *' if self.doc.modified else ''}" if self.doc.bank else "No bank")
        self.bank_label.setToolTip(str(path or ""))

    def _open_bank_dialog(self) -> None:
        if not self.confirm_discard():
            return
        path, _ = QFileDialog.getOpenFileName(self, "Open patch bank", str(self.bank_path or paths.patches_dir()),
                                              "Patch banks (*.yaml *.yml);;All files (*)")
        if path:
            self._start_load(Path(path))

    # -------------------------------------------------------------------------------------------- saving
    def save(self, path: str | Path | None = None) -> Path | None:
        """Write the bank (atomically) to ``path`` or its own file; a bank with errors is saved as a draft.
        None when there is no bank, the Save As dialog was cancelled or writing failed."""
        if self.bank is None:
            return None
        if path is None and (self.bank_path is None or self._saves_elsewhere()):
            return self._save_as_dialog()
        target = Path(path or self.bank_path)
        try:
            self.doc.save(target)
        except OSError as exc:
            self._set_save_label(f"Not saved: {exc}", error=True)
            self.bank_tree.show_error(f"Could not save {target}: {exc}")
            return None
        self._update_bank_label()
        self._saved_generation = self.doc.generation
        if self.validation.checked_generation >= self.doc.generation:
            self._flag_saved()
        else:
            self._set_save_label(f"Saved {target.name}; checking …")
            self.validation.validate_now()
        self.bankSaved.emit(target)
        return target

    def _save_as_dialog(self) -> Path | None:
        if self.bank is None:
            return None
        start = str(self.bank_path or (paths.patches_dir() / "bank.yaml"))
        if self._saves_elsewhere():  # an installed app's shipped bank: offer the user's banks folder
            paths.user_banks_dir().mkdir(parents=True, exist_ok=True)
            start = str(paths.user_banks_dir() / self.bank_path.name)
        path, _ = QFileDialog.getSaveFileName(self, "Save patch bank as", start, "Patch banks (*.yaml *.yml)")
        return self.save(Path(path)) if path else None

    def _saves_elsewhere(self) -> bool:
        """True when the bank is one the installed app ships (inside its package or bundle): Save goes to Save As."""
        return self.bank_path is not None and paths.is_installed_data(self.bank_path)

    def _set_save_label(self, text: str, error: bool = False, ok: bool = False) -> None:
        color = ERROR_FG.name() if error else OK_FG.name() if ok else ""
        self.save_label.setStyleSheet(f"color: {color};" if color else "")
        self.save_label.setText(text)
        self.save_label.setToolTip(text)

    def _flag_saved(self) -> None:
        errors = sum(1 for f in self.findings if f.severity == "error")
        name = self.bank_path.name if self.bank_path else ""
        if errors:
            self._set_save_label(f"{name} saved as draft: {errors} error{'s' if errors != 1 else ''}", error=True)
        else:
            self._set_save_label(f"Saved {name}", ok=True)
        self._saved_generation = None

    def _validated(self, findings: list) -> None:
        self.effects.show_findings(findings)
        self.tabs.setTabText(1, f"Findings ({len(findings)})" if findings else "Findings")
        if self._saved_generation is not None and self.validation.checked_generation >= self._saved_generation:
            self._flag_saved()
        self.validated.emit(findings)

    # -------------------------------------------------------------------------------------------- selection
    def _preset_chosen(self) -> None:
        self._source = "preset"

    def _patch_chosen(self, pid: str | None) -> None:
        self._source = "patch"
        self.kit_editor.show_patch(pid)
        self.effects.show_patch(pid)

    def _finding_activated(self, key: str) -> None:
        parts = key.split("/")
        if len(parts) >= 2 and parts[0] == "classes":
            self.bank_tree.select_class(parts[1])
        elif len(parts) >= 2 and parts[0] == "patches":
            found = self.bank_tree.select_patch(parts[1])
            if found and len(parts) >= 4 and parts[2] == "effects" and parts[3].isdigit():
                self.effects.fx_list.setCurrentRow(int(parts[3]))
                self.tabs.setCurrentIndex(0)  # the effect editor

    def add_selected_to_class(self) -> str | None:
        """Add the browser's preset to the tree's class as a new patch; its id, or None (with a message)."""
        preset, cname = self.browser.selected_preset(), self.bank_tree.selected_class()
        if preset is None or cname is None:
            self.bank_tree.show_error("Select a preset in the browser and a class in the bank first.")
            return None
        return self.bank_tree.add_preset_to_class(preset, cname)

    def audition_selected(self) -> Job | None:
        """Render the selected preset (browser) or patch (bank tree) playing its class-typical phrase."""
        pid = self.bank_tree.selected_patch()
        if self._source == "patch" and pid and self.bank is not None:
            return self.audition.audition_patch(self.bank.patches[pid], pid, self.bank)
        preset = self.browser.selected_preset()
        if preset is None:
            self.audition.say("Select a preset or a patch first.")
            return None
        return self.audition.audition_preset(preset, self.bank)


def _scrolling(widget: QWidget) -> QScrollArea:
    """``widget`` in a frameless scroll area that resizes it (scroll bars only when the room is short)."""
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setWidget(widget)
    return area
