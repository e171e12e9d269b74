"""Checks of rendered tracks for what Slakh2100's users found only after its release.

Per track (:func:`lint_track`): silent stems, noise-only stems (white-noise stems were a real Slakh2100 defect, see
greenbech/slakh-pytorch-dataset ``problem_stems.json``), stem notes outside the keys the chosen SoundFont preset has
samples for (wrong octaves render as silence), stems whose loudness could not be measured, and stems that should
have audio but have none. Per dataset (:func:`lint_dataset`): the same source MIDI (metadata ``UUID`` or the MD5 of
``all_src.mid``) used twice, and such a duplicate crossing splits (the leak behind Slakh2100-redux).

Findings go to ``lint.yaml`` (:func:`write_lint`), whose ``findings`` list the app reads back with
:func:`read_lint`; :data:`ACTIONS` says which fixes fit each kind.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf
import yaml

from slakh_gui.core.constants import SPLITS_WITH_OMITTED
from slakh_gui.core.dataset.dataset_stats import read_metadata, read_mono, stem_files
from slakh_gui.core.diskaudio import fold
from slakh_gui.core.errors import SlakhError
from slakh_gui.core.jobs import CancelToken, ProgressFn, check, report
from slakh_gui.core.render.track_folder import TrackFolderError
from slakh_gui.core.safe_yaml import YamlError, read_yaml
from slakh_gui.core.studio.mixer import peak_db
from slakh_gui.core.walk import TrackRef, discover_tracks, track_ref

LINT_FORMAT = "slakh-studio-lint/1"
KINDS = ("silent", "noise", "out_of_range", "unmeasured_loudness", "missing_audio", "duplicate_midi",
         "cross_split_duplicate", "unreadable")
# What the user may do about each kind (the app offers these): re-draw the stem's patch, drop the stem from the
# track, or drop the whole track from the dataset.
ACTIONS = {"silent": ("reroll_patch", "drop_stem"), "noise": ("reroll_patch", "drop_stem"),
           "out_of_range": ("reroll_patch", "drop_stem"), "unmeasured_loudness": ("reroll_patch", "drop_stem"),
           "missing_audio": ("reroll_patch", "drop_stem"), "duplicate_midi": ("drop_track",),
           "cross_split_duplicate": ("drop_track",), "unreadable": ("drop_track",)}

SILENT_PEAK_DB = -60.0  # a stem whose sample peak is below this is silent
NOISE_FRAME = 2048  # samples per analysis frame (no overlap)
NOISE_BAND = 8  # FFT bins averaged per band before the flatness (white noise then scores ~0.9 instead of ~0.56)
NOISE_FLATNESS = 0.6  # a frame is noise-like above this spectral flatness (tonal or drum frames: < 0.45)
NOISE_MAX_FRAMES = 600  # at most this many frames (~28 s at 44.1 kHz) are analysed per stem
NOISE_FRACTION = 0.75  # a stem is noise-only when this share of its active frames is noise-like
ACTIVE_DB = -60.0  # frames within this many dB of the loudest frame are active


class LintError(SlakhError, ValueError):
    """A lint file that cannot be read."""


@dataclass(frozen=True)
class Finding:
    """One problem: ``track`` (``train/Track00001`` or ``Track00001``), ``stem`` (``S03``; None for the whole
    track), ``kind`` (one of :data:`KINDS`), a one-line ``message`` and machine-readable ``details``."""

    track: str
    stem: str | None
    kind: str
    message: str
    details: dict = field(default_factory=dict)

    @property
    def actions(self) -> tuple[str, ...]:
        return ACTIONS.get(self.kind, ())

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Finding:
        return cls(str(data["track"]), None if data.get("stem") is None else str(data["stem"]), str(data["kind"]),
                   str(data.get("message", "")), dict(data.get("details") or {}))


# ---------------------------------------------------------------------------------------------- audio measures


def frame_flatness(audio: np.ndarray) -> np.ndarray:
    """Spectral flatness (geometric / arithmetic mean of band powers, 0..1) of each active frame."""
    audio = np.asarray(audio, dtype=np.float32)
    if len(audio) < NOISE_FRAME:
        audio = np.pad(audio, (0, NOISE_FRAME - len(audio)))
    frames = np.lib.stride_tricks.sliding_window_view(audio, NOISE_FRAME)[::NOISE_FRAME]
    if len(frames) > NOISE_MAX_FRAMES:  # evenly spread frames are enough to tell a noise-only stem
        frames = frames[np.linspace(0, len(frames) - 1, NOISE_MAX_FRAMES).astype(np.int64)]
    window = np.hanning(NOISE_FRAME).astype(np.float32)
    n_bins = (NOISE_FRAME // 2) // NOISE_BAND * NOISE_BAND
    out = []
    for start in range(0, len(frames), 512):
        spec = np.abs(np.fft.rfft(frames[start : start + 512] * window, axis=1))[:, 1 : 1 + n_bins] ** 2
        out.append(spec.reshape(len(spec), -1, NOISE_BAND).mean(axis=2))
    power = np.concatenate(out).astype(np.float64)
    energy = power.sum(axis=1)
    if not energy.size or energy.max() <= 0:
        return np.zeros(0)
    active = energy > energy.max() * 10 ** (ACTIVE_DB / 10)
    p = power[active] + 1e-30
    return np.exp(np.mean(np.log(p), axis=1)) / np.mean(p, axis=1)


def noise_score(audio: np.ndarray) -> tuple[float, float]:
    """(share of active frames that are noise-like, median flatness) of a stem."""
    flat = frame_flatness(audio)
    if not flat.size:
        return 0.0, 0.0
    return float(np.mean(flat > NOISE_FLATNESS)), float(np.median(flat))


# ---------------------------------------------------------------------------------------------- per track


def _label(track_dir: Path) -> str:
    return track_ref(track_dir).label


def _midi_pitches(path: Path) -> list[int]:
    """Pitches of every note-on (velocity > 0) in a MIDI file, in file order."""
    import mido

    mid = mido.MidiFile(path)
    return [m.note for tr in mid.tracks for m in tr if m.type == "note_on" and m.velocity > 0]


def _kit_preset(patch, midi: Path, soundfont: Path) -> int:
    """The kit a kit-following drum patch played for the stem (its MIDI file's program; core.kits' fallback)."""
    import mido

    from slakh_gui.core.bank.kits import choose_kit

    programs = [m.program for tr in mido.MidiFile(midi).tracks for m in tr if m.type == "program_change"]
    return choose_kit(patch, programs[0] if programs else 0, soundfont).preset


def _midi_file(track_dir: Path, metadata: dict, key: str) -> Path | None:
    d = track_dir / Path(str(metadata.get("midi_dir") or "MIDI")).name
    f = (d if d.is_dir() else track_dir / "MIDI") / f"{key}.mid"
    return f if f.is_file() else None


def _has_patch(entry: dict) -> bool:
    name = entry.get("plugin_name")
    return bool(name) and str(name) != "None"


def _check_range(label: str, key: str, entry: dict, midi: Path | None, bank) -> Finding | None:
    from slakh_gui.core.bank import sf2_ranges
    from slakh_gui.core.bank.patches import SoundFontMissing

    patch = bank.patches.get(str(entry.get("plugin_name")))
    if patch is None or midi is None:
        return None
    try:
        soundfont = bank.resolve_soundfont(patch)
        preset = _kit_preset(patch, midi, soundfont) if patch.kit_follows else patch.preset
        ranges = sf2_ranges.key_ranges(soundfont, patch.bank, preset)
        pitches = _midi_pitches(midi)
    except (SoundFontMissing, sf2_ranges.SoundFontRangeError, OSError, ValueError, EOFError):
        return None  # bank problems are bank validation's business; an unreadable stem MIDI is not a range fault
    if ranges is None or not pitches:
        return None
    outside = ranges.outside(pitches)
    if not outside:
        return None
    bad = sum(1 for p in pitches if p in set(outside))
    shown = ", ".join(map(str, outside[:8])) + (" ..." if len(outside) > 8 else "")
    return Finding(label, key, "out_of_range",
                   f"{key} ({patch.id}): {bad} of {len(pitches)} notes are outside the keys preset "
                   f"{ranges.name!r} has samples for ({ranges.describe()}): pitches {shown}",
                   {"patch": patch.id, "soundfont": patch.soundfont, "bank": patch.bank, "preset": patch.preset,
                    "preset_name": ranges.name, "playable": [list(r) for r in ranges.ranges],
                    "pitches_outside": outside, "notes_outside": bad, "notes": len(pitches)})


def _check_audio(label: str, key: str, entry: dict, path: Path, given: np.ndarray | None) -> list[Finding]:
    try:
        if given is not None:
            audio, sr = fold(np.asarray(given, dtype=np.float32)), sf.info(str(path)).samplerate  # as read_mono
        else:
            audio, sr = read_mono(path)
    except (RuntimeError, sf.LibsndfileError, TrackFolderError) as exc:
        return [Finding(label, key, "missing_audio", f"{key}: audio file {path.name} is unreadable ({exc})",
                        {"file": path.name})]
    found = []
    pk = peak_db(audio)
    if pk < SILENT_PEAK_DB:
        found.append(Finding(label, key, "silent", f"{key}: the stem is silent (peak "
                             f"{'-inf' if math.isinf(pk) else f'{pk:.1f}'} dBFS)",
                             {"peak_db": None if math.isinf(pk) else round(pk, 2), "threshold_db": SILENT_PEAK_DB}))
    else:
        share, median = noise_score(audio)
        if share >= NOISE_FRACTION:
            found.append(Finding(label, key, "noise", f"{key}: noise only: {share:.0%} of its sounding frames "
                                 f"have a flat spectrum (median flatness {median:.2f})",
                                 {"noise_frames": round(share, 3), "median_flatness": round(median, 3),
                                  "flatness_threshold": NOISE_FLATNESS}))
    lufs = entry.get("integrated_loudness")
    if not isinstance(lufs, int | float) or isinstance(lufs, bool) or not math.isfinite(lufs):
        from slakh_gui.core.render.loudness import integrated_loudness

        try:
            now = integrated_loudness(audio.astype(np.float64), sr)
        except ValueError:  # shorter than one 400 ms block
            now = float("-inf")
        found.append(Finding(label, key, "unmeasured_loudness",
                             f"{key}: metadata has no finite integrated_loudness ({lufs!r}); measured now: "
                             f"{'-inf (too quiet or too short)' if math.isinf(now) else f'{now:.1f} LUFS'}",
                             {"metadata": lufs if lufs is None or isinstance(lufs, int | float) else str(lufs),
                              "measured_lufs": None if math.isinf(now) else round(now, 2)}))
    return found


def _no_audio(label: str, key: str, entry: dict, metadata: dict, midi: Path | None) -> Finding | None:
    """A stem without audio that should have some: flagged rendered, or a patch and notes to play."""
    why = ((metadata.get("slakh_studio") or {}).get("not_rendered") or {}).get(key, "")
    if entry.get("audio_rendered") is True:
        return Finding(label, key, "missing_audio", f"{key}: metadata says audio_rendered but there is no "
                       "audio file", {"audio_rendered": True})
    if not _has_patch(entry) or midi is None:
        return None
    try:
        notes = len(_midi_pitches(midi))
    except (OSError, ValueError, EOFError):
        notes = 0
    if not notes:
        return None
    details = {"patch": str(entry.get("plugin_name")), "notes": notes, "reason": why or None}
    if why.startswith("silent"):
        return Finding(label, key, "silent", f"{key} ({entry.get('plugin_name')}): {notes} notes rendered to "
                       "digital silence, so the stem was left out", details)
    if why.startswith("too quiet"):
        return Finding(label, key, "unmeasured_loudness", f"{key} ({entry.get('plugin_name')}): loudness could "
                       "not be measured (BS.1770 gives -inf), so the stem was left out", details)
    return Finding(label, key, "missing_audio", f"{key} ({entry.get('plugin_name')}): has a patch and {notes} "
                   f"notes but no audio file{': ' + why if why else ''}", details)


def lint_track(track_dir: str | Path, bank=None, audio: dict[str, np.ndarray] | None = None) -> list[Finding]:
    """Check one track folder; ``bank`` (a :class:`~slakh_gui.core.bank.patches.Bank`) enables the key-range check.

    ``audio`` may hold stems already in memory (key -> float, as written, stereo folded to mono, e.g. ``render_track(...,
    keep_audio=True).stems``) so their files are not decoded again. Raises
    :class:`~slakh_gui.core.render.track_folder.TrackFolderError` if the folder has no readable metadata."""
    track_dir = Path(track_dir)
    label = _label(track_dir)
    metadata = read_metadata(track_dir)
    files = stem_files(track_dir, metadata)
    findings: list[Finding] = []
    audio = audio or {}
    for key, entry in sorted((str(k), v) for k, v in metadata["stems"].items()):
        entry = entry if isinstance(entry, dict) else {}
        midi = _midi_file(track_dir, metadata, key)
        if key in files:
            findings += _check_audio(label, key, entry, files[key], audio.get(key))
        else:
            f = _no_audio(label, key, entry, metadata, midi)
            if f:
                findings.append(f)
        if bank is not None and _has_patch(entry):
            f = _check_range(label, key, entry, midi, bank)
            if f:
                findings.append(f)
    return findings


# ---------------------------------------------------------------------------------------------- per dataset


def _refs(tracks: Iterable) -> list[TrackRef]:
    out = []
    for t in tracks:
        if isinstance(t, TrackRef):
            out.append(t)
        elif isinstance(t, tuple):
            out.append(TrackRef(t[0], Path(t[1])))
        else:
            out.append(track_ref(Path(t)))
    return out


def midi_identity(track_dir: Path) -> tuple[str | None, str | None]:
    """(metadata ``UUID``, MD5 of ``all_src.mid``) of a track; None where missing."""
    uuid = None
    with contextlib.suppress(TrackFolderError):
        uuid = read_metadata(track_dir).get("UUID")
    md5 = None
    src = Path(track_dir) / "all_src.mid"
    if src.is_file():
        md5 = hashlib.md5(src.read_bytes()).hexdigest()  # Slakh's UUID is an MD5
    return (str(uuid) if uuid else None), md5


def lint_dataset(tracks: Iterable) -> list[Finding]:
    """Duplicate source MIDI among ``tracks`` (TrackRefs, (split, dir) pairs or track dirs).

    Tracks sharing a ``UUID`` or an ``all_src.mid`` MD5 form a group; the first in split order (train, validation,
    test, omitted, then by name) is kept, every other member is flagged: ``cross_split_duplicate`` when its split
    differs from the kept track's, else ``duplicate_midi``."""
    refs = _refs(tracks)
    parent = list(range(len(refs)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_by_key: dict[tuple[str, str], int] = {}
    idents = []
    for i, ref in enumerate(refs):
        uuid, md5 = midi_identity(ref.path)
        idents.append((uuid, md5))
        for key in (("uuid", uuid), ("md5", md5)):
            if key[1] is None:
                continue
            if key in first_by_key:
                parent[find(i)] = find(first_by_key[key])
            else:
                first_by_key[key] = i
    groups: dict[int, list[int]] = {}
    for i in range(len(refs)):
        groups.setdefault(find(i), []).append(i)
    order = {s: n for n, s in enumerate((*SPLITS_WITH_OMITTED, None))}
    findings = []
    for members in groups.values():
        if len(members) < 2:
            continue
        members.sort(key=lambda i: (order.get(refs[i].split, 99), refs[i].name, str(refs[i].path)))
        keep = refs[members[0]]
        for i in members[1:]:
            ref = refs[i]
            same = [k for k, a, b in (("UUID", idents[i][0], idents[members[0]][0]),
                                       ("all_src.mid MD5", idents[i][1], idents[members[0]][1])) if a and a == b]
            by = " and ".join(same) or "a chain of UUID/MD5 matches"
            details = {"duplicate_of": keep.label, "uuid": idents[i][0], "md5": idents[i][1],
                       "group": [refs[j].label for j in members]}
            if ref.split != keep.split:
                findings.append(Finding(ref.label, None, "cross_split_duplicate",
                                        f"same source MIDI ({by}) as {keep.label}, in another split: "
                                        f"{ref.split or 'none'} vs {keep.split or 'none'}", details))
            else:
                findings.append(Finding(ref.label, None, "duplicate_midi",
                                        f"same source MIDI ({by}) as {keep.label}", details))
    return sorted(findings, key=lambda f: f.track)


def lint_tree(path: str | Path, bank=None, progress: ProgressFn | None = None,
              cancel: CancelToken | None = None) -> list[Finding]:
    """:func:`lint_track` on every track under ``path`` plus :func:`lint_dataset` over them; a track that cannot
    be read becomes an ``unreadable`` finding."""
    refs = discover_tracks(path)
    findings: list[Finding] = []
    for i, ref in enumerate(refs):
        check(cancel)
        report(progress, "lint", i, len(refs), "checking tracks", item=ref.label)
        try:
            findings += lint_track(ref.path, bank)
        except TrackFolderError as exc:
            findings.append(Finding(ref.label, None, "unreadable", str(exc), {}))
    check(cancel)
    findings += lint_dataset(refs)
    report(progress, "lint", len(refs), len(refs), "done")
    return findings


# ---------------------------------------------------------------------------------------------- lint.yaml


def lint_yaml(findings: Iterable[Finding]) -> str:
    """The text of ``lint.yaml``: format, counts per kind, and every finding."""
    items = [f.as_dict() for f in findings]
    counts: dict[str, int] = {}
    for f in items:
        counts[f["kind"]] = counts.get(f["kind"], 0) + 1
    return yaml.safe_dump({"format": LINT_FORMAT, "counts": counts, "findings": items},
                          default_flow_style=False, allow_unicode=True, sort_keys=False, width=120)


def write_lint(path: str | Path, findings: Iterable[Finding]) -> Path:
    """Write ``lint.yaml`` atomically."""
    from slakh_gui.core.audio_io import atomic_write_text

    path = Path(path)
    atomic_write_text(path, lint_yaml(findings))
    return path


def read_lint(path: str | Path) -> list[Finding]:
    """The findings of a ``lint.yaml`` (ours, or any YAML with a ``findings`` list of finding mappings; extra keys
    are ignored); :class:`LintError` if it is not one."""
    path = Path(path)
    try:
        data = read_yaml(path)
    except YamlError as exc:
        raise LintError(f"{path}: cannot read lint file: {exc.detail}") from None
    if (not isinstance(data, dict) or data.get("format", LINT_FORMAT) != LINT_FORMAT
            or not isinstance(data.get("findings"), list)):
        raise LintError(f"{path}: not a lint file (needs a 'findings' list)")
    try:
        return [Finding.from_dict(d) for d in data["findings"]]
    except (KeyError, TypeError, AttributeError):
        raise LintError(f"{path}: a finding lacks track or kind") from None
