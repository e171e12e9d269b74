"""The fuzz targets: each parser of outside input with its seed corpus, mutator, hypothesis strategy and oracle.

| target        | parser                                                        | clear errors        |
|---------------|---------------------------------------------------------------|---------------------|
| midi          | ``midi.load_song`` (read_midi_bytes, sanitize_smf, pretty_midi)| MidiLoadError       |
| bank          | ``patches.load_bank`` and ``bank_validate.validate_bank``      | BankError; findings |
| assignment    | ``patches.load_assignment``                                   | BankError           |
| session       | ``session.load_session`` (with and without the file checks)   | SessionError        |
| recipe        | ``recipes.load_recipe``                                       | RecipeError         |
| track_folder  | ``track_folder.load_track_folder`` (metadata.yaml, audio, MIDI)| TrackFolderError    |
| audio         | the separation CLI's input reader ``commands.separation._read_input`` | AudioInputError |
"""

from __future__ import annotations

import functools
import io
import json
import random
import struct
from pathlib import Path

import numpy as np
import soundfile as sf
import yaml
from hypothesis import strategies as st

from fuzz import mutate
from fuzz.engine import Input, Target

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO.parent / "shared" / "data" / "slakh-samples"
INPUT = "fuzz-input"  # every input is written under this name, so a clear error must mention it


# ---------------------------------------------------------------------------------------------- MIDI


@functools.lru_cache(maxsize=1)
def midi_seeds() -> list[tuple[str, bytes]]:
    """Real MIDI files: the demo song, Slakh samples (all_src.mid and per-stem MIDI), generated songs, edge forms."""
    import pretty_midi

    from slakh_gui.core.midi import songgen

    out = [("demo_song.mid", (REPO / "resources" / "demo_song.mid").read_bytes())]
    if SAMPLES.is_dir():
        for p in sorted(SAMPLES.rglob("*.mid")):
            out.append((f"{p.parent.name}-{p.name}", p.read_bytes()))
    for seed in (1, 2):
        pm = songgen.generate_song(seed, duration_s=8.0)
        buf = io.BytesIO()
        pm.write(buf)
        out.append((f"songgen{seed}.mid", buf.getvalue()))
    # edge forms that are valid: format 0, SMPTE division, RIFF wrapper, tiny one-note file
    pm = pretty_midi.PrettyMIDI(resolution=96)
    inst = pretty_midi.Instrument(0)
    inst.notes.append(pretty_midi.Note(100, 60, 0.0, 0.5))
    pm.instruments.append(inst)
    buf = io.BytesIO()
    pm.write(buf)
    tiny = buf.getvalue()
    out.append(("tiny.mid", tiny))
    rng = random.Random(0)
    note = mutate.note_pair(rng, 0, 60) + [mutate.EOT]
    out.append(("format0.mid", mutate.write_smf(0, 96, [note])))
    out.append(("smpte.mid", mutate.write_smf(1, 0xE250, [[mutate.EOT], note])))
    out.append(("rmid.mid", b"RIFF" + struct.pack("<I", len(tiny) + 12) + b"RMIDdata" + struct.pack("<I", len(tiny))
                + tiny))
    return out


def check_midi(data: Input, work: Path) -> str:
    from slakh_gui.core.midi.midifile import load_song

    path = work / f"{INPUT}.mid"
    path.write_bytes(data)
    song = load_song(path)
    assert song.tracks and song.end_time >= 0  # a loaded song is usable
    return path.name


_DELTAS = st.one_of(st.integers(0, 480), st.sampled_from([0, 0x7F, 0x80, 0x3FFF, 0x0FFFFFFF, 10**7, 10**7 + 1]),
                    st.integers(0, 2**35))
_DATA7 = st.integers(0, 127)


