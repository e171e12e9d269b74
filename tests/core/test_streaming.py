"""Block-wise rendering through files: the same samples as the in-memory pipeline, memory that does not grow."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from slakh_gui.core import diskaudio
from slakh_gui.core.bank import patches
from slakh_gui.core.midi import midifile
from slakh_gui.core.render import pipeline
from tests.conftest import DATA, REPO

STREAM = DATA / "stream"
sys.path.insert(0, str(STREAM))
import make_reference  # noqa: E402


@pytest.mark.parametrize("case", sorted(make_reference.CASES))
def test_streaming_render_reproduces_the_in_memory_pipeline(tmp_path, case):
    """reference.json was written by the pipeline that held every stem in memory (before block-wise rendering)."""
    expected = json.loads((STREAM / "reference.json").read_text())[case]
    assert make_reference.render_case(case, tmp_path / "Track00001") == expected


def test_keep_audio_is_memory_mapped_and_matches_the_files(tmp_path, small_song_path, small_bank_path):
    song = midifile.load_song(small_song_path)
    bank = patches.load_bank(small_bank_path)
    res = pipeline.render_track(song, bank, patches.assign_patches(song, bank, 1), tmp_path / "Track00001",
                                keep_audio=True)
    assert set(res.stems) == set(res.rendered) and set(res.peaks) == set(res.stems)
    for key, audio in res.stems.items():
        assert isinstance(audio, np.memmap) and not audio.flags.writeable and audio.dtype == np.float32
        pcm = sf.read(res.path / "stems" / f"{key}.flac", dtype="int16")[0]
        assert np.array_equal(pcm, np.clip(np.rint(audio * 32768.0), -32768, 32767).astype(np.int16))
        assert res.peaks[key] == float(np.max(np.abs(audio)))
    assert isinstance(res.mix, np.memmap) and len(res.mix) == len(pcm)
    assert not list(Path(tmp_path).glob(".*")), "no work or staging folder left beside the track"


def test_release_drops_mapped_pages_and_keeps_the_data(tmp_path):
    def rss_mib() -> float:
        return int(Path("/proc/self/statm").read_text().split()[1]) * 4096 / 2**20

    n = 1 << 25  # 128 MiB of float32
    a = diskaudio.create(tmp_path / "a.npy", n)
    before = rss_mib()
    for s, e in diskaudio.blocks(n):
        a[s:e] = np.float32(s)
    assert rss_mib() - before > 100  # written pages of a mapping count as resident...
    diskaudio.release(a)
    assert rss_mib() - before < 16  # ...until released
    a.flush()
    b = diskaudio.open_read(tmp_path / "a.npy", unlink=True)
    assert not (tmp_path / "a.npy").exists() and b[diskaudio.BLOCK * 3 + 5] == diskaudio.BLOCK * 3
    assert diskaudio.peak(np.asarray(b)) == float(n - diskaudio.BLOCK) and rss_mib() - before < 16
    c = diskaudio.create(tmp_path / "c.npy", n // 2, 2)  # stereo: (frames, 2), released by frames
    before = rss_mib()
    for s, e in diskaudio.blocks(n // 2):
        c[s:e] = np.float32(1.0)
    assert rss_mib() - before > 100
    diskaudio.release(c, 0, n // 4)
    assert 40 < rss_mib() - before < 80  # the first half of the frames only
    diskaudio.release(c)
    assert rss_mib() - before < 16
    plain = np.ones(10, np.float32)
    diskaudio.release(plain)  # an in-memory array: nothing happens to it
    assert plain.sum() == 10


_RENDER_PEAK = textwrap.dedent("""
    import resource, sys
    from pathlib import Path
    from slakh_gui.core.midi import midifile
    from slakh_gui.core.bank import patches
    from slakh_gui.core.render import pipeline
    song = midifile.load_song(sys.argv[1])
    bank = patches.load_bank(sys.argv[2])
    pipeline.render_track(song, bank, patches.assign_patches(song, bank, 0), Path(sys.argv[3]),
                          pipeline.RenderOptions(stereo=sys.argv[4] == "stereo"))
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
""")


def _sparse_song(path: Path, minutes: float, tracks: int) -> Path:
    """``tracks`` piano/bass/guitar/strings tracks with a note every 2 s (cheap to synthesize, long to hold)."""
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(initial_tempo=120)
    for i in range(tracks):
        inst = pretty_midi.Instrument([0, 33, 25, 48][i % 4])
        t = 0.5 + 0.3 * i
        while t < minutes * 60:
            inst.notes.append(pretty_midi.Note(90, 48 + (int(t) * 7 + i * 5) % 24, t, t + 0.5))
            t += 2.0
        pm.instruments.append(inst)
    pm.write(str(path))
    return path


@pytest.mark.parametrize("channels", ["mono", "stereo"])
def test_peak_memory_does_not_grow_with_the_song(tmp_path, small_bank_path, channels):
    """Peak RSS of a 10-minute 6-track render is within 1.3x of a 2-minute one (held in memory, the 10-minute
    song's stems alone would be 6 x 106 MB, twice that in stereo, several times the 2-minute render's whole
    footprint)."""
    peaks = {}
    for minutes in (2, 10):
        song = _sparse_song(tmp_path / f"{minutes}.mid", minutes, 6)
        proc = subprocess.run([sys.executable, "-c", _RENDER_PEAK, str(song), str(small_bank_path),
                               str(tmp_path / f"out{minutes}" / "Track00001"), channels], capture_output=True, text=True,
                              cwd=REPO, check=True)
        peaks[minutes] = int(proc.stdout.split()[-1]) / 1024
    assert peaks[10] <= 1.3 * peaks[2], peaks


def test_track_folder_audio_is_decoded_into_mapped_files(tmp_path, rendered):
    from slakh_gui.core.render import track_folder

    result, _, _ = rendered
    folder = track_folder.load_track_folder(result.path)
    for key, audio in folder.stems.items():
        assert isinstance(audio, np.memmap) and not audio.flags.writeable
        assert np.array_equal(audio, sf.read(result.path / "stems" / f"{key}.flac", dtype="float32")[0])
    stereo = (np.random.default_rng(3).standard_normal((diskaudio.BLOCK + 1000, 2)) * 0.2).astype(np.float32)
    sf.write(tmp_path / "st.wav", stereo, 44100, subtype="FLOAT")
    mono, sr = track_folder.read_mono(tmp_path / "st.wav")
    assert sr == 44100 and isinstance(mono, np.memmap) and np.array_equal(mono, stereo.mean(axis=1))


def test_long_spectrograms_have_bounded_frames():
    from slakh_gui.core.studio.spectrogram import MAX_FRAMES, compute_spectrogram, display_hop

    thirty_min = 30 * 60 * 44100
    hop = display_hop(thirty_min, 512)
    assert hop % 512 == 0 and 1 + thirty_min // hop <= MAX_FRAMES and display_hop(3 * 60 * 44100, 512) == 512
    tone = np.sin(np.arange(44100 * 4) * (2 * np.pi * 1000 / 44100)).astype(np.float32)
    spec = compute_spectrogram(tone, 44100, hop=display_hop(len(tone), 512, max_frames=100))
    assert spec.n_frames <= 100 and abs(spec.duration - 4.0) < 1e-9


@pytest.mark.parametrize("channels", [1, 2])
def test_mix_sum_on_two_threads_gives_the_same_samples(tmp_path, channels):
    """stream_mix sums runs of frames on two threads: the mix and its gains equal the one-thread sum exactly."""
    from slakh_gui.core.render import automix

    rng = np.random.default_rng(5)
    n = 9 * automix._CHUNK + 123  # runs of whole chunks and a ragged end
    stems = {}
    for i in range(3):
        a = diskaudio.create(tmp_path / f"s{i}.npy", n, channels)
        a[:] = (rng.normal(0, 0.1 * (i + 1), a.shape) * np.sin(np.linspace(0, 20 + i, n))[:, None].reshape(
            (n,) + (1,) * (channels - 1))).astype(np.float32)
        stems[f"S0{i}"] = a
    one = automix.stream_mix(stems, 44100, diskaudio.create(tmp_path / "m1.npy", n, channels), threads=1)
    two = automix.stream_mix(stems, 44100, diskaudio.create(tmp_path / "m2.npy", n, channels), threads=2)
    assert np.array_equal(np.asarray(one.mix), np.asarray(two.mix)) and np.any(np.asarray(one.mix))
    assert one.overall_gain == two.overall_gain < 1.0 and one.gains == two.gains


@pytest.mark.parametrize("channels", [1, 2])
def test_frame_writer_fills_a_file_that_maps_back(tmp_path, channels):
    n = 3 * diskaudio.BLOCK + 17
    rng = np.random.default_rng(channels)
    data = rng.standard_normal(diskaudio.frame_shape(n, channels)).astype(np.float32)
    w = diskaudio.FrameWriter(tmp_path / "a.npy", n, channels)
    assert len(w) == n and w.ndim == data.ndim
    cut = [0, 1000, diskaudio.BLOCK + 5, n - 40]  # uneven pieces, out of order, the last 40 frames never written
    for s, e in reversed(list(zip(cut, cut[1:], strict=False))):
        diskaudio.store(w, s, data[s:e])
    arr = w.open()
    assert isinstance(arr, np.memmap) and arr.shape == data.shape and arr.flags.writeable
    assert np.array_equal(arr[: n - 40], data[: n - 40]) and not np.any(arr[n - 40 :])
    assert np.array_equal(np.load(tmp_path / "a.npy"), arr)  # a plain .npy file
    with pytest.raises(ValueError, match="closed"):
        w.write(0, data[:1])


def test_frame_writer_refuses_frames_outside_the_file_or_of_other_channels(tmp_path):
    w = diskaudio.FrameWriter(tmp_path / "a.npy", 100, 2)
    with pytest.raises(ValueError, match="outside"):
        w.write(90, np.zeros((11, 2), np.float32))
    with pytest.raises(ValueError, match="outside"):
        w.write(-1, np.zeros((1, 2), np.float32))
    with pytest.raises(ValueError, match="do not fit"):
        w.write(0, np.zeros(10, np.float32))
    w.write(90, np.ones((10, 2), np.float32))
    assert np.array_equal(w.open("r")[90:], np.ones((10, 2), np.float32))


@pytest.mark.parametrize("stereo", [False, True])
@pytest.mark.parametrize("fx", [False, True])
def test_rendering_into_a_frame_writer_gives_the_in_memory_samples(tmp_path, stereo, fx):
    from slakh_gui.core.render import synth
    from tests.core.test_render import job, notes_inst

    n = synth.length_samples(2.0) + 123  # not a whole number of chunks
    j = job(notes_inst(48), "S00")
    ref = synth.render_one(j, n, stereo=stereo, fluid_effects=fx)
    w = diskaudio.FrameWriter(tmp_path / "s.npy", n, 2 if stereo else 1)
    got = synth.render_one(j, n, stereo=stereo, fluid_effects=fx, out=w)
    assert isinstance(got, np.memmap) and np.any(ref) and np.array_equal(got, ref)
    whole = synth.render_whole(midi_bytes(j.instrument), SF2_TIM, n, stereo=stereo, fluid_effects=fx,
                               out=diskaudio.FrameWriter(tmp_path / "w.npy", n, 2 if stereo else 1))
    assert np.any(whole) and np.array_equal(whole, synth.render_whole(midi_bytes(j.instrument), SF2_TIM, n, stereo=stereo,
                                                    fluid_effects=fx))


SF2_TIM = Path("/usr/share/sounds/sf2/TimGM6mb.sf2")


def midi_bytes(inst) -> bytes:
    import io

    import pretty_midi

    pm = pretty_midi.PrettyMIDI()
    pm.instruments.append(inst)
    buf = io.BytesIO()
    pm.write(buf)
    return buf.getvalue()


@pytest.mark.parametrize("channels", [1, 2])
def test_write_pcm_stops_between_blocks_when_cancelled_and_leaves_no_file(tmp_path, channels):
    """A render cancelled while its files are encoded stops within a block, not after the whole file."""
    from slakh_gui.core.jobs import Cancelled, CancelToken

    shape = (3 * diskaudio.BLOCK,) if channels == 1 else (3 * diskaudio.BLOCK, 2)
    source = np.full(shape, 0.25, dtype=np.float32)
    token = CancelToken()
    blocks = []

    def scale(block: np.ndarray) -> np.ndarray:
        blocks.append(len(block))
        token.cancel()  # while the first block is written
        return block

    with pytest.raises(Cancelled):
        diskaudio.write_pcm(tmp_path / "S00.flac", source, scale, 44100, "flac", cancel=token)
    assert blocks == [diskaudio.BLOCK]
    assert list(tmp_path.iterdir()) == []
    # not cancelled: every block, and the file reads back
    peak = diskaudio.write_pcm(tmp_path / "S00.flac", source, lambda b: b * np.float32(0.5), 44100, "flac",
                               cancel=CancelToken())
    assert peak == pytest.approx(0.125)
    back, sr = sf.read(tmp_path / "S00.flac", dtype="int16")
    assert sr == 44100 and back.shape == shape and np.all(back == 4096)
