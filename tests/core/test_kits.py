"""Drum kits that follow the MIDI program (``kit: follow``) and banks that narrow the drum draw by kit (``kits:``).

The renders are compared with the Debian ``fluidsynth`` CLI rendering the track's own ``MIDI/SXX.mid`` on the same
SoundFont. Notes sit on a 0.64 s grid (one beat at 93.75 BPM, 441 ticks a beat): 0.64 s is a whole number of
milliseconds and of 64-sample blocks, so the CLI's player (millisecond clock, events applied at block starts) plays
every note at the same sample offset as the sample-accurate renderer, one block late; the comparison searches that
lag. The CLI runs with ``synth.dynamic-sample-loading=1`` like the renderer: FluidSynth 2.3.1 plays some samples
differently when they are loaded on demand (TimGM6mb's TR-808 snare: 10 dB SI-SDR between the two loading modes).
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pretty_midi
import pytest
import soundfile as sf
import yaml

from slakh_gui import paths
from slakh_gui.core.bank import bank_edit, kits, patches
from slakh_gui.core.bank.bank_validate import validate_bank
from slakh_gui.core.midi import midifile
from slakh_gui.core.render import pipeline
from slakh_gui.separation.metrics import si_sdr

SF2 = Path("/usr/share/sounds/sf2")
BEAT = 0.64  # seconds: 28224 samples = 441 blocks of 64 = 640 ms
PATTERN = [36, 38, 42, 39, 56, 42, 36, 38]  # kick, snare, hat, clap, cowbell: the TR-808's own sounds differ

needs_fonts = pytest.mark.skipif(not (SF2 / "TimGM6mb.sf2").is_file() or not (SF2 / "FluidR3_GM.sf2").is_file(),
                                 reason="TimGM6mb.sf2 / FluidR3_GM.sf2 not installed")
needs_cli = pytest.mark.skipif(shutil.which("fluidsynth") is None, reason="no fluidsynth CLI")


def drum_song(path: Path, kit: int, beats: int = 16) -> Path:
    """A drum track on ``kit`` (its MIDI program) and a piano, every note on the 0.64 s grid."""
    pm = pretty_midi.PrettyMIDI(resolution=441, initial_tempo=93.75)
    drums = pretty_midi.Instrument(kit, is_drum=True, name="Drums")
    piano = pretty_midi.Instrument(0, name="Piano")
    for i in range(beats):
        t = (1 + i) * BEAT
        drums.notes.append(pretty_midi.Note(100, PATTERN[i % len(PATTERN)], t, t + BEAT))
        piano.notes.append(pretty_midi.Note(80, 60 + i % 12, t, t + BEAT))
    pm.instruments += [drums, piano]
    pm.write(str(path))
    return path


def cli_render(mid: Path, soundfont: Path, out: Path) -> np.ndarray:
    """The ``fluidsynth`` CLI's render of a MIDI file, folded to mono (reverb and chorus off, as the stems)."""
    subprocess.run(["fluidsynth", "-ni", "-q", "-R", "0", "-C", "0", "-g", "0.2", "-r", "44100",
                    "-o", "synth.dynamic-sample-loading=1", "-F", str(out), str(soundfont), str(mid)],
                   check=True, capture_output=True, timeout=120)
    audio, rate = sf.read(out, dtype="float64")
    assert rate == 44100
    return audio.mean(axis=1)


def aligned_si_sdr(estimate: np.ndarray, reference: np.ndarray, max_lag: int = 256) -> float:
    """SI-SDR of ``estimate`` against ``reference`` shifted by the lag (within ±max_lag samples) that correlates
    best, and the lags next to it (the CLI starts a block late)."""
    n = min(len(estimate), len(reference))
    c = np.fft.irfft(np.fft.rfft(reference[:n], 2 * n) * np.conj(np.fft.rfft(estimate[:n], 2 * n)))
    peak = int(np.argmax(np.concatenate([c[-max_lag:], c[: max_lag + 1]]))) - max_lag  # > 0: the reference is late
    best = -np.inf
    for lag in range(peak - 2, peak + 3):
        m = n - abs(lag)
        e = estimate[max(0, -lag): max(0, -lag) + m]
        r = reference[max(0, lag): max(0, lag) + m]
        best = max(best, si_sdr(e, r))
    return float(best)