@st.composite
def _event(draw) -> mutate.Event:
    kind = draw(st.sampled_from(["note", "note", "note", "off", "cc", "prog", "bend", "tempo", "meta", "sysex",
                                 "raw", "timesig", "aftertouch"]))
    ch = draw(st.integers(0, 15))
    data = st.one_of(_DATA7, st.integers(0, 255))
    if kind == "note":
        raw = bytes([0x90 | ch, draw(data), draw(data)])
    elif kind == "off":
        raw = bytes([0x80 | ch, draw(data), draw(data)])
    elif kind == "cc":
        raw = bytes([0xB0 | ch, draw(data), draw(data)])
    elif kind == "prog":
        raw = bytes([0xC0 | ch, draw(data)])
    elif kind == "bend":
        raw = bytes([0xE0 | ch, draw(data), draw(data)])
    elif kind == "aftertouch":
        raw = bytes([0xD0 | ch, draw(data)])
    elif kind == "tempo":
        raw = mutate.tempo_event(draw(st.one_of(st.sampled_from([0, 1, 0xFFFFFF, 500000]), st.integers(0, 0xFFFFFF))))
    elif kind == "timesig":
        raw = b"\xff\x58" + draw(st.sampled_from([b"\x04", b"\x00", b"\x02"])) + draw(st.binary(min_size=0, max_size=4))
    elif kind == "meta":
        body = draw(st.binary(max_size=20))
        length = draw(st.one_of(st.just(len(body)), st.integers(0, 2**28)))
        raw = b"\xff" + bytes([draw(st.integers(0, 255))]) + mutate.vlq(length) + body
    elif kind == "sysex":
        body = draw(st.binary(max_size=20))
        raw = draw(st.sampled_from([b"\xf0", b"\xf7"])) + mutate.vlq(len(body)) + body
    else:
        raw = draw(st.binary(min_size=1, max_size=6))
    return draw(_DELTAS), raw


@st.composite
def smf_files(draw) -> bytes:
    """A hypothesis-built SMF: header fields, tracks of arbitrary events, optional running status and lies."""
    tracks = draw(st.lists(st.lists(_event(), max_size=30).map(lambda t: t + [mutate.EOT]), min_size=0, max_size=6))
    if draw(st.booleans()):  # often give the file real notes so it gets past "no notes" into pretty_midi
        for t in tracks[:1]:
            t[0:0] = [(0, b"\x90\x3c\x64"), (96, b"\x80\x3c\x00")]
    fmt = draw(st.sampled_from([0, 1, 1, 2, 3, 0xFFFF]))
    division = draw(st.one_of(st.sampled_from([96, 480, 960, 0, 1, 0x7FFF, 0x8000, 0xE250, 0xE728, 0xFF00]),
                              st.integers(0, 0xFFFF)))
    ntracks = draw(st.one_of(st.none(), st.integers(0, 0xFFFF)))
    lengths = {}
    if tracks and draw(st.booleans()) and draw(st.booleans()):
        lengths[draw(st.integers(0, len(tracks) - 1))] = draw(st.integers(0, 0xFFFFFFFF))
    data = mutate.write_smf(fmt, division, tracks, ntracks=ntracks, running_status=draw(st.booleans()),
                            lengths=lengths)
    cut = draw(st.one_of(st.none(), st.integers(0, len(data))))
    return data if cut is None else data[:cut]


MIDI = Target("midi", (), check_midi, midi_seeds, mutate.mutate_midi, smf_files, ".mid")


# ---------------------------------------------------------------------------------------------- YAML / JSON values

_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True),
    st.text(max_size=30), st.sampled_from(["", " ", "~", "S00", "slakh-studio-bank/1", "slakh-studio-session/1",
                                           "Piano", "Drums", "gain", "reverb", "flac", "wav", "x" * 300,
                                           "~nobody/x", "/" + "a" * 300, "\x00", "..", "/", "program_num"]),
)
_VALUES = st.recursive(_SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                        st.dictionaries(st.one_of(st.text(max_size=8), st.integers()),
                                                                        inner, max_size=4)), max_leaves=12)


def _paths(obj, prefix=()):
    yield prefix
    if len(prefix) > 12:  # shared objects may have made a cycle
        return
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, prefix + (i,))


@st.composite
def edited(draw, base, values=_VALUES):
    """``base`` (a JSON-like structure) with 1..4 edits at random paths: a value replaced, a key removed or added,
    or a value shared (YAML writes shared objects as anchors and aliases)."""
    import copy

    obj = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 4))):
        paths = list(_paths(obj))
        path = draw(st.sampled_from(paths))
        op = draw(st.sampled_from(["replace", "replace", "delete", "add", "share"]))
        if not path:
            if op == "replace":
                obj = draw(values)
            continue
        parent = obj
        for k in path[:-1]:
            parent = parent[k]
        key = path[-1]
        if op == "replace":
            parent[key] = draw(values)
        elif op == "delete":
            del parent[key]
        elif op == "add" and isinstance(parent[key], dict):
            parent[key][draw(st.one_of(st.text(max_size=8), st.integers()))] = draw(values)
        elif op == "add" and isinstance(parent[key], list):
            parent[key].append(draw(values))
        elif op == "share":  # the same object at two places (not inside itself: no cycles)
            other = draw(st.sampled_from(paths))
            if other != path[: len(other)]:
                target = obj
                for k in other:
                    target = target[k]
                parent[key] = target
    return obj


