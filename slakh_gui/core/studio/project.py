"""The document the desktop app edits: one song (or one opened track folder) and everything the user did with it.

Qt-free. The window observes a :class:`Project` (``project.subscribe(fn)``; ``fn(event)`` is called with one of
:data:`EVENTS`) and calls its operations; the CLI replays the same state through :meth:`Project.to_session` and
``slakh-studio render --session``. What the document holds:

- the song and the patch bank it is rendered with, the seed, the user's fixed patches and locks, the assignment
  they give;
- the render settings (format, tail, FluidSynth effects, Flakh, range mode), the output folder and track number;
- the audio on show (rendered stems and mix or an opened track folder's, with their sample rate) and the mixer
  state over it;
- whether anything is unsaved (:attr:`Project.dirty`) and where the session was saved.

Opening a track folder makes a read-only document: it has audio and a mixer, but nothing to render.
"""

from __future__ import annotations

import dataclasses
import math
import random
import shutil
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from slakh_gui import paths
from slakh_gui.core.bank import patches
from slakh_gui.core.constants import SAMPLE_RATE
from slakh_gui.core.errors import SlakhError
from slakh_gui.core.midi import midifile
from slakh_gui.core.render import pipeline
from slakh_gui.core.render.layout import track_name
from slakh_gui.core.studio import mixer
from slakh_gui.core.studio import session as sess

#: what observers are told: ``loaded`` a new song or track folder; ``loaded_bank`` the same song, another bank;
#: ``assignment`` patches, locks or seed changed;
#: ``audio`` new stems/mix; ``mixer`` a strip or the master moved; ``settings`` render settings, output or track
#: number; ``region`` the selected time range; ``dirty`` the unsaved flag flipped.
EVENTS = ("loaded", "loaded_bank", "assignment", "audio", "mixer", "settings", "region", "dirty")


class ProjectError(SlakhError, ValueError):
    """An operation the document cannot do now; the message says why in one line, for the user."""


@dataclass
class RenderSettings:
    """The render panel's options (the session file's ``options`` plus range mode)."""

    fmt: str = "flac"
    tail: float = pipeline.DEFAULT_TAIL
    fx: bool = False
    flakh: bool = False
    range_only: bool = False
    threads: int = 2
    stereo: bool = False  # stereo files, stems and mix (n, 2) in the app too (the render panel's Stereo toggle)
    pan: str = "auto"  # stereo: auto | midi | none

    def options(self, *, overwrite: bool = False) -> pipeline.RenderOptions:
        return pipeline.RenderOptions(fmt=self.fmt, tail=self.tail, fluid_effects=self.fx, flakh=self.flakh,
                                      threads=self.threads, overwrite=overwrite, stereo=self.stereo, pan=self.pan)


@dataclass(frozen=True)
class PatchState:
    """Everything the patch draw depends on besides song and bank: what undo/redo of patch edits restores."""

    seed: int
    fixed: tuple[tuple[str, str | None], ...]
    locked: frozenset[str]


@dataclass
class Audio:
    """The audio on show: stems (stem key -> float32 ``(n,)`` mono or ``(n, 2)`` stereo) and/or the mix, at one
    sample rate."""

    stems: dict[str, np.ndarray] = field(default_factory=dict)
    mix: np.ndarray | None = None
    sample_rate: int = SAMPLE_RATE
    lufs: dict[str, float | None] = field(default_factory=dict)
    peaks: dict[str, float] = field(default_factory=dict)
    metadata: dict | None = None
    name: str = ""  # the track folder's name (TrackNNNNN), "" before a render

    @property
    def empty(self) -> bool:
        return not self.stems and self.mix is None

    @property
    def stereo(self) -> bool:
        return any(np.ndim(a) == 2 for a in self.stems.values()) or (self.mix is not None and np.ndim(self.mix) == 2)

    @property
    def frames(self) -> int:
        if self.mix is not None:
            return len(self.mix)
        return len(next(iter(self.stems.values()))) if self.stems else 0


@dataclass
class RenderPlan:
    """What one render call needs (arguments of :func:`pipeline.render_track`)."""

    song: midifile.Song
    bank: patches.Bank
    assignment: patches.Assignment
    out_dir: Path
    options: pipeline.RenderOptions


def stem_peaks(stems: dict[str, np.ndarray]) -> dict[str, float]:
    return {k: mixer.peak_db(a) for k, a in stems.items()}


