"""Live validation of the bank being edited: the in-memory bank is written to a temporary file (the bytes Save would
write) and checked by :func:`slakh_gui.core.bank.bank_validate.validate_bank` in the background, 250 ms after the last
edit; the newest check wins. A slower check also renders every patch, on demand.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QBrush
from PySide6.QtWidgets import (
    QHBoxLayout,
    QPushButton,
    QStyle,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from slakh_gui.core.bank.bank_tools import effect_key_label, snapshot, validate_in_memory
from slakh_gui.core.jobs import Progress
from slakh_gui.gui.job_runner import Job, JobRunner
from slakh_gui.gui.patches.document import BankDocument
from slakh_gui.gui.patches.widget_helpers import ERROR_FG, WARNING_FG, eliding_label


def summary(findings: list) -> str:
    """"1 error, 2 warnings" or "No findings"."""
    errors = sum(1 for f in findings if f.severity == "error")
    warnings = len(findings) - errors
    if not findings:
        return "No findings"
    return f"{errors} error{'s' if errors != 1 else ''}, {warnings} warning{'s' if warnings != 1 else ''}"


class ValidationPanel(QWidget):
    """The findings of the bank as it is now (line, key, message), kept current while it is edited."""

    validated = Signal(object)  # list[Finding], for the bank of doc.generation == checked_generation
    keyActivated = Signal(str)  # a finding was activated: its key ("classes/Bass/programs")

    def __init__(self, doc: BankDocument, runner: JobRunner, extra_dirs: Callable[[], list[str]],
                 slot_prefix: str = "patches/", parent: QWidget | None = None):
        super().__init__(parent)
        self.doc, self.runner, self.extra_dirs = doc, runner, extra_dirs
        self.slot, self.render_slot = slot_prefix + "validate", slot_prefix + "render-check"
        self.findings: list = []
        self.checked_generation = -1
        self._render_job: Job | None = None
        v = QVBoxLayout(self)
        v.setContentsMargins(4, 4, 4, 4)
        row = QHBoxLayout()
        self.findings_label = eliding_label("Not checked yet", "Validation summary")
        self.render_check_button = QPushButton("Render check")
        self.render_check_button.setAccessibleName("Validate the bank, rendering every patch (slow)")
        self.render_check_button.setToolTip("Validate the bank, rendering every patch (slow)")
        self.render_check_button.clicked.connect(self._render_check_clicked)
        row.addWidget(self.findings_label, 1)
        row.addWidget(self.render_check_button)
        v.addLayout(row)
        self.findings_list = QTreeWidget()
        self.findings_list.setAccessibleName("Validation findings")
        self.findings_list.setHeaderLabels(["", "Line", "Where", "Message"])
        self.findings_list.setRootIsDecorated(False)
        self.findings_list.setAlternatingRowColors(True)
        self.findings_list.setWordWrap(True)
        for col, width in enumerate((28, 48, 170)):
            self.findings_list.header().resizeSection(col, width)
        self.findings_list.itemActivated.connect(
            lambda item, _col: self.keyActivated.emit(str(item.data(0, Qt.ItemDataRole.UserRole) or "")))
        v.addWidget(self.findings_list, 1)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(250)
        self.timer.timeout.connect(self.validate_now)
        doc.changed.connect(self._doc_changed)
        doc.replaced.connect(self.validate_now)

    def _doc_changed(self, _note: str) -> None:
        self.timer.start()  # check 250 ms after the last edit

    def dirs(self) -> list[Path]:
        return [Path(d) for d in self.extra_dirs()]

    # -------------------------------------------------------------------------------------------- static check
    def validate_now(self) -> Job | None:
        """Static validation (no renders) of the bank as it is now; a newer one replaces a running one."""
        self.timer.stop()
        if self.doc.bank is None:
            return None
        self.findings_label.setText("Checking …")
        generation = self.doc.generation
        return self.runner.start(validate_in_memory, snapshot(self.doc.bank), self.dirs(), False,
                                 on_result=lambda findings: self._validated(generation, findings),
                                 on_error=lambda exc: self._failed(generation, exc), slot=self.slot)

    def validation_current(self) -> bool:
        """The findings shown are those of the bank as it is now."""
        return (self.checked_generation >= self.doc.generation and not self.runner.running(self.slot)
                and not self.timer.isActive())

    def _validated(self, generation: int, findings: list) -> None:
        if generation < self.doc.generation:
            return  # stale: a newer check follows
        self.checked_generation = generation
        self.show_findings(findings)

    def _failed(self, generation: int, exc: Exception) -> None:
        self.checked_generation = max(self.checked_generation, generation)
        self.findings_label.setText(f"Validation failed: {exc}")

    def show_findings(self, findings: list) -> None:
        self.findings = list(findings)
        self.findings_list.clear()
        style = self.style()
        icons = {"error": style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxCritical),
                 "warning": style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)}
        for f in findings:
            where = effect_key_label(f.key, self.doc.bank)
            item = QTreeWidgetItem(["", str(f.line or ""), where, f.message])
            item.setIcon(0, icons["error" if f.severity == "error" else "warning"])
            item.setToolTip(0, f.severity)
            item.setToolTip(2, f.key)
            item.setToolTip(3, f.message)
            item.setForeground(3, QBrush(ERROR_FG if f.severity == "error" else WARNING_FG))
            item.setData(0, Qt.ItemDataRole.UserRole, f.key)
            self.findings_list.addTopLevelItem(item)
        self.findings_label.setText(summary(findings))
        self.findings_label.setToolTip(summary(findings))
        self.validated.emit(self.findings)

    # -------------------------------------------------------------------------------------------- render check
    def validate_with_render(self) -> Job | None:
        """Validate and render every patch (slow; the button cancels it)."""
        if self.doc.bank is None or self._render_job is not None:
            return None
        generation = self.doc.generation
        self.render_check_button.setText("Cancel")
        self.findings_label.setText("Rendering every patch …")
        self._render_job = self.runner.start(
            validate_in_memory, snapshot(self.doc.bank), self.dirs(), True,
            on_result=lambda findings: self._render_validated(generation, findings),
            on_progress=self._render_progress, on_cancelled=lambda: self.findings_label.setText("Render check cancelled"),
            on_error=lambda exc: self.findings_label.setText(f"Render check failed: {exc}"),
            on_finished=self._render_finished, slot=self.render_slot)
        return self._render_job

    def _render_check_clicked(self) -> None:
        if self._render_job is not None:
            self._render_job.cancel()
            self.findings_label.setText("Render check cancelled")
        else:
            self.validate_with_render()

    def _render_progress(self, p: Progress) -> None:
        self.findings_label.setText(f"Rendering patch {int(p.done)} of {int(p.total)} …")

    def _render_finished(self) -> None:
        self._render_job = None
        self.render_check_button.setText("Render check")

    def _render_validated(self, generation: int, findings: list) -> None:
        if generation < self.doc.generation:
            self.findings_label.setText("The bank changed during the render check: run it again")
            return
        self.show_findings(findings)
        self.findings_label.setText(self.findings_label.text() + " (with render check)")