def _yaml_text(obj, flow: bool, unicode: bool) -> bytes:
    try:
        return yaml.safe_dump(obj, default_flow_style=flow, allow_unicode=unicode, sort_keys=False).encode()
    except (yaml.YAMLError, RecursionError, ValueError):
        return b"{}"


@st.composite
def yaml_docs(draw, base) -> bytes:
    obj = draw(edited(base))
    text = _yaml_text(obj, draw(st.booleans()), draw(st.booleans()))
    if draw(st.integers(0, 9)) == 0:
        text, _ = mutate.yaml_special(random.Random(draw(st.integers(0, 2**32))), text.decode())
        text = text.encode("utf-8", "surrogatepass")
    return text


@st.composite
def json_docs(draw, base) -> bytes:
    obj = draw(edited(base))
    try:
        text = json.dumps(obj, ensure_ascii=draw(st.booleans()), indent=draw(st.sampled_from([None, 2])))
    except (ValueError, TypeError, RecursionError):
        text = "{}"
    if draw(st.integers(0, 9)) == 0:
        text, _ = mutate.json_special(random.Random(draw(st.integers(0, 2**32))), text)
    return text.encode("utf-8", "surrogatepass")


# ---------------------------------------------------------------------------------------------- banks


@functools.lru_cache(maxsize=1)
def bank_seeds() -> list[tuple[str, bytes]]:
    out = [(p.name, p.read_bytes()) for p in sorted((REPO / "tests" / "data" / "banks").glob("*.yaml"))]
    out.append(("small_bank.yaml", (REPO / "tests" / "data" / "small_bank.yaml").read_bytes()))
    # the shipped banks are large (parsing them costs 0.2 s): keep their head (header + first patches)
    for name in ("default.yaml", "flakh.yaml"):
        text = (REPO / "patches" / name).read_text()
        out.append((f"{name}-head", text[: text.find("\n", 4000)].encode()))
    return out


def check_bank(data: Input, work: Path) -> str:
    from slakh_gui.core.bank.bank_validate import Finding, validate_bank
    from slakh_gui.core.bank.patches import BankError, load_bank

    path = work / f"{INPUT}.yaml"
    path.write_bytes(data)
    findings = validate_bank(path, render_check=False, soundfont_dirs=[])  # never raises: findings
    assert all(isinstance(f, Finding) and "\n" not in f.message for f in findings), findings
    try:
        bank = load_bank(path)
    except BankError:
        assert any(f.severity == "error" for f in findings), "load_bank refused a bank validate_bank passed"
        raise
    assert bank.patches and bank.classes
    return path.name


def _bank_strategy():
    base = yaml.safe_load((REPO / "tests" / "data" / "small_bank.yaml").read_text())
    return yaml_docs(base)


BANK = Target("bank", (), check_bank, bank_seeds, mutate.mutate_text, _bank_strategy, ".yaml")


# ---------------------------------------------------------------------------------------------- assignment


@functools.lru_cache(maxsize=1)
def _song_and_bank():
    from slakh_gui.core.bank.patches import load_bank
    from slakh_gui.core.midi.midifile import load_song

    return load_song(REPO / "resources" / "demo_song.mid"), load_bank(REPO / "tests" / "data" / "small_bank.yaml")


@functools.lru_cache(maxsize=1)
def assignment_seeds() -> list[tuple[str, bytes]]:
    from slakh_gui.core.bank.patches import assign_patches

    song, bank = _song_and_bank()
    a = assign_patches(song, bank, 3, locked={"S00"})
    return [("assignment.yaml", yaml.safe_dump(a.to_dict(), sort_keys=False).encode())]


def check_assignment(data: Input, work: Path) -> str:
    from slakh_gui.core.bank.patches import load_assignment

    path = work / f"{INPUT}.yaml"
    path.write_bytes(data)
    song, bank = _song_and_bank()
    a = load_assignment(path, song, bank)
    assert set(a.tracks) == {t.key for t in song.tracks}
    return path.name


ASSIGNMENT = Target("assignment", (), check_assignment, assignment_seeds, mutate.mutate_text,
                    lambda: yaml_docs(yaml.safe_load(assignment_seeds()[0][1])), ".yaml")


# ---------------------------------------------------------------------------------------------- sessions