def next_free_track_number(output_dir: Path, start: int = 1) -> int:
    """The smallest ``n >= start`` whose ``output_dir/TrackNNNNN`` does not exist."""
    n = max(1, int(start))
    while (Path(output_dir) / track_name(n)).exists():
        n += 1
    return n


class Project:
    """One song's (or track folder's) document; see the module docstring."""

    def __init__(self, bank_path: Path | None = None, output_dir: Path | None = None) -> None:
        self.song: midifile.Song | None = None
        self.bank: patches.Bank | None = None
        self.bank_path: Path = Path(bank_path or paths.default_bank())
        self.folder_path: Path | None = None  # set when a track folder is open (read-only document)
        self.folder_plugins: dict[str, str] = {}
        self.seed = 0
        self.fixed: dict[str, str | None] = {}
        self.locked: set[str] = set()
        self.assignment: patches.Assignment | None = None
        self.settings = RenderSettings()
        self.output_dir = Path(output_dir or Path.home() / "slakh-studio-out")
        self.track_number = 1
        self.region: tuple[float, float] | None = None
        self.audio = Audio()
        self.mixer = mixer.MixerState()
        self._cache_dir = paths.render_cache_dir()
        weakref.finalize(self, shutil.rmtree, self._cache_dir, True)
        self.cache = pipeline.StemCache(spill_dir=self._cache_dir)  # on disk, memory-mapped
        self.session_path: Path | None = None
        self.dirty = False
        self._pending_mixer: dict | None = None
        self._listeners: list[Callable[[str], None]] = []

    # -------------------------------------------------------------------------------------------- observing
    def subscribe(self, fn: Callable[[str], None]) -> None:
        self._listeners.append(fn)

    def _emit(self, event: str) -> None:
        for fn in list(self._listeners):
            fn(event)

    def set_dirty(self, dirty: bool = True) -> None:
        if dirty != self.dirty:
            self.dirty = dirty
            self._emit("dirty")

    # -------------------------------------------------------------------------------------------- what is open
    @property
    def is_folder(self) -> bool:
        return self.folder_path is not None

    @property
    def can_render(self) -> bool:
        return self.song is not None and self.bank is not None and not self.is_folder

    @property
    def display_name(self) -> str:
        """What the title bar shows: the track folder's name, else the MIDI file's."""
        if self.folder_path is not None:
            return self.folder_path.name
        return self.song.path.name if self.song is not None else ""

    @property
    def sample_rate(self) -> int:
        return self.audio.sample_rate

    def load_song(self, song: midifile.Song, bank: patches.Bank) -> None:
        """A new song with ``bank``: fresh draw at the current seed, no audio, the next free track number, nothing
        unsaved."""
        self.song, self.bank = song, bank
        self.bank_path = Path(bank.path) if bank.path else self.bank_path
        self.folder_path, self.folder_plugins = None, {}
        self.fixed, self.locked = {}, set()
        self.cache.clear()
        self.audio = Audio()
        self.mixer = mixer.MixerState()
        self.region = None
        self.session_path = None
        self._reassign()
        self.track_number = next_free_track_number(self.output_dir, 1)
        self.dirty = False
        self._emit("loaded")

    def load_folder(self, folder, peaks: dict[str, float] | None = None) -> None:
        """An opened Slakh track folder (``track_folder.TrackFolder``): its audio and MIDI, nothing to render."""
        md = folder.metadata
        stems_md = {k: v for k, v in md.get("stems", {}).items() if isinstance(v, dict)}
        self.song, self.bank, self.assignment = folder.song, None, None
        self.folder_path = Path(folder.path)
        self.folder_plugins = {k: str(v.get("plugin_name", "")) for k, v in stems_md.items()}
        self.fixed, self.locked = {}, set()
        self.cache.clear()
        self.region = None
        self.session_path = None
        self.audio = Audio(dict(folder.stems), folder.mix, folder.sample_rate,
                           {k: v.get("integrated_loudness") for k, v in stems_md.items()},
                           peaks if peaks is not None else stem_peaks(folder.stems), md, self.folder_path.name)
        self.mixer = mixer.MixerState.for_stems(folder.stems)
        self.dirty = False
        self._emit("loaded")

    # -------------------------------------------------------------------------------------------- patches
    def _reassign(self) -> None:
        if self.song is None or self.bank is None:
            self.assignment = None
            return
        self.assignment = patches.assign_patches(self.song, self.bank, self.seed, fixed=self.fixed,
                                                 locked=self.locked)

    def stale_stems(self) -> set[str]:
        """Stems on show whose patch is no longer the one they were rendered with."""
        a = self.assignment
        if a is None or self.is_folder:
            return set()
        stems = (self.audio.metadata or {}).get("stems", {})
        rendered = {k: v.get("plugin_name") for k, v in stems.items() if isinstance(v, dict)}
        return {k for k, t in a.tracks.items() if k in rendered and t.patch_id and rendered[k] != t.patch_id}

    def patch_state(self) -> PatchState:
        return PatchState(self.seed, tuple(sorted(self.fixed.items())), frozenset(self.locked))

    def restore_patch_state(self, state: PatchState) -> None:
        """Put seed, fixed patches and locks back (undo/redo)."""
        self.seed, self.fixed, self.locked = state.seed, dict(state.fixed), set(state.locked)
        self._reassign()
        self.set_dirty()
        self._emit("assignment")

    def change_bank(self, bank: patches.Bank, state: PatchState | None = None) -> None:
        """Draw from another bank (a saved edit of this one, Flakh's): seed and locks kept, and every fixed patch
        that the new bank still has; the rendered audio stays on show."""
        if self.song is None or self.is_folder:
            raise ProjectError("open a MIDI file first")
        state = state or self.patch_state()
        self.bank = bank
        self.bank_path = Path(bank.path) if bank.path else self.bank_path
        self.seed = state.seed
        self.fixed = {k: v for k, v in state.fixed if v is None or v in bank.patches}
        self.locked = {k for k in state.locked if k in self.fixed}
        self._reassign()
        self._emit("loaded_bank")
        self._emit("assignment")

    def _require_song(self) -> None:
        if self.song is None or self.bank is None:
            raise ProjectError("open a MIDI file first" if not self.is_folder
                               else "an opened track folder has no patches to change")

    def set_seed(self, seed: int) -> None:
        """Draw again with ``seed``: locked tracks keep their patch, unlocked fixed choices are dropped."""
        self._require_song()
        if seed == self.seed:
            return
        self.seed = int(seed)
        self.fixed = {k: v for k, v in self.fixed.items() if k in self.locked}
        self._changed_patches()

    def set_patch(self, key: str, patch_id: str | None) -> None:
        """The user's choice of patch for one track (None: do not render it)."""
        self._require_song()
        if self.assignment is not None and key in self.assignment.tracks and \
                self.assignment.patch_id(key) == patch_id and key in self.fixed:
            return
        self.fixed[key] = patch_id
        self._changed_patches()

    def set_lock(self, key: str, locked: bool) -> None:
        """A locked track keeps its patch when the seed changes."""
        self._require_song()
        if locked == (key in self.locked):
            return
        if locked:
            self.locked.add(key)
            self.fixed[key] = self.assignment.patch_id(key) if self.assignment else None
        else:
            self.locked.discard(key)
        self._changed_patches()

    def reroll_unlocked(self, rng: random.Random | None = None) -> int:
        """A new random seed (locked tracks keep their patch); returns it."""
        seed = (rng or random.Random()).randrange(2**31 - 1)
        self.set_seed(seed)
        return seed

    def reroll_track(self, key: str, rng: random.Random | None = None) -> str | None:
        """Another patch of the track's pool for one unlocked track; returns it (None if there is no other)."""
        self._require_song()
        if key in self.locked:
            raise ProjectError(f"{key} is locked: unlock it to re-roll its patch")
        pool = [p.id for p in patches.draw_pool(self.bank, self.song.track(key))[1]]  # a drum class narrowed by kit
        current = self.assignment.patch_id(key) if self.assignment else None
        choices = [p for p in pool if p != current]
        if not choices:
            return None
        pid = (rng or random.Random()).choice(choices)
        self.set_patch(key, pid)
        return pid

    def _changed_patches(self) -> None:
        self._reassign()
        self.set_dirty()
        self._emit("assignment")

    # -------------------------------------------------------------------------------------------- settings
    def update_settings(self, **changes) -> None:
        """Change render settings by field name (``fmt``, ``tail``, ``fx``, ``flakh``, ``range_only``, ``stereo``,
        ``pan``)."""
        new = dataclasses.replace(self.settings, **changes)
        if new != self.settings:
            self.settings = new
            self.set_dirty()
            self._emit("settings")

    def set_output(self, output_dir: Path | None = None, track_number: int | None = None) -> None:
        changed = False
        if output_dir is not None and Path(output_dir) != self.output_dir:
            self.output_dir, changed = Path(output_dir).expanduser(), True
        if track_number is not None and int(track_number) != self.track_number:
            self.track_number, changed = int(track_number), True
        if changed:
            if self.song is not None:
                self.set_dirty()
            self._emit("settings")

    def set_region(self, region: tuple[float, float] | None) -> None:
        region = (float(region[0]), float(region[1])) if region and region[1] > region[0] else None
        if region != self.region:
            self.region = region
            self._emit("region")

    # -------------------------------------------------------------------------------------------- rendering
    def track_dir(self, number: int | None = None) -> Path:
        return self.output_dir / track_name(self.track_number if number is None else number)

    def next_free_track_number(self) -> int:
        return next_free_track_number(self.output_dir, self.track_number)

    def render_plan(self, *, overwrite: bool = False, track_number: int | None = None) -> RenderPlan:
        """Check that a render can start now and say what it renders where; raises :class:`ProjectError`.

        Without ``overwrite`` an existing track folder is refused (``FileExistsError``): the caller asks the user,
        then renders to :meth:`next_free_track_number` or again with ``overwrite=True``."""
        if self.is_folder:
            raise ProjectError("an opened track folder is already rendered: open its MIDI file to render again")
        if self.song is None or self.bank is None or self.assignment is None:
            raise ProjectError("open a MIDI file first")
        song = self.song
        if self.settings.range_only:
            if not self.region:
                raise ProjectError("range mode: Shift+drag a region on the mix spectrogram first")
            if self.settings.flakh:
                raise ProjectError("range mode and Flakh mode don't mix: Flakh's mix is the whole file rendered")
            song = midifile.excerpt(self.song, *self.region)
        out_dir = self.track_dir(track_number)
        if out_dir.exists() and not overwrite:
            raise FileExistsError(f"{out_dir} already exists")
        return RenderPlan(song, self.bank, self.assignment, out_dir, self.settings.options(overwrite=overwrite))

    def render(self, plan: RenderPlan, *, progress=None, cancel=None) -> tuple[pipeline.TrackResult, dict]:
        """Run a plan (in a worker thread): the track result and each stem's peak (dB)."""
        result = pipeline.render_track(plan.song, plan.bank, plan.assignment, plan.out_dir, plan.options,
                                       progress=progress, cancel=cancel, cache=self.cache, keep_audio=True)
        peaks = {k: mixer.gain_to_db(v) for k, v in result.peaks.items()}  # measured while writing
        return result, peaks if set(peaks) == set(result.stems or {}) else stem_peaks(result.stems or {})

    def set_render_result(self, result: pipeline.TrackResult, peaks: dict[str, float],
                          sample_rate: int = SAMPLE_RATE) -> None:
        """Show a finished render: its stems and mix; mixer strips kept where the stem is still there."""
        md = result.metadata
        # every written stem sits at the normalization target, scaled by the uniform no-clip gain
        level = md["normalization_factor"] + 20 * math.log10(md["overall_gain"])
        stems = result.stems or {}
        self.audio = Audio(dict(stems), result.mix, sample_rate, {k: level for k in stems}, peaks, md,
                           result.path.name)
        old = self.mixer.strips
        self.mixer = mixer.MixerState({k: old.get(k, mixer.Strip()) for k in stems}, self.mixer.master_db)
        if self._pending_mixer:
            self._apply_mixer_dict(self._pending_mixer)
            self._pending_mixer = None
        self.track_number = int(result.path.name[5:]) if result.path.name[5:].isdigit() else self.track_number
        self._emit("audio")

    # -------------------------------------------------------------------------------------------- mixer
    def set_strip(self, key: str, *, gain_db: float | None = None, mute: bool | None = None,
                  solo: bool | None = None, pan: float | None = None) -> None:
        strip = self.mixer.strips.setdefault(key, mixer.Strip())
        before = dataclasses.replace(strip)
        if gain_db is not None:
            self.mixer.set_gain(key, gain_db)
        if pan is not None:
            self.mixer.set_pan(key, pan)
        if mute is not None:
            strip.mute = bool(mute)
        if solo is not None:
            strip.solo = bool(solo)
        if strip != before:
            self.set_dirty()
            self._emit("mixer")

    def set_mixer(self, state: mixer.MixerState) -> None:
        """Replace the whole mixer state (undo/redo, reset)."""
        state = state.copy()
        if state != self.mixer:
            self.mixer = state
            self.set_dirty()
            self._emit("mixer")

    def reset_mixer(self) -> None:
        state = mixer.MixerState.for_stems(self.mixer.strips)
        self.set_mixer(state)

    def mixer_copy(self) -> mixer.MixerState:
        return self.mixer.copy()

    def _apply_mixer_dict(self, data: dict) -> None:
        """A session's mixer, read by the mixer's own parser; strips of stems not rendered are left out, and a
        mixer state the parser refuses is ignored (the session file stores it as an opaque object)."""
        try:
            saved = mixer.MixerState.from_dict(data or {})
        except ValueError:
            return
        self.mixer.strips.update({k: s for k, s in saved.strips.items() if k in self.mixer.strips})
        self.mixer.master_db = saved.master_db

    def gains(self) -> dict[str, float] | dict[str, tuple[float, float]]:
        """What the player and the mix take: linear gains, or (left, right) pairs once a stem is stereo or a strip
        is panned (:meth:`MixerState.mix_gains`)."""
        return self.mixer.mix_gains(self.audio.stems)

    def current_mix(self) -> np.ndarray:
        """What the mixer makes of the stems now (the mix itself if there are no stems)."""
        if not self.audio.stems:
            return self.audio.mix if self.audio.mix is not None else np.zeros(0, np.float32)
        return mixer.mix_all(self.audio.stems, self.gains(), self.audio.frames)

    def export_sources(self) -> tuple[dict[str, np.ndarray], mixer.MixerState]:
        """Stems and mixer state an export writes (the mix alone, at unity, when only a mix is open)."""
        if self.audio.stems:
            return self.audio.stems, self.mixer_copy()
        if self.audio.mix is not None:
            return {"mix": self.audio.mix}, mixer.MixerState()
        raise ProjectError("nothing to export yet: render or open a track")

    # -------------------------------------------------------------------------------------------- sessions
    def to_session(self) -> sess.Session:
        if self.song is None or self.bank is None or self.is_folder:
            raise ProjectError("open a MIDI file first (a track folder is not a session)")
        st = self.settings
        return sess.Session(
            song=self.song.path, seed=self.seed, bank=self.bank_path, patches=dict(self.fixed),
            locked=sorted(self.locked), mixer=self.mixer.to_dict() if self.audio.stems else (self._pending_mixer or {}),
            output_dir=self.output_dir,
            options={"format": st.fmt, "tail": st.tail, "fx": st.fx, "flakh": st.flakh, "stereo": st.stereo,
                     "pan": st.pan, "threads": st.threads},
            range=self.region if (st.range_only and self.region) else None, track_number=self.track_number)

    def save_session(self, path: Path) -> None:
        sess.save_session(self.to_session(), path)
        self.session_path = Path(path)
        self.set_dirty(False)

    def apply_session(self, s: sess.Session, path: Path | None = None) -> None:
        """After the session's song and bank were loaded: its seed, patches, locks, settings, output and mixer."""
        self._require_song()
        o = s.options
        self.seed, self.fixed, self.locked = s.seed, dict(s.patches), set(s.locked)
        self._reassign()
        self.settings = RenderSettings(fmt=o.get("format", "flac"), tail=float(o.get("tail", pipeline.DEFAULT_TAIL)),
                                       fx=bool(o.get("fx", False)), flakh=bool(o.get("flakh", False)),
                                       range_only=bool(s.range), threads=int(o.get("threads", 2)),
                                       stereo=bool(o.get("stereo", False)), pan=str(o.get("pan", "auto")))
        if s.output_dir:
            self.output_dir = Path(s.output_dir)
        self.track_number = s.track_number
        self.region = (float(s.range[0]), float(s.range[1])) if s.range else None
        self._pending_mixer = s.mixer or None
        self.session_path = Path(path) if path else None
        self.dirty = False
        for event in ("assignment", "settings", "region", "dirty"):
            self._emit(event)