def stem(track: Path, key: str) -> np.ndarray:
    audio, rate = sf.read(track / "stems" / f"{key}.flac", dtype="float64")
    assert rate == 44100
    return audio


def with_program(mid: Path, program: int, out: Path) -> Path:
    pm = pretty_midi.PrettyMIDI(str(mid))
    pm.instruments[0].program = program
    pm.write(str(out))
    return out


SLAKH_BANK = """\
format: slakh-studio-bank/1
name: kit-test
patches:
  fluidr3_gm.standard:
    soundfont: FluidR3_GM.sf2
    bank: 128
    preset: 0
    name: Standard
    kit: follow
  fluidr3_gm.piano:
    soundfont: FluidR3_GM.sf2
    bank: 0
    preset: 0
    name: Yamaha Grand Piano
classes:
  Piano:
    inst_class: Piano
    programs: [0]
    patches: [fluidr3_gm.piano]
  Drums:
    inst_class: Drums
    programs: [128]
    patches: [fluidr3_gm.standard]
"""


# ---------------------------------------------------------------------------------------------- rendering


@needs_fonts
@needs_cli
def test_flakh_tr808_stem_matches_fluidsynth(tmp_path):
    """Flakh mode: the program-25 drum track plays TimGM6mb's TR-808 kit, as fluidsynth plays the track's MIDI."""
    song = midifile.load_song(drum_song(tmp_path / "tr808.mid", 25))
    bank = patches.load_bank(paths.flakh_bank())
    assert bank.patches["timgm6mb.standard"].kit_follows
    result = pipeline.render_track(song, bank, patches.assign_patches(song, bank, 0), tmp_path / "Track",
                                   pipeline.RenderOptions(flakh=True))
    assert result.kit_fallbacks == {}
    meta = yaml.safe_load((result.path / "metadata.yaml").read_text())
    assert "kit_fallbacks" not in meta["slakh_studio"]
    assert meta["stems"]["S00"]["plugin_name"] == "timgm6mb.standard" and meta["stems"]["S00"]["program_num"] == 128
    audio = stem(result.path, "S00")
    mid = result.path / "MIDI" / "S00.mid"
    assert pretty_midi.PrettyMIDI(str(mid)).instruments[0].program == 25
    same = aligned_si_sdr(audio, cli_render(mid, SF2 / "TimGM6mb.sf2", tmp_path / "808.wav"))
    standard = aligned_si_sdr(audio, cli_render(with_program(mid, 0, tmp_path / "std.mid"), SF2 / "TimGM6mb.sf2",
                                                tmp_path / "std.wav"))
    print(f"TimGM6mb TR-808 stem vs fluidsynth CLI: {same:.1f} dB SI-SDR; vs the Standard kit: {standard:.1f} dB")
    assert same > 20.0
    assert standard < 10.0  # the comparison tells the kits apart


@needs_fonts
@needs_cli
def test_slakh_bank_kit_follows(tmp_path):
    """A Slakh-mode bank whose drum patch says ``kit: follow`` renders FluidR3_GM's TR-808 for program 25."""
    bank_path = tmp_path / "bank.yaml"
    bank_path.write_text(SLAKH_BANK)
    bank = patches.load_bank(bank_path)
    song = midifile.load_song(drum_song(tmp_path / "tr808.mid", 25))
    jobs = pipeline._stem_jobs(song, bank, patches.assign_patches(song, bank, 7))
    assert [(j.key, j.bank, j.preset) for j in jobs] == [("S00", 128, 25), ("S01", 0, 0)]
    result = pipeline.render_track(song, bank, patches.assign_patches(song, bank, 7), tmp_path / "Track")
    assert result.kit_fallbacks == {}
    audio = stem(result.path, "S00")
    mid = result.path / "MIDI" / "S00.mid"
    same = aligned_si_sdr(audio, cli_render(mid, SF2 / "FluidR3_GM.sf2", tmp_path / "808.wav"))
    standard = aligned_si_sdr(audio, cli_render(with_program(mid, 0, tmp_path / "std.mid"), SF2 / "FluidR3_GM.sf2",
                                                tmp_path / "std.wav"))
    print(f"FluidR3_GM TR-808 stem vs fluidsynth CLI: {same:.1f} dB SI-SDR; vs the Standard kit: {standard:.1f} dB")
    assert same > 20.0
    assert standard < 10.0


