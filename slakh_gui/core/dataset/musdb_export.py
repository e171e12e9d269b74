"""A Slakh-layout dataset -> MUSDB18-HQ's layout: ``OUT/{train,test}/<track>/mixture.wav`` plus one WAV per target.

What :func:`export_musdb` writes, for every track of the source (a dataset root with split folders, a mirdata
data_home, a flat folder of ``TrackNNNNN/`` or one track folder, found by :mod:`slakh_gui.core.walk`):

- ``OUT/<subset>/<name>/<target>.wav`` for each target (default ``bass drums guitar piano other``): the stems of
  the track grouped by a submix recipe (:mod:`.recipes`, default ``band``: a target is a recipe group, matched by
  name; ``other`` is every stem no chosen target takes, so the targets always add up to the whole track), and
  ``mixture.wav``. Stereo, 44.1 kHz, 16-bit PCM as MUSDB18-HQ (or 32-bit float). A mono stem is written on both
  channels; a stereo stem as it is. A track at another rate is resampled (polyphase, as ``slakh-studio convert``).
- ``mixture.wav`` is the sum of the target files as written (in 16-bit, the sum of the integer samples; a sum past
  full scale is clipped and counted in the result), so ``mixture == sum(targets)`` holds exactly (float: to float32
  rounding). The track's own ``mix.*`` is not copied: Slakh's mix is the sum of its (gained, 16-bit) stems, so it
  equals this sum up to the stems' rounding (half a step each), which :attr:`MusdbExportResult.mix_deviation`
  records per track; a mix that is not the sum of its stems (a Flakh mix, rendered whole) shows a large deviation.
- Subsets: Slakh's ``train`` -> ``train``, ``test`` -> ``test``, ``validation`` -> ``train`` (MUSDB's convention: its
  validation tracks are a part of ``train``), tracks outside split folders -> ``train``; Slakh2100's ``omitted``
  folder is not exported. Track folders keep the track's name (``Track00001``), or ``Track00001 - <song>`` with
  ``song_names`` (the song is the source MIDI file's name from ``lmd_midi_dir``).
- ``OUT/setup.yaml``: a musdb setup file (the format of musdb's own ``configs/mus.yaml``) naming these sources and
  targets, with the validation tracks in ``validation_tracks``: ``musdb.DB(root=OUT, is_wav=True,
  setup_file="setup.yaml", subsets="train", split="valid")`` gives the validation tracks, ``split="train"`` the
  others. (Without ``setup_file`` musdb uses its MUSDB18 defaults: sources ``vocals drums bass other`` and MUSDB18's
  own validation names.) Its ``slakh_studio`` key records what the export was made with, for resuming.

Each track folder is assembled in a hidden sibling folder and renamed into place (:func:`layout.staged_dir`), so a
cancelled or killed export leaves no half-written track, and running it again resumes: finished tracks are kept.
An output folder that is not empty and is not such an export, or an export made with other settings, is refused
unless ``overwrite`` (then every track is written again). Every track is checked before anything is written (its
metadata, and an audio file for every stem its metadata says was rendered): a bad track stops the export with one
line naming it.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf
import yaml

from slakh_gui import __version__
from slakh_gui.core.audio_io import atomic_path, atomic_write_text, to_int16, write_audio
from slakh_gui.core.constants import OMITTED, SAMPLE_RATE, SPLITS
from slakh_gui.core.dataset.dataset_stats import audio_file, read_metadata, stem_files
from slakh_gui.core.dataset.derived import file_ready, resample
from slakh_gui.core.dataset.recipes import RESIDUAL, Recipe, load_recipe
from slakh_gui.core.errors import SlakhError
from slakh_gui.core.jobs import CancelToken, ProgressFn, check, report
from slakh_gui.core.render import layout
from slakh_gui.core.render.track_folder import MAX_AUDIO_SAMPLES, TrackFolderError
from slakh_gui.core.safe_yaml import YamlError, read_yaml
from slakh_gui.core.walk import TrackRef, discover_tracks

DEFAULT_TARGETS = ("bass", "drums", "guitar", "piano", "other")
OTHER = "other"  # the target of every stem no other target takes
MIXTURE = "mixture"
SUBSETS = ("train", "test")  # MUSDB's two folders
SUBSET_OF = {SPLITS[0]: "train", SPLITS[1]: "train", SPLITS[2]: "test", None: "train"}  # Slakh split -> MUSDB subset
VALIDATION = SPLITS[1]
SETUP_FILE = "setup.yaml"
EXPORT_FORMAT = "slakh-studio-musdb/1"
SAMPLE_FORMATS = {"pcm16": "PCM_16", "float32": "FLOAT"}
MIX_DEVIATION_WARN = 1e-3  # full scale (-60 dBFS, 33 steps of 16 bits): more than rounding, the mix is not the sum
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
_RESERVED = (MIXTURE, "linear_mixture", "accompaniment")


class MusdbExportError(SlakhError, ValueError):
    """An export that cannot be made as asked: bad targets, an output folder holding something else, a bad track."""


@dataclass
class MusdbExportResult:
    """What an export did. Track names are ``<subset>/<folder>`` under the output folder."""

    out: Path
    targets: list[str]
    exported: list[str] = field(default_factory=list)
    already_done: list[str] = field(default_factory=list)
    validation: list[str] = field(default_factory=list)  # folder names listed in setup.yaml's validation_tracks
    omitted: list[str] = field(default_factory=list)  # source tracks not exported (Slakh2100's omitted/ folder)
    removed: list[str] = field(default_factory=list)  # tracks of an earlier export no longer in the source
    counts: dict[str, int] = field(default_factory=dict)  # subset -> tracks planned
    clipped: dict[str, int] = field(default_factory=dict)  # "<track>/<file>" -> samples clipped at 16-bit full scale
    mix_deviation: dict[str, float] = field(default_factory=dict)  # track -> max |mix - sum of stems| (full scale 1)

    def deviating(self, limit: float = MIX_DEVIATION_WARN) -> dict[str, float]:
        """Tracks whose own mix is not the sum of their stems (beyond rounding)."""
        return {k: v for k, v in self.mix_deviation.items() if v > limit}

    def as_dict(self) -> dict:
        return {"out": str(self.out), "targets": list(self.targets), "counts": dict(self.counts),
                "exported": list(self.exported), "already_done": list(self.already_done),
                "validation": list(self.validation), "omitted": list(self.omitted), "removed": list(self.removed),
                "clipped": dict(self.clipped), "mix_deviation": dict(self.mix_deviation)}


@dataclass
class _Track:
    """One source track, checked: where it goes and what its stems are."""

    ref: TrackRef
    subset: str
    name: str
    uuid: str | None
    metadata: dict
    stems: dict[str, Path]  # stem key -> audio file (stems with audio)
    sample_rate: int
    channels: int  # 1 (every stem mono) or 2
    frames: int  # the longest stem (or mix)
    mix: Path | None  # the track's own mix, compared with the sum of the stems

    @property
    def label(self) -> str:
        return f"{self.subset}/{self.name}"


def parse_targets(text: str | list[str] | tuple[str, ...]) -> list[str]:
    """``"bass,drums"`` (or a list) -> ``["bass", "drums", "other"]``: lower-case, no repeats, ``other`` appended
    when missing (it takes every remaining stem, so that the targets add up to the mixture)."""
    items = text.split(",") if isinstance(text, str) else list(text)
    names: list[str] = []
    for item in items:
        name = file_ready(str(item).strip())
        if not name:
            continue
        if name in names:
            raise MusdbExportError(f"target {name!r} is listed twice")
        if name in _RESERVED or not _NAME.match(name):
            raise MusdbExportError(f"{str(item).strip()!r} cannot be a target name"
                                   + (f" ({name!r} is reserved by musdb)" if name in _RESERVED else ""))
        names.append(name)
    if not names:
        raise MusdbExportError("no targets given (e.g. bass,drums,guitar,piano,other)")
    if OTHER not in names:
        names.append(OTHER)
    return names


def target_groups(recipe: Recipe, targets: list[str]) -> dict[str, list[str]]:
    """Target file name -> the recipe groups (and ``residual``) it sums: each named target is the recipe group of that
    name (case-insensitive, spaces as underscores), ``other`` every group not chosen plus the stems in no group."""
    out: dict[str, list[str]] = {}
    chosen: set[str] = set()
    for name in targets:
        if name == OTHER:
            continue
        group = next((g for g in recipe.groups if file_ready(g) == name), None)
        if group is None:
            group = recipe.group(name)  # RecipeError naming the recipe's groups
        out[name] = [group]
        chosen.add(group)
    rest = [g for g in recipe.groups if g not in chosen] + [RESIDUAL]
    return {name: (rest if name == OTHER else out[name]) for name in targets}


def _song_name(metadata: dict) -> str:
    """A readable song name from ``lmd_midi_dir`` (the source MIDI file's name), safe as part of a folder name."""
    source = metadata.get("lmd_midi_dir")
    if not isinstance(source, str) or not source.strip():
        return ""
    name = Path(source.replace("\\", "/")).stem
    name = re.sub(r"[\x00-\x1f\x7f/\\:*?\"<>|]", "_", name)
    return " ".join(name.split())[:100].strip(" .")


def _audio_info(path: Path):
    try:
        info = sf.info(str(path))
    except (RuntimeError, sf.LibsndfileError) as exc:
        raise TrackFolderError(f"{path}: unreadable audio ({str(exc).splitlines()[0] if str(exc) else exc})") from None
    if info.samplerate <= 0 or info.channels <= 0 or info.frames * info.channels > MAX_AUDIO_SAMPLES:
        raise TrackFolderError(f"{path}: invalid audio header ({info.samplerate} Hz, {info.channels} channels, "
                               f"{info.frames} frames)")
    return info


def _check_track(ref: TrackRef, song_names: bool) -> _Track:
    """The track's metadata and stem files, checked; :class:`TrackFolderError` with the reason otherwise."""
    metadata = read_metadata(ref.path)
    files = stem_files(ref.path, metadata)
    missing = [str(key) for key, entry in metadata["stems"].items()  # lint's missing_audio rule
               if str(key) not in files and isinstance(entry, dict) and entry.get("audio_rendered") is True]
    if missing:
        raise TrackFolderError(f"{ref.path}: stem{'s' if len(missing) > 1 else ''} {', '.join(sorted(missing))} "
                               "rendered (metadata.yaml) but no audio file found")
    if not files:
        raise TrackFolderError(f"{ref.path}: no stem has audio")
    rates, channels, frames = set(), 1, 0
    for f in files.values():
        info = _audio_info(f)
        if info.channels > 2:
            raise TrackFolderError(f"{f}: {info.channels} channels (only mono and stereo stems can be exported)")
        rates.add(info.samplerate)
        channels = max(channels, info.channels)
        frames = max(frames, info.frames)
    if len(rates) > 1:
        raise TrackFolderError(f"{ref.path}: stems have different sample rates {sorted(rates)}")
    rate = rates.pop()
    mix = audio_file(ref.path / "mix")
    if mix is not None:
        info = _audio_info(mix)
        if info.samplerate == rate and info.channels <= 2:
            frames = max(frames, info.frames)
        else:
            mix = None  # not comparable with the stems: no deviation measured
    name = ref.name
    song = _song_name(metadata) if song_names else ""
    if song:
        name = f"{ref.name} - {song}"
    uuid = metadata.get("UUID")
    return _Track(ref, SUBSET_OF.get(ref.split, "train"), name, None if uuid is None else str(uuid), metadata, files,
                  rate, channels, frames, mix)


def _settings(recipe: Recipe, groups: dict[str, list[str]], sample_format: str, song_names: bool) -> dict:
    return {"recipe": {"name": recipe.name, "groups": {g: sorted(p) for g, p in recipe.groups.items()}},
            "targets": {t: list(g) for t, g in groups.items()}, "sample_format": sample_format,
            "song_names": bool(song_names)}


def musdb_setup(targets: list[str], validation: list[str], extras: dict | None = None) -> dict:
    """A musdb setup file's data (``musdb.DB(setup_file=...)``; the keys of musdb's ``configs/mus.yaml``)."""
    setup = {
        "sample_rate": float(SAMPLE_RATE),
        "sources": {t: f"{t}.wav" for t in targets},
        "mixture": f"{MIXTURE}.wav",
        "stem_ids": {MIXTURE: 0, **{t: i + 1 for i, t in enumerate(targets)}},
        "targets": {**{t: {t: 1} for t in targets}, "linear_mixture": {t: 1 for t in targets}},
        "validation_tracks": list(validation),
    }
    if extras is not None:
        setup["slakh_studio"] = extras
    return setup


def _previous_export(out: Path) -> dict | None:
    """The ``slakh_studio`` record of an export in ``out``; None for a missing or empty folder; :class:`MusdbExportError`
    for a folder that holds something else (``overwrite`` lets it be written into: returns ``{}``)."""
    if not out.exists():
        return None
    if not out.is_dir():
        raise MusdbExportError(f"{out}: not a folder")
    if not any(out.iterdir()):
        return None
    try:
        data = read_yaml(out / SETUP_FILE) if (out / SETUP_FILE).is_file() else None
    except YamlError:
        data = None
    extras = data.get("slakh_studio") if isinstance(data, dict) else None
    if isinstance(extras, dict) and extras.get("format") == EXPORT_FORMAT and isinstance(extras.get("tracks"), list):
        return extras
    return {}


def _clean_partials(out: Path) -> None:
    """Remove the hidden staging (and replaced) track folders a killed export left: musdb would take them for
    tracks."""
    for subset in SUBSETS:
        folder = out / subset
        for pattern in (".*.partial-*", ".*.old-*"):
            for stale in folder.glob(pattern) if folder.is_dir() else ():
                shutil.rmtree(stale, ignore_errors=True)


def _plan(refs: list[TrackRef], song_names: bool, result: MusdbExportResult) -> list[_Track]:
    tracks, problems = [], []
    for ref in refs:
        if ref.split == OMITTED:
            result.omitted.append(ref.label)
            continue
        try:
            tracks.append(_check_track(ref, song_names))
        except TrackFolderError as exc:
            problems.append(str(exc).splitlines()[0])
    if problems:
        more = f" (and {len(problems) - 1} more track{'s' if len(problems) > 2 else ''} with problems)" \
            if len(problems) > 1 else ""
        raise MusdbExportError(f"cannot export: {problems[0]}{more}; nothing was written")
    if not tracks:
        raise MusdbExportError("no tracks to export (only Slakh2100's omitted/ folder)")
    seen: dict[str, str] = {}
    for t in tracks:
        if t.label in seen:
            raise MusdbExportError(f"{seen[t.label]} and {t.ref.label} would both be {t.label} in the export")
        seen[t.label] = t.ref.label
    return tracks


def _sums(track: _Track, recipe: Recipe, groups: dict[str, list[str]],
          cancel: CancelToken | None) -> dict[str, np.ndarray]:
    """Target -> the sum of its stems as float32 ``(frames, channels)`` at the track's rate; a mono stem is added to
    every channel of a stereo track. Stems are read one at a time (a long track's stems never all in memory)."""
    target_of_group = {g: t for t, gs in groups.items() for g in gs}
    target_of = {k: target_of_group[g] for g, keys in recipe.stem_groups(track.metadata).items() for k in keys}
    sums = {t: np.zeros((track.frames, track.channels), dtype=np.float32) for t in groups}
    for key, path in track.stems.items():
        check(cancel)
        target = target_of.get(key, OTHER)
        try:
            audio, _ = sf.read(str(path), dtype="float32", always_2d=True)
        except (RuntimeError, sf.LibsndfileError) as exc:
            raise TrackFolderError(f"{path}: unreadable audio ({str(exc).splitlines()[0] if str(exc) else exc})") \
                from None
        n = min(len(audio), track.frames)
        sums[target][:n] += audio[:n]  # (n, 1) broadcasts onto both channels of a stereo track
    return sums


def _mix_deviation(track: _Track, sums: dict[str, np.ndarray]) -> float | None:
    """Max |the track's mix - the sum of all its stems| (full scale 1), or None without a comparable mix."""
    if track.mix is None:
        return None
    try:
        mix, _ = sf.read(str(track.mix), dtype="float32", always_2d=True)
    except (RuntimeError, sf.LibsndfileError):
        return None
    total = np.zeros((track.frames, track.channels), dtype=np.float64)
    for a in sums.values():
        total += a
    if mix.shape[1] == 1 and track.channels == 2:
        total = total.mean(axis=1, keepdims=True)
    elif mix.shape[1] == 2 and track.channels == 1:
        total = np.repeat(total, 2, axis=1)
    padded = np.zeros_like(total)
    n = min(len(mix), len(total))
    padded[:n] = mix[:n]
    return float(np.max(np.abs(padded - total), initial=0.0))


def _stereo(audio: np.ndarray) -> np.ndarray:
    return np.repeat(audio, 2, axis=1) if audio.shape[1] == 1 else audio


def _write_float(path: Path, audio: np.ndarray) -> None:
    with atomic_path(path) as tmp:
        sf.write(str(tmp), audio, SAMPLE_RATE, subtype=SAMPLE_FORMATS["float32"], format="WAV")


def _export_track(track: _Track, recipe: Recipe, groups: dict[str, list[str]], sample_format: str, final: Path,
                  overwrite: bool, result: MusdbExportResult, cancel: CancelToken | None) -> None:
    sums = _sums(track, recipe, groups, cancel)
    deviation = _mix_deviation(track, sums)
    if deviation is not None:
        result.mix_deviation[track.label] = deviation
    if track.sample_rate != SAMPLE_RATE:
        sums = {t: resample(a, track.sample_rate, SAMPLE_RATE) for t, a in sums.items()}
    final.parent.mkdir(parents=True, exist_ok=True)
    with layout.staged_dir(final, overwrite=overwrite) as stage:
        if sample_format == "pcm16":
            mixture = None
            for target, audio in sums.items():
                check(cancel)
                clipped = int(np.count_nonzero(np.abs(audio) > 32767 / 32768))
                if clipped:
                    result.clipped[f"{track.label}/{target}.wav"] = clipped
                pcm = _stereo(to_int16(audio))
                write_audio(stage / f"{target}.wav", pcm, SAMPLE_RATE, "wav")
                mixture = pcm.astype(np.int32) if mixture is None else mixture + pcm
            assert mixture is not None
            clipped = int(np.count_nonzero((mixture > 32767) | (mixture < -32768)))
            if clipped:
                result.clipped[f"{track.label}/{MIXTURE}.wav"] = clipped
            write_audio(stage / f"{MIXTURE}.wav", np.clip(mixture, -32768, 32767).astype(np.int16), SAMPLE_RATE, "wav")
        else:
            total = None
            for target, audio in sums.items():
                check(cancel)
                out = _stereo(audio.astype(np.float32))
                _write_float(stage / f"{target}.wav", out)
                total = out.astype(np.float64) if total is None else total + out
            assert total is not None
            _write_float(stage / f"{MIXTURE}.wav", total.astype(np.float32))
        check(cancel)


def export_musdb(src: str | Path, out: str | Path, *, targets: str | list[str] | tuple[str, ...] = DEFAULT_TARGETS,
                 recipe: str | Path | Recipe = "band", sample_format: str = "pcm16", song_names: bool = False,
                 overwrite: bool = False, progress: ProgressFn | None = None,
                 cancel: CancelToken | None = None) -> MusdbExportResult:
    """Export the tracks under ``src`` into ``out`` in MUSDB18-HQ's layout (see the module doc); resumable."""
    if sample_format not in SAMPLE_FORMATS:
        raise MusdbExportError(f"unknown sample format {sample_format!r} (use {' or '.join(SAMPLE_FORMATS)})")
    rec = recipe if isinstance(recipe, Recipe) else load_recipe(recipe)
    names = parse_targets(targets)
    groups = target_groups(rec, names)
    src, out = Path(src), Path(out)
    refs = discover_tracks(src)
    s, d = src.resolve(), out.resolve()
    if d == s or s in d.parents or d in s.parents:
        raise MusdbExportError(f"the output {out} must be outside the source {src} (and not contain it)")
    result = MusdbExportResult(out, names)
    report(progress, "musdb", 0, len(refs), "checking tracks")
    tracks = _plan(refs, song_names, result)
    settings = _settings(rec, groups, sample_format, song_names)
    planned = {t.label: t.uuid for t in tracks}
    previous = _previous_export(out)
    stale: list[str] = []
    if previous == {} and not overwrite:
        raise MusdbExportError(f"{out} is not empty and holds no Slakh Studio MUSDB export: choose an empty or new "
                               "folder, or --overwrite to write into it")
    if previous:
        diffs = [k.replace("_", " ") for k, v in settings.items() if previous.get(k) != v]
        old = {str(e.get("track")): e.get("uuid") for e in previous["tracks"] if isinstance(e, dict)}
        stale = [name for name in old if name not in planned]
        other = [name for name in old if name in planned and old[name] != planned[name]]
        if not overwrite:
            if diffs:
                raise MusdbExportError(f"{out} holds a MUSDB export made with other settings ({', '.join(diffs)}): "
                                       "use --overwrite to export again, or another folder")
            if stale or other:
                name = (stale or other)[0]
                why = "is not in the source" if stale else "was exported from another song (its UUID differs)"
                raise MusdbExportError(f"{out} holds an export of other tracks ({name} {why}): use --overwrite to "
                                       "export again, or another folder")
    layout.check_writable(out)
    _clean_partials(out)
    for name in stale:  # tracks of the earlier export (ours, listed in its setup.yaml) that left the source
        folder = out / name
        if name.split("/", 1)[0] in SUBSETS and folder.is_dir() and folder.resolve().parent.parent == out.resolve():
            shutil.rmtree(folder)
            result.removed.append(name)
    result.validation = [t.name for t in tracks if t.ref.split == VALIDATION]
    result.counts = {subset: sum(t.subset == subset for t in tracks) for subset in SUBSETS}
    extras = {"format": EXPORT_FORMAT, "version": __version__, **settings,
              "tracks": [{"track": t.label, "source": t.ref.label, "uuid": t.uuid} for t in tracks]}
    header = ("# MUSDB18-HQ layout written by slakh-studio export-musdb. Read it with\n"
              "#   musdb.DB(root=THIS_FOLDER, is_wav=True, setup_file=\"setup.yaml\")  (split=\"valid\": validation)\n")
    atomic_write_text(out / SETUP_FILE, header + yaml.safe_dump(musdb_setup(names, result.validation, extras),
                                                                sort_keys=False, allow_unicode=True, width=120))
    total = len(tracks)
    for i, track in enumerate(tracks):
        check(cancel)
        report(progress, "musdb", i, total, "exporting tracks", item=track.label)
        final = out / track.subset / track.name
        if final.is_dir() and not overwrite:
            result.already_done.append(track.label)
            continue
        _export_track(track, rec, groups, sample_format, final, overwrite, result, cancel)
        result.exported.append(track.label)
    report(progress, "musdb", total, total, "done")
    return result