@functools.lru_cache(maxsize=1)
def session_seeds() -> list[tuple[str, bytes]]:
    """Session files written by ``save_session`` (song and bank beside it, as check_session lays them out)."""
    import tempfile

    from slakh_gui.core.studio.session import Session, save_session

    out = []
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        sessions = [
            Session(song=t / "song.mid"),
            Session(song=t / "song.mid", seed=4, bank=t / "bank.yaml", patches={"S01": "timgm6mb.piano", "S05": None},
                    locked=["S01"], mixer={"strips": {"S00": {"gain_db": -2.0, "mute": False, "solo": False}}},
                    output_dir=t / "renders", options={"format": "wav", "tail": 2.0, "fx": True, "threads": 3},
                    range=(30.0, 45.5), track_number=12),
            Session(song=Path("/elsewhere/song.mid"), options={"flakh": True}),
        ]
        for i, s in enumerate(sessions):
            save_session(s, t / "s.slakh.json")
            out.append((f"session{i}.slakh.json", (t / "s.slakh.json").read_bytes()))
    return out


def check_session(data: Input, work: Path) -> str:
    from slakh_gui.core.studio.session import load_session

    (work / "song.mid").write_bytes((REPO / "resources" / "demo_song.mid").read_bytes())
    (work / "bank.yaml").write_bytes((REPO / "tests" / "data" / "small_bank.yaml").read_bytes())
    path = work / f"{INPUT}.slakh.json"
    path.write_bytes(data)
    raw = load_session(path, check_files=False)
    s = load_session(path)
    assert s.song.is_absolute() and s == raw
    s.render_options()  # the options of a loaded session are usable
    return path.name


SESSION = Target("session", (), check_session, session_seeds, mutate.mutate_json,
                 lambda: json_docs(json.loads(session_seeds()[1][1])), ".json")


# ---------------------------------------------------------------------------------------------- recipes


@functools.lru_cache(maxsize=1)
def recipe_seeds() -> list[tuple[str, bytes]]:
    return [(p.name, p.read_bytes()) for p in sorted((REPO / "resources" / "submixes").glob("*.yaml"))]


def check_recipe(data: Input, work: Path) -> str:
    from slakh_gui.core.dataset.recipes import load_recipe

    path = work / f"{INPUT}.yaml"
    path.write_bytes(data)
    r = load_recipe(path)
    r.stem_groups({"stems": {"S00": {"program_num": 0, "is_drum": False}, "S01": {"is_drum": True}}})
    return path.name


RECIPE = Target("recipe", (), check_recipe, recipe_seeds, mutate.mutate_text,
                lambda: yaml_docs(yaml.safe_load(recipe_seeds()[0][1])), ".yaml")


# ---------------------------------------------------------------------------------------------- track folders


def _folder(root: Path, keep_midi: bool = True) -> dict:
    out: dict = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if p.is_file() and (keep_midi or not rel.startswith("MIDI/")) and not rel.startswith("MIDI/"):
            out[rel] = p.read_bytes()
    return out


@functools.lru_cache(maxsize=1)
def track_folder_seeds() -> list[tuple[str, dict]]:
    """Copies of real Slakh2100 (FLAC) and BabySlakh (WAV) track folders, and a minimal one of ours."""
    out = []
    for root in [SAMPLES / "slakh2100_flac_redux" / "train" / "Track00001", SAMPLES / "babyslakh_16k" / "Track00001"]:
        if root.is_dir():
            out.append((f"{root.parent.name}-{root.name}", _folder(root)))
    buf = io.BytesIO()
    sf.write(buf, np.zeros(800, dtype=np.int16), 16000, format="WAV", subtype="PCM_16")
    meta = {"UUID": "x", "audio_dir": "stems", "stems": {"S00": {"program_num": 0, "is_drum": False,
                                                                 "inst_class": "Piano", "audio_rendered": True}}}
    out.append(("minimal", {"metadata.yaml": yaml.safe_dump(meta).encode(), "stems/S00.wav": buf.getvalue(),
                            "mix.wav": buf.getvalue()}))
    return out


def mutate_track_folder(rng: random.Random, data: dict, others: list) -> tuple[dict, str]:
    d = dict(data)
    audio = [k for k in d if k.endswith((".wav", ".flac"))]
    op = rng.choice(["meta", "meta", "meta", "audio", "audio", "midi", "remove", "dir", "swap", "empty"])
    if op == "meta" and "metadata.yaml" in d:
        d["metadata.yaml"], label = mutate.mutate_text(rng, d["metadata.yaml"])
        return d, "meta:" + label
    if op == "audio" and audio:
        k = rng.choice(audio)
        d[k], label = mutate.mutate_audio(rng, d[k])
        return d, f"audio:{label}"
    if op == "midi" and d.get("all_src.mid"):
        d["all_src.mid"], label = mutate.mutate_midi(rng, d["all_src.mid"])
        return d, "all_src:" + label
    if op == "remove" and d:
        k = rng.choice(sorted(d))
        del d[k]
        return d, "remove:" + k.replace("/", "_")
    if op == "dir":  # a folder where a file is expected
        k = rng.choice(["mix.wav", "mix.flac", "stems/S00.wav", "stems/S00.flac", "all_src.mid"])
        d = {x: v for x, v in d.items() if x != k}
        d[k] = None
        return d, "dir:" + k.replace("/", "_")
    if op == "swap" and len(audio) >= 2:  # audio in the wrong container / other sample rate
        a, b = rng.sample(audio, 2)
        d[a], d[b] = d[b], d[a]
        return d, "swap-audio"
    if op == "empty" and audio:
        d[rng.choice(audio)] = rng.choice([b"", b"RIFF", b"fLaC", b"MThd"])
        return d, "empty-audio"
    return mutate_track_folder(rng, data, others)