@needs_fonts
@needs_cli
def test_missing_kit_falls_back_to_standard(tmp_path, caplog):
    """TimGM6mb has no kit at program 26: the standard kit plays, with a log warning and a metadata note."""
    assert not kits.has_kit(SF2 / "TimGM6mb.sf2", 26) and kits.has_kit(SF2 / "TimGM6mb.sf2", 0)
    song = midifile.load_song(drum_song(tmp_path / "k26.mid", 26))
    bank = patches.load_bank(paths.flakh_bank())
    with caplog.at_level(logging.WARNING, logger="slakh_gui.core.bank.kits"):
        result = pipeline.render_track(song, bank, patches.assign_patches(song, bank, 0), tmp_path / "Track",
                                       pipeline.RenderOptions(flakh=True))
    why = "kit program 26 not in TimGM6mb.sf2: standard kit used"
    assert result.kit_fallbacks == {"S00": why}
    assert any(r.levelno == logging.WARNING and why in r.getMessage() and "S00" in r.getMessage()
               for r in caplog.records)
    meta = yaml.safe_load((result.path / "metadata.yaml").read_text())
    assert meta["slakh_studio"]["kit_fallbacks"] == {"S00": why}
    audio = stem(result.path, "S00")
    standard = cli_render(with_program(result.path / "MIDI" / "S00.mid", 0, tmp_path / "std.mid"),
                          SF2 / "TimGM6mb.sf2", tmp_path / "std.wav")
    assert aligned_si_sdr(audio, standard) > 20.0


def test_choose_kit_names_gm_kits(tmp_path):
    if not (SF2 / "FluidR3_GS.sf2").is_file():
        pytest.skip("FluidR3_GS.sf2 not installed")
    patch = patches.Patch("gs.sfx", "FluidR3_GS.sf2", 128, 56, kit_follows=True, drum=True)
    # FluidR3_GS holds only the SFX kit: no TR-808 and no standard kit either, so the patch's own preset plays
    choice = kits.choose_kit(patch, 25, SF2 / "FluidR3_GS.sf2")
    assert choice == kits.KitChoice(56, "TR-808 (program 25) not in FluidR3_GS.sf2: its preset 56 used "
                                        "(no standard kit either)")
    assert kits.choose_kit(patch, 56, SF2 / "FluidR3_GS.sf2") == kits.KitChoice(56)


# ---------------------------------------------------------------------------------------------- drawing by kit

NARROW_BANK = """\
format: slakh-studio-bank/1
name: narrow
patches:
  fluidr3_gm.standard:
    soundfont: FluidR3_GM.sf2
    bank: 128
    preset: 0
  fluidr3_gm.room:
    soundfont: FluidR3_GM.sf2
    bank: 128
    preset: 8
  fluidr3_gm.power:
    soundfont: FluidR3_GM.sf2
    bank: 128
    preset: 16
  fluidr3_gm.brush:
    soundfont: FluidR3_GM.sf2
    bank: 128
    preset: 40{brush_kits}
  fluidr3_gm.jazz:
    soundfont: FluidR3_GM.sf2
    bank: 128
    preset: 32{jazz_kits}
classes:
  Drums:
    inst_class: Drums
    programs: [128]
    patches: [fluidr3_gm.standard, fluidr3_gm.room, fluidr3_gm.power, fluidr3_gm.brush, fluidr3_gm.jazz]
"""


