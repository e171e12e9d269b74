"""``slakh-studio diagnostics``, the log file, ``--verbose`` and internal errors."""

from __future__ import annotations

import json
import os
from pathlib import Path

from slakh_gui import logs
from tests.cli.helpers import run


def test_diagnostics_lists_versions_soundfonts_devices_and_paths(capsys):
    code, text, _ = run(["diagnostics", "--json"], capsys)
    info = json.loads(text)
    assert code == 0 and info["slakh_studio"] and info["fluidsynth"][0].isdigit()
    assert any(p.endswith("FluidR3_GM.sf2") for p in info["soundfonts"])
    assert info["paths"]["log_file"] == str(logs.log_path())
    # The test session points ALSA at a null device: PortAudio (asked in a child process) lists it.
    assert [d["name"] for d in info["audio"]["devices"]] == ["default"]
    code, text, _ = run(["diagnostics", "--no-audio"], capsys)
    assert code == 0 and "SoundFonts found" in text and "Audio" not in text


def test_broken_alsa_config_is_reported_not_fatal(tmp_path, monkeypatch, capsys):
    """An empty ALSA config makes PortAudio abort its process: the child dies, diagnostics says so."""
    empty = tmp_path / "empty.conf"
    empty.write_text("")
    monkeypatch.setenv("ALSA_CONFIG_PATH", str(empty))
    code, text, _ = run(["diagnostics", "--json"], capsys)
    assert code == 0 and "PortAudio failed" in json.loads(text)["audio"]["error"]


def test_log_file_records_commands_and_errors(tmp_path, capsys):
    log = logs.log_path()
    assert Path(os.environ["SLAKH_STUDIO_LOG_DIR"]) in log.parents
    code, _, err = run(["info", tmp_path / "missing.mid"], capsys)
    assert code == 1 and "Traceback" not in err
    text = log.read_text()
    assert f"info {tmp_path / 'missing.mid'}" in text and "error:" in text


def test_internal_error_is_one_line_with_the_traceback_in_the_log(monkeypatch, capsys):
    import slakh_gui.cli as cli

    def broken(args):
        raise KeyError("stems")  # stands for a bug anywhere below a command

    monkeypatch.setattr(cli, "cmd_info", broken)
    code, _, err = run(["info", "x.mid"], capsys)
    assert code == cli.EXIT_INTERNAL and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "internal error: KeyError: 'stems'" in err and str(logs.log_path()) in err
    assert "Traceback" in logs.log_path().read_text() and "broken" in logs.log_path().read_text()
