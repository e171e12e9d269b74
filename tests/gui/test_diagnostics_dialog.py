"""Help ▸ Diagnostics: the report is gathered in the background, shown, and copied whole."""

from __future__ import annotations

from PySide6.QtGui import QGuiApplication

from slakh_gui import logs


def test_diagnostics_dialog_shows_and_copies_the_report(window, qtbot):
    action = next(a for a in window.menuBar().actions() if a.text() == "&Help").menu().actions()
    next(a for a in action if a.text() == "&Diagnostics…").trigger()  # what the menu does
    dlg = window._diagnostics
    qtbot.waitUntil(lambda: dlg.copy_button.isEnabled(), timeout=30_000)
    text = dlg.text.toPlainText()
    assert text.startswith("Slakh Studio ") and "FluidSynth: 2." in text and "FluidR3_GM.sf2" in text
    assert "Audio (PortAudio" in text and "  default:" in text  # the null ALSA device of the test session
    assert str(logs.log_path()) in text
    dlg.copy()
    assert QGuiApplication.clipboard().text() == text
    dlg.close()


def test_diagnostics_run_on_the_runner_given_and_fit_a_laptop(qtbot):
    from PySide6.QtWidgets import QApplication

    from slakh_gui.gui.diagnostics_dialog import DiagnosticsDialog
    from slakh_gui.gui.job_runner import JobRunner
    from tests.gui.layout_checks import assert_no_overlap

    runner = JobRunner()
    dlg = DiagnosticsDialog(runner=runner)
    qtbot.addWidget(dlg)
    assert dlg.runner is runner and dlg.job in runner.jobs
    dlg.show()
    qtbot.waitUntil(lambda: dlg.copy_button.isEnabled(), timeout=30_000)
    assert dlg.text.toPlainText().startswith("Slakh Studio ")
    QApplication.processEvents()
    assert dlg.width() <= 1024 and dlg.height() <= 640
    assert_no_overlap(dlg)
    dlg.close()
    runner.wait(10_000)