def two_drum_song(path: Path, kit_a: int, kit_b: int) -> midifile.Song:
    pm = pretty_midi.PrettyMIDI()
    for kit in (kit_a, kit_b):
        inst = pretty_midi.Instrument(kit, is_drum=True)
        inst.notes.append(pretty_midi.Note(100, 38, 0.5, 0.7))
        pm.instruments.append(inst)
    pm.write(str(path))
    return midifile.load_song(path)


def test_brush_track_draws_a_brush_patch(tmp_path):
    narrowed = patches.parse_bank(NARROW_BANK.format(brush_kits="\n    kits: [40]",
                                                     jazz_kits="\n    kits: [32, 40]"))
    plain = patches.parse_bank(NARROW_BANK.format(brush_kits="", jazz_kits=""))
    song = two_drum_song(tmp_path / "s.mid", 40, 0)  # S00 on the brush kit, S01 on the standard kit
    drawn_brush, drawn_other = set(), set()
    for seed in range(60):
        a = patches.assign_patches(song, narrowed, seed)
        assert a.tracks["S00"].patch_id in {"fluidr3_gm.brush", "fluidr3_gm.jazz"}
        drawn_brush.add(a.tracks["S00"].patch_id)
        drawn_other.add(a.tracks["S01"].patch_id)
        # deterministic, and a program no patch lists draws as the bank without kits does
        assert patches.assign_patches(song, narrowed, seed).to_dict() == a.to_dict()
        assert a.tracks["S01"].patch_id == patches.assign_patches(song, plain, seed).tracks["S01"].patch_id
    assert drawn_brush == {"fluidr3_gm.brush", "fluidr3_gm.jazz"}  # both suited patches come up
    assert len(drawn_other) == 5  # the whole class, as before
    # without kits the two drum tracks share one draw (Slakh's rule: one patch per program)
    for seed in range(10):
        a = patches.assign_patches(song, plain, seed)
        assert a.tracks["S00"].patch_id == a.tracks["S01"].patch_id


def test_fixed_brush_track_is_reused_by_its_kit(tmp_path):
    narrowed = patches.parse_bank(NARROW_BANK.format(brush_kits="\n    kits: [40]", jazz_kits=""))
    pm = pretty_midi.PrettyMIDI()
    for kit in (40, 40, 0):
        inst = pretty_midi.Instrument(kit, is_drum=True)
        inst.notes.append(pretty_midi.Note(100, 38, 0.5, 0.7))
        pm.instruments.append(inst)
    pm.write(str(tmp_path / "s.mid"))
    song = midifile.load_song(tmp_path / "s.mid")
    a = patches.assign_patches(song, narrowed, 3, fixed={"S00": "fluidr3_gm.room"})
    assert a.tracks["S00"].patch_id == a.tracks["S01"].patch_id == "fluidr3_gm.room"


# ---------------------------------------------------------------------------------------------- format


def test_kit_keys_parse_and_save_round_trip(tmp_path):
    bank = patches.parse_bank(NARROW_BANK.format(brush_kits="\n    kit: follow\n    kits: [40, 41]", jazz_kits=""))
    brush = bank.patches["fluidr3_gm.brush"]
    assert brush.kit_follows and brush.kits == (40, 41)
    assert not bank.patches["fluidr3_gm.jazz"].kit_follows and bank.patches["fluidr3_gm.jazz"].kits == ()
    text = bank_edit.bank_to_yaml(bank)
    assert "    kit: follow\n    kits: [40, 41]\n" in text
    again = patches.parse_bank(text)
    assert bank_edit.same_bank(bank, again) and bank_edit.bank_to_yaml(again) == text
    bank_edit.set_kit(bank, "fluidr3_gm.brush", follows=False, kits=[])
    assert "kit" not in bank_edit.bank_to_yaml(bank).split("fluidr3_gm.brush:")[1].split("fluidr3_gm.jazz")[0]


