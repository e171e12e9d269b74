"""Running the CLI in-process and checking its one-line errors."""

from __future__ import annotations

from slakh_gui.cli import main


def run(args, capsys):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("slakh-studio: error: "), err
    assert "Traceback" not in err
    return lines[0]