def check_track_folder(data: Input, work: Path) -> str:
    from fuzz.engine import write_input
    from slakh_gui.core.render.track_folder import load_track_folder

    path = write_input(data, work, INPUT)
    tf = load_track_folder(path)
    lengths = {len(a) for a in tf.stems.values()} | ({len(tf.mix)} if tf.mix is not None else set())
    assert tf.sample_rate > 0 and len(lengths) <= 2, (tf.sample_rate, lengths)
    return path.name


@st.composite
def track_folder_inputs(draw) -> dict:
    name, base = draw(st.sampled_from(track_folder_seeds()))
    meta = yaml.safe_load(base["metadata.yaml"])
    d = dict(base)
    d["metadata.yaml"] = draw(yaml_docs(meta))
    return d


TRACK_FOLDER = Target("track_folder", (), check_track_folder, track_folder_seeds, mutate_track_folder,
                      track_folder_inputs, "")


# ---------------------------------------------------------------------------------------------- separation input


@functools.lru_cache(maxsize=1)
def audio_seeds() -> list[tuple[str, bytes]]:
    out = []
    for p in [SAMPLES / "babyslakh_16k" / "Track00001" / "mix.wav",
              SAMPLES / "slakh2100_flac_redux" / "train" / "Track00001" / "mix.flac"]:
        if p.is_file():
            out.append((p.suffix.lstrip(".") + ":" + p.name, p.read_bytes()))
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((1600, 2)) * 0.1).astype(np.float32)
    for fmt, subtype, ch in [("WAV", "PCM_16", 1), ("WAV", "PCM_24", 2), ("WAV", "FLOAT", 2), ("WAV", "PCM_U8", 1),
                             ("FLAC", "PCM_16", 2), ("AIFF", "PCM_16", 1), ("OGG", "VORBIS", 1)]:
        buf = io.BytesIO()
        try:
            sf.write(buf, x[:, :ch], 8000, format=fmt, subtype=subtype)
        except (sf.LibsndfileError, ValueError, TypeError):
            continue
        ext = {"WAV": "wav", "FLAC": "flac", "AIFF": "aiff", "OGG": "ogg"}[fmt]
        out.append((f"{ext}:{subtype}", buf.getvalue()))
    return out


def check_audio(data: Input, work: Path) -> str:
    from slakh_gui.commands.separation import _read_input

    path = work / f"{INPUT}.wav"
    path.write_bytes(data)
    audio, sr = _read_input(path)
    assert sr > 0 and len(audio) > 0
    return path.name


def _audio_strategy():
    return st.builds(lambda seed, n: mutate.mutate_audio(random.Random(seed), audio_seeds()[n % len(audio_seeds())][1])[0],
                     st.integers(0, 2**32), st.integers(0, 100))


AUDIO = Target("audio", (), check_audio, audio_seeds, mutate.mutate_audio, _audio_strategy, ".wav")


def _set_clear() -> None:
    """The documented error classes (imported late: torch-free, but slakh_gui's imports take a moment)."""
    from slakh_gui.core.bank.patches import BankError
    from slakh_gui.core.dataset.recipes import RecipeError
    from slakh_gui.core.midi.midifile import MidiLoadError
    from slakh_gui.core.render.track_folder import TrackFolderError
    from slakh_gui.core.studio.session import SessionError
    from slakh_gui.separation.separation_errors import AudioInputError

    MIDI.clear = (MidiLoadError,)
    BANK.clear = (BankError,)
    ASSIGNMENT.clear = (BankError,)
    SESSION.clear = (SessionError,)
    RECIPE.clear = (RecipeError,)
    TRACK_FOLDER.clear = (TrackFolderError,)
    AUDIO.clear = (AudioInputError,)


_set_clear()
TARGETS = {t.name: t for t in (MIDI, BANK, ASSIGNMENT, SESSION, RECIPE, TRACK_FOLDER, AUDIO)}