@pytest.mark.parametrize("spec,message", [
    ("kit: always", "expected 'follow' or 'fixed'"),
    ("kits: 40", "expected a list of kit programs"),
    ("kits: [40, 128]", "expected an integer 0..127"),
    ("kits: [40, 40]", "lists a kit program twice"),
])
def test_parser_refuses_bad_kit_values(spec, message):
    with pytest.raises(patches.BankError, match=message):
        patches.parse_bank(NARROW_BANK.format(brush_kits=f"\n    {spec}", jazz_kits=""))


def test_set_kit_refuses_non_drum_and_non_128():
    bank = patches.parse_bank(SLAKH_BANK)
    with pytest.raises(patches.BankError, match="not a drum patch"):
        bank_edit.set_kit(bank, "fluidr3_gm.piano", follows=True)
    with pytest.raises(patches.BankError, match="not a drum patch"):
        bank_edit.set_kit(bank, "fluidr3_gm.piano", kits=[40])
    bank_edit.add_patch(bank, "avl.kit", "Black_Pearl_4_LV2.sf2", 0, 0, drum=True)
    with pytest.raises(patches.BankError, match="only a bank 128 kit"):
        bank_edit.set_kit(bank, "avl.kit", follows=True)
    bank_edit.set_kit(bank, "avl.kit", kits=[0, 8])  # a fixed kit may still say which kits it suits
    assert bank.patches["avl.kit"].kits == (0, 8) and not bank.patches["avl.kit"].kit_follows
    with pytest.raises(patches.BankError, match="0..127"):
        bank_edit.set_kit(bank, "fluidr3_gm.standard", kits=[200])


# ---------------------------------------------------------------------------------------------- validator

BAD_KITS_BANK = """\
format: slakh-studio-bank/1
name: bad-kits
patches:
  fluidr3_gm.piano:
    soundfont: FluidR3_GM.sf2
    bank: 0
    preset: 0
    name: Yamaha Grand Piano
    kit: follow
  fluidr3_gm.standard:
    soundfont: FluidR3_GM.sf2
    bank: 128
    preset: 0
    name: Standard
    kit: sometimes
  fluidr3_gm.brush:
    soundfont: FluidR3_GM.sf2
    bank: 128
    preset: 40
    name: Brush
    kits: [40, 3]
  black_pearl.kit:
    soundfont: Black_Pearl_4_LV2.sf2
    bank: 0
    preset: 0
    drum: true
    kit: follow
  fluidr3_gs.sfx:
    soundfont: FluidR3_GS.sf2
    bank: 128
    preset: 56
    kit: follow
  timgm6mb.standard:
    soundfont: TimGM6mb.sf2
    bank: 128
    preset: 0
    name: Standard
    kit: follow
    kits: [0, 25]
classes:
  Piano:
    inst_class: Piano
    programs: [0]
    patches: [fluidr3_gm.piano]
  Drums:
    inst_class: Drums
    programs: [128]
    patches: [fluidr3_gm.standard, fluidr3_gm.brush, black_pearl.kit, fluidr3_gs.sfx, timgm6mb.standard]
"""


@needs_fonts
def test_validator_flags_bad_kit_keys(tmp_path):
    if not (SF2 / "FluidR3_GS.sf2").is_file() or not (SF2 / "Black_Pearl_4_LV2.sf2").is_file():
        pytest.skip("FluidR3_GS.sf2 / Black_Pearl_4_LV2.sf2 not installed")
    path = tmp_path / "bad.yaml"
    path.write_text(BAD_KITS_BANK)
    found = {(f.severity, f.key): f for f in validate_bank(path, render_check=False)}
    lines = path.read_text().splitlines()

    def line_of(text: str, after: str) -> int:
        start = lines.index(after)
        return next(i for i in range(start, len(lines)) if lines[i].strip() == text) + 1

    err = found[("error", "patches/fluidr3_gm.piano/kit")]
    assert "only a drum patch" in err.message and err.line == line_of("kit: follow", "  fluidr3_gm.piano:")
    assert "expected 'follow' or 'fixed'" in found[("error", "patches/fluidr3_gm.standard/kit")].message
    assert "bank 128 preset" in found[("error", "patches/black_pearl.kit/kit")].message
    warn = found[("warning", "patches/fluidr3_gm.brush/kits/1")]
    assert "program 3 is no GM/GS drum kit" in warn.message
    assert warn.line == line_of("kits: [40, 3]", "  fluidr3_gm.brush:")
    lacks = found[("warning", "patches/fluidr3_gs.sfx/kit")].message
    assert "FluidR3_GS.sf2 lacks Standard (program 0)" in lacks and "TR-808 (program 25)" in lacks
    assert "its preset 56" in lacks
    # a sound kit-following patch with GM kits only draws no kit finding
    assert not [f for f in found.values() if f.key.startswith("patches/timgm6mb.standard")]
    # the faulty patches are set aside and reported once each; the rest is still checked
    assert sum(1 for f in found.values() if f.severity == "error") == 3


