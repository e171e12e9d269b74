"""The Dataset dialog: ``slakh-studio dataset`` in the GUI, with progress, ETA, cancel and resume, then the
dataset's lint findings (re-roll a patch, drop a stem), its statistics (Table 1, Fig. 1, Fig. 2) and the MIDI files
its selection rejected, with the reasons.

:class:`DatasetDialog` composes the :class:`~.options_form.OptionsForm`, the :class:`~.build_progress.BuildProgress`
run box and the result panels of :mod:`slakh_gui.gui.dataset_results`; it runs the build and reads the output
folder's manifest. The build, the lint checks and the statistics run on a :class:`~slakh_gui.gui.job_runner.JobRunner`
over the dialog's own thread pool (a long build never starves the main window's jobs); short reads (a manifest, a
selection report) run on the runner the window passes. The render itself happens in worker processes or on a Dask
cluster. A cancelled build leaves a resumable folder: Start with the same options continues it.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QSettings, Qt, QThreadPool, QTimer, QUrl, Signal
from PySide6.QtGui import QCloseEvent, QDesktopServices, QGuiApplication
from PySide6.QtWidgets import QDialog, QMessageBox, QScrollArea, QTabWidget, QVBoxLayout, QWidget

from slakh_gui.core.dataset.builder import (
    MANIFEST,
    DatasetOptions,
    DatasetResult,
    load_manifest,
    run_dataset,
)
from slakh_gui.core.jobs import Progress
from slakh_gui.gui.dataset_dialog.build_progress import BuildProgress
from slakh_gui.gui.dataset_dialog.options_form import OptionsForm, dropped_folder
from slakh_gui.gui.dataset_results import LintPanel, RejectedPanel, StatsPanel
from slakh_gui.gui.error_dialog import user_message
from slakh_gui.gui.job_runner import Job, JobRunner
from slakh_gui.gui.widgets import MessageBar

DEFAULT_SIZE = (1180, 820)  # shrunk to fit smaller screens; the Build tab scrolls below its natural height


def _read_manifest(out: Path) -> dict | None:
    """Worker side: the manifest of ``out`` (None if it has none); DatasetError if it is unreadable."""
    return load_manifest(out) if out.is_dir() else None


def _is_dataset_folder(path: Path) -> bool:
    from slakh_gui.core.constants import SPLITS_WITH_OMITTED
    from slakh_gui.core.walk import track_dirs

    return (path / MANIFEST).is_file() or any((path / s).is_dir() for s in SPLITS_WITH_OMITTED) or bool(
        track_dirs(path))


class DatasetDialog(QDialog):
    """Build a Slakh2100-layout dataset from a MIDI folder; inspect its lint findings and statistics."""

    runFinished = Signal(object)  # DatasetResult, or None when cancelled or failed
    manifestLoaded = Signal(object)  # the output folder's manifest (None when it has none)
    logged = Signal(str)  # a failed song, from the build thread
    openTrackRequested = Signal(Path, str)  # track folder, stem key ("" for none)

    def __init__(self, parent: QWidget | None = None, settings: QSettings | None = None, confirm_on_close: bool = True,
                 runner: JobRunner | None = None):
        super().__init__(parent)
        self.settings = settings if settings is not None else QSettings()
        self.confirm_on_close = confirm_on_close
        self.setWindowTitle("Build Dataset — Slakh Studio")
        self.setAccessibleName("Dataset dialog")
        self.setAcceptDrops(True)
        self.setWindowFlag(Qt.WindowType.WindowMaximizeButtonHint, True)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(4)  # the build, lint, statistics, a short read
        self.build_runner = JobRunner(self, pool=self.pool)  # the long jobs, on the dialog's own pool
        self.runner = runner if runner is not None else self.build_runner  # short reads
        self.run_job: Job | None = None
        self.manifest: dict | None = None
        self.last_result: DatasetResult | None = None
        self._close_when_done = False
        self._result: DatasetResult | None = None
        self._build_ui()
        self.manifest_timer = QTimer(self, singleShot=True, interval=400)
        self.manifest_timer.timeout.connect(self.check_output)
        self.form.edited.connect(self._validate)
        self.form.outputEdited.connect(self._validate)
        self.form.outputEdited.connect(self.manifest_timer.start)
        self.logged.connect(self.run_box.add_failure)
        self.form.restore(self.settings)
        self._validate()
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)
        if parent is not None:
            parent.installEventFilter(self)

    @property
    def _pending(self) -> Progress | None:
        """The build's latest progress report, not painted yet."""
        return self.run_box.pending

    # ------------------------------------------------------------------------------------------ layout
    def _build_ui(self) -> None:
        lay = QVBoxLayout(self)
        self.message = MessageBar()
        self.message.label.setAccessibleName("Dataset message")
        lay.addWidget(self.message)
        self.tabs = QTabWidget()
        self.tabs.setAccessibleName("Dataset tabs")
        self.tabs.addTab(self._build_tab(), "&Build")
        self.lint_panel = LintPanel(self.build_runner)
        self.lint_panel.openTrackRequested.connect(self.openTrackRequested)
        self.lint_panel.lintLoaded.connect(lambda n: self._count_in_tab(self.lint_panel, "&Lint", n))
        self.tabs.addTab(self.lint_panel, "&Lint")
        self.stats_panel = StatsPanel(self.build_runner, self.settings)
        self.tabs.addTab(self.stats_panel, "&Statistics")
        self.rejected_panel = RejectedPanel(self.runner)
        self.rejected_panel.reportLoaded.connect(lambda n: self._count_in_tab(self.rejected_panel, "Re&jected", n))
        self.tabs.addTab(self.rejected_panel, "Re&jected")
        for panel in (self.lint_panel, self.stats_panel, self.rejected_panel):
            panel.message.connect(self.message.show_message)
        self.tabs.currentChanged.connect(self._tab_changed)
        lay.addWidget(self.tabs, 1)
        self._fit_to_screen()

    def _build_tab(self) -> QWidget:
        """The form and the run, in a scroll area: on a small screen it scrolls instead of squeezing."""
        self.form = form = OptionsForm()
        self.run_box = box = BuildProgress()
        box.start_button.clicked.connect(self.start)
        box.cancel_button.clicked.connect(self.cancel)
        box.open_folder_button.clicked.connect(
            lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(form.out_edit.text())))
        # the parts' widgets under the names the dialog always had
        self.midi_edit, self.out_edit, self.bank_edit, self.resume_label = (form.midi_edit, form.out_edit,
                                                                            form.bank_edit, form.resume_label)
        self.count_spin, self.seed_spin, self.min_notes_spin = form.count_spin, form.seed_spin, form.min_notes_spin
        self.band_edit, self.family_actions = form.band_edit, form.family_actions
        self.split_edit, self.split_hint = form.split_edit, form.split_hint
        self.local_radio, self.dask_radio, self.workers_spin = form.local_radio, form.dask_radio, form.workers_spin
        self.scheduler_edit, self.threads_spin = form.scheduler_edit, form.threads_spin
        self.start_button, self.cancel_button, self.problem_label = (box.start_button, box.cancel_button,
                                                                     box.problem_label)
        self.stage_label, self.progress, self.time_label = box.stage_label, box.progress, box.time_label
        self.summary_label, self.fail_label, self.fail_list = box.summary_label, box.fail_label, box.fail_list
        w = QWidget()
        v = QVBoxLayout(w)
        v.addWidget(form)
        v.addWidget(box, 1)
        scroll = QScrollArea()
        scroll.setAccessibleName("Build form")
        scroll.setWidget(w)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.build_scroll = scroll
        return scroll

    def _fit_to_screen(self) -> None:
        """The default size, shrunk to the available screen (a 1280x720 laptop, a 1024x640 window)."""
        w, h = DEFAULT_SIZE
        screen = self.parentWidget().screen() if self.parentWidget() is not None else QGuiApplication.primaryScreen()
        if screen is not None:
            avail = screen.availableGeometry()
            w, h = min(w, avail.width() - 40), min(h, avail.height() - 60)
        self.resize(max(w, 640), max(h, 480))

    # ------------------------------------------------------------------------------------------ options
    def options(self) -> DatasetOptions:
        """The dataset options the form describes; :class:`DatasetError` (one line) when it describes none."""
        return self.form.options()

    def problems(self) -> list[str]:
        """What keeps Start from running, first problem first (empty: ready)."""
        return self.form.problems()

    def _validate(self) -> bool:
        self.form.refresh(len(self.manifest["tracks"]) if self.manifest else 0)
        problems = self.form.problems()
        running = self.running()
        m = self.manifest
        self.run_box.show_state(problems, running, resumable=bool(m) and any(t["status"] != "done"
                                                                             for t in m["tracks"]))
        if not running and self.manifest is None:
            self.run_box.show_idle(None, bool(self.midi_edit.text().strip()))
        return not problems

    # ------------------------------------------------------------------------------------------ folders
    def open_dataset(self, path: Path) -> None:
        """Show a dataset folder: a Slakh Studio dataset fills the form (resume) and lists its rejected MIDI files,
        and any Slakh-layout folder gets its lint report and statistics."""
        path = Path(path)
        if (path / MANIFEST).is_file() or not path.exists():
            self.out_edit.setText(str(path))
            self.check_output()
        else:
            self.stats_panel.set_folder(path)
            self.lint_panel.set_root(path)
            self.rejected_panel.set_folder(path)
            self.tabs.setCurrentWidget(self.stats_panel)

    def check_output(self) -> Job | None:
        """Read the output folder's manifest in the background (resume state, options); a newer read replaces
        one under way."""
        self.manifest_timer.stop()
        text = self.out_edit.text().strip()
        if not text or self.running():
            return None
        out = Path(text).expanduser()
        return self.runner.start(_read_manifest, out, hooks=False, slot=self._slot("manifest"),
                                 on_result=lambda m: self._manifest_ready(out, m),
                                 on_error=lambda exc: self._manifest_ready(out, None, str(exc)))

    def _slot(self, name: str) -> str:
        """The dialog's slot ``name`` on a runner it may share with the window."""
        return f"dataset-{id(self):x}/{name}"

    def _manifest_ready(self, out: Path, manifest: dict | None, error: str = "") -> None:
        if self.form.out_dir() != out:
            return  # the user typed on
        self.manifest = manifest
        if error:
            self.resume_label.setText(f"<span style='color:#ff8a7a'>{error}</span>")
        elif manifest is None:
            busy = out.is_dir() and any(out.iterdir())
            self.resume_label.setText("Not empty and no dataset.yaml: choose an empty folder." if busy
                                      else "New dataset.")
            self.lint_panel.set_root(None)
            self.rejected_panel.set_folder(None)
        else:
            tracks = manifest["tracks"]
            done = sum(t["status"] == "done" for t in tracks)
            failed = sum(t["status"] == "failed" for t in tracks)
            extra = f", {failed} failed before (retried)" if failed else ""
            state = "complete" if done == len(tracks) else "resume"
            self.resume_label.setText(f"<b>{state}: {done} of {len(tracks)} tracks done</b>{extra} · options "
                                      f"below are the dataset's (bank {manifest['bank'].get('name', '?')})")
            self.form.apply_manifest(manifest, out, self.settings)
            self.lint_panel.set_root(out)
            self.stats_panel.set_folder(out)
            self.rejected_panel.set_folder(out)
        self.run_box.show_idle(self.manifest, bool(self.midi_edit.text().strip()))
        self._validate()
        self.manifestLoaded.emit(manifest)

    # ------------------------------------------------------------------------------------------ run
    def running(self) -> bool:
        return self.run_job is not None

    def start(self) -> Job | None:
        """Start (or resume) the build; None, with the reason in the message bar, when the form is not ready."""
        if self.running():
            return None
        problems = self.form.problems()
        if problems:
            self.show_error(f"Cannot start: {problems[0]}.")
            self._validate()
            return None
        self.run_job = job = self.build_runner.start(
            run_dataset, self.form.midi_dir(), self.form.out_dir(), self.form.options(), **self.form.runner_options(),
            log=self.logged.emit, slot="build", on_progress=self.run_box.on_progress, on_result=self._run_done,
            on_error=self._run_failed, on_finished=self._run_finished)
        self._result = None
        self.message.hide()
        self.run_box.begin(job)
        self.form.set_locked(True)
        self.form.save(self.settings)
        self._validate()
        return job

    def cancel(self) -> None:
        if self.run_job is not None:
            self.run_job.cancel()
            self.run_box.cancelling()

    def _run_done(self, result: DatasetResult) -> None:
        self._result = self.last_result = result
        self.manifest = result.manifest
        self.run_box.show_result(result)
        total = len(result.manifest["tracks"])
        done = sum(result.counts.values())
        self.resume_label.setText(f"<b>{'complete' if done == total else 'resume'}: {done} of {total} tracks "
                                  "done</b>")
        self.lint_panel.set_root(result.out)
        self.stats_panel.set_folder(result.out)
        self.rejected_panel.set_folder(result.out)
        if result.lint:
            self._count_in_tab(self.lint_panel, "&Lint", len(result.lint))

    def _run_failed(self, exc: Exception) -> None:
        self.show_error(f"Dataset build failed: {user_message(exc)}")  # a bug says what it was
        self.message.label.setToolTip(getattr(exc, "traceback_text", ""))

    def _run_finished(self) -> None:
        job, self.run_job = self.run_job, None
        result, self._result = self._result, None
        self.run_box.finish(result, cancelled=job is not None and job.token.cancelled)
        self.form.set_locked(False)
        if result is None:
            # until the manifest read below says how far the folder got
            self.run_box.show_idle(self.manifest, bool(self.midi_edit.text().strip()))
            self.check_output()
        self._validate()
        self.runFinished.emit(result)
        if self._close_when_done:
            self._close_when_done = False
            self.close()

    # ------------------------------------------------------------------------------------------ results
    def _count_in_tab(self, panel: QWidget, title: str, n: int) -> None:
        """A result tab's title with its count of rows (none for 0 or an unknown count)."""
        self.tabs.setTabText(self.tabs.indexOf(panel), f"{title} ({n})" if n > 0 else title)

    def _tab_changed(self, index: int) -> None:
        if self.tabs.widget(index) is self.stats_panel and self.stats_panel.stale():
            self.stats_panel.compute()

    def show_error(self, text: str) -> None:
        self.message.show_message(text, error=True)

    # ------------------------------------------------------------------------------------------ drag and drop
    def dragEnterEvent(self, event) -> None:  # Qt override
        if dropped_folder(event) is not None:
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # Qt override
        folder = dropped_folder(event)
        if folder is None:
            return
        event.acceptProposedAction()
        if _is_dataset_folder(folder):
            self.open_dataset(folder)
        else:
            self.midi_edit.setText(str(folder))

    # ------------------------------------------------------------------------------------------ closing
    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # Qt override
        """Closing the window the dialog belongs to stops a running build first (asking, unless told not to)."""
        if obj is self.parent() and event.type() == QEvent.Type.Close and self.running():
            if self.confirm_on_close and not self._confirm_stop():
                event.ignore()
                return True
            self.shutdown()
        return super().eventFilter(obj, event)

    def _confirm_stop(self) -> bool:
        answer = QMessageBox.question(
            self, "A dataset is being built",
            "Stop the build? The tracks done so far are kept; Start with the same options resumes it.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def shutdown(self, timeout_ms: int = 15000) -> None:
        """Cancel every job of the dialog and wait for them (the app is quitting)."""
        if self.run_job is not None:
            self.run_job.cancel()
        for panel in (self.lint_panel, self.stats_panel, self.rejected_panel):
            panel.cancel_jobs()
        self.runner.cancel(self._slot("manifest"))
        self.build_runner.wait(timeout_ms)

    def reject(self) -> None:  # Esc: close, with the same questions
        self.close()

    def closeEvent(self, event: QCloseEvent) -> None:  # Qt override
        if self.running():
            if self.confirm_on_close and not self._confirm_stop():
                event.ignore()
                return
            self._close_when_done = True
            self.cancel()
            event.ignore()  # closes when the build has stopped
            return
        self.stats_panel.cancel_jobs()
        self.form.save(self.settings)
        event.accept()
