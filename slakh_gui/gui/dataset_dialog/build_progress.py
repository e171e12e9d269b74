"""The Dataset dialog's run box: Start, Cancel and Open folder, why Start is disabled, then the build's stage,
progress in tracks, elapsed time and ETA, its result and the songs that failed."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from slakh_gui.core.dataset.builder import DatasetResult
from slakh_gui.core.jobs import Progress
from slakh_gui.gui.job_runner import Job

STAGES = {"scan": "Selecting songs (scanning MIDI files)", "render": "Rendering tracks",
          "index": "Writing the mirdata index and the lint report"}
CHOOSE_MIDI = "Choose a MIDI folder"
NOT_STARTED = "Not started: Start scans the MIDI folder"


def clock(seconds: float) -> str:
    """``m:ss``, or ``h:mm:ss`` from an hour on."""
    seconds = max(0, int(round(seconds)))
    h, rest = divmod(seconds, 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}" if h else f"{rest // 60}:{rest % 60:02d}"


class BuildProgress(QGroupBox):
    """The "Run" group. The dialog wires the buttons and calls :meth:`begin`, :meth:`cancelling`,
    :meth:`show_result` and :meth:`finish` around a build; between builds :meth:`show_idle` says how far the output
    folder is. Progress reports (maybe thousands a second while scanning) are painted on a 200-ms timer."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Run", parent)
        self.job: Job | None = None  # the build under way
        self.pending: Progress | None = None  # its latest report, not painted yet
        self.failures: dict[str, str] = {}  # track: reason, of the build under way
        self._t_start = 0.0
        self._render_base: tuple[float, int] | None = None  # (time, tracks done) of the first render report
        self._build()
        self.timer = QTimer(self, interval=200)
        self.timer.timeout.connect(self._tick)

    def _build(self) -> None:
        v = QVBoxLayout(self)
        buttons = QHBoxLayout()
        self.start_button = QPushButton("&Start")
        self.start_button.setAccessibleName("Start or resume the dataset build")
        self.start_button.setStyleSheet("font-weight: bold; padding: 6px 18px;")
        self.start_button.setShortcut(QKeySequence("Ctrl+Return"))
        self.cancel_button = QPushButton("&Cancel")
        self.cancel_button.setAccessibleName("Cancel the build (it can be resumed)")
        self.cancel_button.setEnabled(False)
        self.open_folder_button = QPushButton("Open f&older")
        self.open_folder_button.setAccessibleName("Open the output folder in the file manager")
        self.problem_label = QLabel("")
        self.problem_label.setAccessibleName("Why Start is disabled")
        self.problem_label.setStyleSheet("color: #ff8a7a;")
        self.problem_label.setWordWrap(True)
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.open_folder_button)
        buttons.addWidget(self.problem_label, 1)
        v.addLayout(buttons)
        self.stage_label = QLabel("Idle")
        self.stage_label.setAccessibleName("Current stage")
        self.stage_label.setStyleSheet("font-weight: bold;")
        v.addWidget(self.stage_label)
        self.progress = QProgressBar()
        self.progress.setAccessibleName("Overall progress in tracks")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat(CHOOSE_MIDI)  # no tracks to count yet
        v.addWidget(self.progress)
        self.time_label = QLabel("")
        self.time_label.setAccessibleName("Elapsed time and estimated time left")
        self.time_label.setStyleSheet("font-family: monospace;")
        v.addWidget(self.time_label)
        self.summary_label = QLabel("")
        self.summary_label.setWordWrap(True)
        self.summary_label.setAccessibleName("Result of the build")
        self.summary_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        v.addWidget(self.summary_label)
        self.fail_label = QLabel("Failed songs: none")
        self.fail_label.setAccessibleName("Failed songs count")
        v.addWidget(self.fail_label)
        self.fail_list = QListWidget()
        self.fail_list.setAccessibleName("Failed songs with their reasons")
        self.fail_list.setWordWrap(True)
        self.fail_list.hide()
        v.addWidget(self.fail_list, 1)
        v.addStretch(0)

    # ------------------------------------------------------------------------------------------ between builds
    def show_state(self, problems: list[str], running: bool, resumable: bool) -> None:
        """Start is offered when nothing is wrong and nothing runs (as Resume for a resumable folder)."""
        self.start_button.setEnabled(not problems and not running)
        self.problem_label.setText("" if running or not problems else f"Start: {problems[0]}")
        self.start_button.setText("Re&sume" if resumable else "&Start")

    def show_idle(self, manifest: dict | None, has_midi: bool) -> None:
        """The bar between builds: the output folder's tracks done, or what to do first (never a count of tracks
        that do not exist yet)."""
        if manifest is not None:
            tracks = manifest["tracks"]
            self.progress.setRange(0, max(1, len(tracks)))
            self.progress.setValue(sum(t["status"] == "done" for t in tracks))
            self.progress.setFormat("%v of %m tracks")
        else:
            self.progress.setRange(0, 1)
            self.progress.setValue(0)
            self.progress.setFormat(NOT_STARTED if has_midi else CHOOSE_MIDI)

    # ------------------------------------------------------------------------------------------ a build
    def begin(self, job: Job) -> None:
        """A build started: forget the last one's result and failures, run the clock."""
        self.job = job
        self.failures = {}
        self.fail_list.clear()
        self.fail_list.hide()
        self.fail_label.setText("Failed songs: none")
        self.summary_label.setText("")
        self.pending = None
        self._render_base = None
        self._t_start = time.monotonic()
        self.progress.setRange(0, 0)
        self.stage_label.setText("Starting …")
        self.cancel_button.setEnabled(True)
        self.timer.start()

    def cancelling(self) -> None:
        self.cancel_button.setEnabled(False)
        self.stage_label.setText("Cancelling: stopping the workers …")

    def on_progress(self, p: Progress) -> None:
        self.pending = p

    def _tick(self) -> None:
        now = time.monotonic()
        elapsed = now - self._t_start
        p = self.pending
        eta = ""
        if p is not None and self.job is not None and not self.job.token.cancelled:
            self.stage_label.setText(STAGES.get(p.stage, p.stage) + (f" — {p.item}" if p.item else ""))
            if p.stage == "index":
                self.progress.setRange(0, 0)
            else:
                self.progress.setRange(0, max(1, int(p.total)))
                self.progress.setValue(int(p.done))
                self.progress.setFormat("%v of %m tracks" if p.stage == "render" else "%v of %m MIDI files scanned")
            if p.stage == "render":
                if self._render_base is None:
                    self._render_base = (now, int(p.done))
                t0, d0 = self._render_base
                done_now = int(p.done) - d0
                left = int(p.total) - int(p.done)
                if left <= 0:
                    eta = " · ETA 0:00"
                elif done_now > 0 and now > t0:
                    eta = f" · ETA {clock(left * (now - t0) / done_now)} ({done_now / ((now - t0) / 60):.1f} tracks/min)"
                else:
                    eta = " · ETA: after the first track"
        self.time_label.setText(f"elapsed {clock(elapsed)}{eta}")

    def add_failure(self, line: str) -> None:
        """A failed song, ``"<track>: <reason>"`` (from the build's log)."""
        track, _, reason = line.partition(" ")
        self.failures[track.rstrip(":")] = reason
        self.fail_list.addItem(line)
        self.fail_list.show()
        n = self.fail_list.count()
        self.fail_label.setText(f"Failed songs: {n} (recorded and skipped; a resume retries them)")

    def show_result(self, result: DatasetResult) -> None:
        """What the build made: tracks per split, songs selected and rejected, time, lint findings."""
        c = result.counts
        sel = result.manifest.get("selection", {})
        for track, reason in result.failed.items():
            if track not in self.failures:
                self.add_failure(f"{track}: {reason}")
        rate = result.audio_seconds / 3600 / (result.seconds / 60) if result.seconds > 0 else 0.0
        self.summary_label.setText(
            f"<b>Done: {c['train']} train, {c['validation']} validation, {c['test']} test tracks</b> in "
            f"{result.out} — {len(result.rendered)} rendered now, {len(result.skipped)} already done, "
            f"{len(result.failed)} failed.<br>Songs: {sel.get('scanned', '?')} MIDI files scanned, "
            f"{sel.get('eligible', '?')} pass, {sel.get('selected', '?')} selected, {sel.get('rejected', '?')} "
            f"rejected ({sel.get('duplicates', 0)} of them duplicates: see the Rejected tab).<br>"
            f"Rendered {result.audio_seconds / 60:.1f} min of mixture in {result.seconds:.1f} s ({rate:.3f} h per "
            f"minute) · {len(result.lint)} lint finding{'s' if len(result.lint) != 1 else ''} · mirdata index "
            "index_slakh.json")

    def finish(self, result: DatasetResult | None, cancelled: bool) -> None:
        """The build stopped: its result (None when it was cancelled or failed)."""
        self.job = None
        self.timer.stop()
        self._tick()
        self.cancel_button.setEnabled(False)
        if result is not None:
            total = len(result.manifest["tracks"])
            self.progress.setRange(0, max(1, total))
            self.progress.setValue(sum(result.counts.values()) + len(result.failed))
            self.stage_label.setText("Finished")
        elif cancelled:  # whether or not the build stopped at a check
            self.stage_label.setText("Cancelled — the folder is resumable: Start continues where it stopped")
        else:
            self.stage_label.setText("Failed (see the message above)")