def test_shipped_banks_have_no_kit_findings():
    for path in (paths.flakh_bank(), paths.default_bank()):
        assert not [f for f in validate_bank(path, render_check=False) if "/kit" in f.key], path


@needs_fonts
def test_lint_checks_the_kit_that_played(tmp_path):
    """Key 88 is outside TimGM6mb's Standard kit (27-87) but inside its Orchestra kit (27-88): the range check of a
    kit-following stem uses the kit its program picked."""
    from slakh_gui.core.dataset import lint

    bank = patches.load_bank(paths.flakh_bank())
    for kit, flagged in ((48, False), (0, True)):
        pm = pretty_midi.PrettyMIDI()
        drums = pretty_midi.Instrument(kit, is_drum=True)
        drums.notes += [pretty_midi.Note(100, 38, 0.2, 0.4), pretty_midi.Note(100, 88, 0.6, 0.8)]
        pm.instruments.append(drums)
        pm.write(str(tmp_path / f"k{kit}.mid"))
        song = midifile.load_song(tmp_path / f"k{kit}.mid")
        result = pipeline.render_track(song, bank, patches.assign_patches(song, bank, 0), tmp_path / f"T{kit}")
        found = [(f.stem, f.kind, f.details.get("pitches_outside")) for f in lint.lint_track(result.path, bank)]
        assert found == ([("S00", "out_of_range", [88])] if flagged else []), kit


@needs_fonts
def test_cli_shows_kit_fallbacks(tmp_path, capsys):
    from tests.cli.helpers import run

    mid = drum_song(tmp_path / "k26.mid", 26, beats=3)
    why = "kit program 26 not in TimGM6mb.sf2: standard kit used"
    code, out, _ = run(["render", mid, "--flakh", "-o", tmp_path / "a", "--tail", "0.5"], capsys)
    assert code == 0 and f"  S00  warning: {why}" in out.splitlines()
    code, out, _ = run(["render", mid, "--flakh", "-o", tmp_path / "b", "--tail", "0.5", "--json"], capsys)
    assert code == 0 and json.loads(out)["kit_fallbacks"] == {"S00": why}
    code, out, _ = run(["render", drum_song(tmp_path / "k25.mid", 25, beats=3), "--flakh", "-o", tmp_path / "c",
                        "--tail", "0.5", "--json"], capsys)
    assert code == 0 and json.loads(out)["kit_fallbacks"] == {}


def test_reroll_keeps_a_kit_narrowed_draw(tmp_path):
    """Re-rolling a brush-kit track in the app draws again among the brush-suited patches only."""
    import random

    from slakh_gui.core.studio.project import Project

    narrowed = patches.parse_bank(NARROW_BANK.format(brush_kits="\n    kits: [40]",
                                                     jazz_kits="\n    kits: [32, 40]"))
    song = two_drum_song(tmp_path / "s.mid", 40, 0)
    project = Project(output_dir=tmp_path / "out")
    project.load_song(song, narrowed)
    rng = random.Random(1)
    seen = {project.reroll_track("S00", rng) for _ in range(30)}
    assert seen == {"fluidr3_gm.brush", "fluidr3_gm.jazz"}  # alternates between the two suited patches
    other = {project.reroll_track("S01", rng) for _ in range(30)}
    assert len(other) > 2  # the standard-kit track still draws from the whole class
