"""Help ▸ Diagnostics: the report is gathered in the background, shown, and copied whole."""

from __future__ import annotations

from PySide6.QtGui import QGuiApplication

from slakh_gui import logs


def test_diagnostics_dialog_shows_and_copies_the_report(window, qtbot):
    action = next(a for a in window.menuBar().actions() if a.text() == "&Help").menu().actions()
    assert any(a.text() == "&Diagnostics…" for a in action)
    dlg = window.show_diagnostics()
    qtbot.waitUntil(lambda: dlg.copy_button.isEnabled(), timeout=30_000)
    text = dlg.text.toPlainText()
    assert text.startswith("Slakh Studio ") and "FluidSynth: 2." in text and "FluidR3_GM.sf2" in text
    assert "Audio (PortAudio" in text and "  default:" in text  # the null ALSA device of the test session
    assert str(logs.log_path()) in text
    dlg.copy()
    assert QGuiApplication.clipboard().text() == text
    dlg.close()
