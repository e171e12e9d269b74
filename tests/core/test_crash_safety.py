"""Crash safety: SIGKILL in the middle of a save, and a full disk, leave the previous file or nothing.

Each kill test runs a child process that saves the same file over and over, alternating two versions, and kills it
at a spread of moments; afterwards the file must load and be exactly one of the two versions (never truncated).
The full-disk tests write into a small tmpfs (needs root, as this project's CI runs; skipped otherwise).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml

from slakh_gui.core.bank import patches
from slakh_gui.core.studio import session
from tests.conftest import DATA, REPO, make_song

KILLS = 6

SAVERS = {
    "bank": """
        from slakh_gui.core.bank import bank_edit, patches
        bank = patches.load_bank(SRC)
        versions = []
        for name in ("version-a", "version-b"):
            bank.name = name
            versions.append(bank_edit.bank_to_yaml(bank))
        while True:
            for text in versions:
                bank.name = "version-a" if "version-a" in text[:400] else "version-b"
                bank_edit.save_bank(bank, TARGET)
        """,
    "session": """
        from pathlib import Path
        from slakh_gui.core.studio import session
        while True:
            for seed in (1, 2):
                session.save_session(session.Session(song=Path(SRC), seed=seed, mixer={"x": [0.5] * 5000}), TARGET)
        """,
    "checkpoint": """
        import torch
        from slakh_gui.separation.model import torch_save_atomic
        while True:
            for v in (1.0, 2.0):
                torch_save_atomic({"epoch": int(v), "weights": torch.full((400_000,), v)}, TARGET)
        """,
}


def _kill_while_saving(kind: str, src: Path, target: Path, check) -> None:
    code = "import sys\nSRC, TARGET = sys.argv[1], sys.argv[2]\n" + textwrap.dedent(SAVERS[kind])
    for i in range(KILLS):
        proc = subprocess.Popen([sys.executable, "-c", code, str(src), str(target)], cwd=REPO,
                                stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while not target.exists() and time.monotonic() < deadline:
            assert proc.poll() is None, proc.stderr.read().decode()
            time.sleep(0.01)
        time.sleep(0.05 + 0.037 * i)  # a spread of moments, inside or between writes
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        check(target)
    leftovers = [p.name for p in target.parent.iterdir() if p.name.startswith(f".{target.name}.")]
    assert all(n.endswith(".part") for n in leftovers)  # only hidden temp files, never the real name


def test_sigkill_during_bank_save(tmp_path):
    def check(target: Path) -> None:
        bank = patches.load_bank(target)
        assert bank.name in ("version-a", "version-b") and len(bank.patches) > 100

    _kill_while_saving("bank", REPO / "patches" / "default.yaml", tmp_path / "bank.yaml", check)


def test_sigkill_during_session_save(tmp_path):
    song = make_song(tmp_path / "song.mid", seconds=2)

    def check(target: Path) -> None:
        s = session.load_session(target)
        assert s.seed in (1, 2) and len(s.mixer["x"]) == 5000

    _kill_while_saving("session", song, tmp_path / "s.json", check)


def test_sigkill_during_model_checkpoint(tmp_path):
    torch = pytest.importorskip("torch")

    def check(target: Path) -> None:
        ckpt = torch.load(target, weights_only=True)
        assert ckpt["epoch"] in (1, 2) and float(ckpt["weights"].min()) == float(ckpt["weights"].max()) == ckpt["epoch"]

    _kill_while_saving("checkpoint", tmp_path, tmp_path / "checkpoint.pt", check)


def test_sigkill_during_render_leaves_no_track(tmp_path):
    song = make_song(tmp_path / "song.mid", seconds=30)
    out = tmp_path / "out" / "Track00001"
    cmd = [sys.executable, "-m", "slakh_gui", "render", str(song), "-o", str(out), "--bank",
           str(DATA / "small_bank.yaml")]
    for delay in (0.8, 1.6, 2.4):
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if out.exists():  # the kill came after the final rename: then the track is whole
            assert yaml.safe_load((out / "metadata.yaml").read_text())["UUID"]
            shutil.rmtree(out)
    leftovers = list((tmp_path / "out").glob(".Track00001.partial-*")) if (tmp_path / "out").exists() else []
    # A killed render may leave its hidden staging folder; the next render of that track removes it.
    subprocess.run(cmd, cwd=REPO, check=True, capture_output=True)
    assert (out / "mix.flac").exists() and not any(p.exists() for p in leftovers)


# ---------------------------------------------------------------------------------------------- full disk


@pytest.fixture
def small_disk(tmp_path):
    """A 3 MiB tmpfs: room for a bank or a session, not for a rendered track."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a tmpfs needs root")
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mnt)], capture_output=True)
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {res.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def _fill(disk: Path, leave: int) -> None:
    """Fill ``disk`` until only about ``leave`` bytes are free."""
    free = shutil.disk_usage(disk).free - leave
    if free > 0:
        (disk / "filler").write_bytes(b"\0" * free)


def test_full_disk_render_is_one_clear_error_and_leaves_nothing(small_disk, tmp_path, capsys):
    from tests.cli.helpers import one_line_error, run

    song = make_song(tmp_path / "song.mid", seconds=30)
    code, _, err = run(["render", song, "-o", small_disk / "Track00001", "--bank", DATA / "small_bank.yaml"],
                       capsys)
    assert code == 1 and "No space left on device" in one_line_error(err)
    assert sorted(p.name for p in small_disk.iterdir()) == []  # no track, no staging folder, no temp file


def test_full_disk_bank_and_session_saves_keep_the_previous_file(small_disk, tmp_path):
    from slakh_gui.core.bank import bank_edit

    bank = patches.load_bank(REPO / "patches" / "default.yaml")
    target = small_disk / "bank.yaml"
    bank_edit.save_bank(bank, target)
    before = target.read_bytes()
    song = make_song(tmp_path / "song.mid", seconds=2)
    s_path = small_disk / "s.json"
    session.save_session(session.Session(song=song, seed=1), s_path)
    s_before = s_path.read_bytes()
    _fill(small_disk, 1000)
    bank.name = "changed"
    with pytest.raises(OSError, match="No space left"):
        bank_edit.save_bank(bank, target)
    assert target.read_bytes() == before
    with pytest.raises(session.SessionError, match="No space left"):
        session.save_session(session.Session(song=song, seed=2, mixer={"x": [0.5] * 5000}), s_path)
    assert s_path.read_bytes() == s_before
    assert not [p for p in small_disk.iterdir() if p.name.endswith(".part")]


def test_full_disk_stops_a_dataset_run_cleanly_and_it_resumes(small_disk, tmp_path):
    from slakh_gui.core.dataset.builder import DatasetError, DatasetOptions, load_manifest, run_dataset
    from slakh_gui.core.midi import corpus

    midi = tmp_path / "midi"
    corpus.generate_corpus(midi, 3, seed=4, min_duration=20, max_duration=24)
    out = small_disk / "ds"
    opts = DatasetOptions(bank=DATA / "small_bank.yaml", seed=1, min_notes=10, split=(1.0, 1.0, 1.0))
    with pytest.raises(DatasetError, match="No space left"):
        run_dataset(midi, out, opts, workers=1)
    m = load_manifest(out)
    assert m is not None and all(t["status"] in ("pending", "done") for t in m["tracks"])
    assert not list(out.rglob(".Track*"))  # no staging folder left behind
    # Move it to a roomy disk and resume: it finishes.
    shutil.copytree(out, tmp_path / "ds", symlinks=True)
    result = run_dataset(midi, tmp_path / "ds", opts, workers=1)
    assert not result.failed and sum(result.counts.values()) == 3


def test_full_disk_under_a_float_file_is_an_oserror_not_a_crash(small_disk):
    """Float scratch files are written with pwrite (diskaudio.FrameWriter): a disk that fills up mid-render gives
    ENOSPC. The same bytes written through a mapping of a sparse file kill the process with SIGBUS."""
    import errno

    import numpy as np

    from slakh_gui.core import diskaudio

    n = 1 << 20  # 8 MiB of stereo float32 on a 3 MiB disk
    block = np.ones((1 << 16, 2), np.float32)
    w = diskaudio.FrameWriter(small_disk / "stem.npy", n, 2)
    with pytest.raises(OSError) as err:
        for s in range(0, n, len(block)):
            w.write(s, block)
    assert err.value.errno == errno.ENOSPC
    w.close()
    (small_disk / "stem.npy").unlink()
    mapped = ("import numpy as np\nfrom slakh_gui.core import diskaudio\n"
              f"a = diskaudio.create({str(small_disk / 'mapped.npy')!r}, {n}, 2)\na[:] = 1.0\n")
    proc = subprocess.run([sys.executable, "-c", mapped], cwd=REPO, capture_output=True)
    assert proc.returncode == -signal.SIGBUS
