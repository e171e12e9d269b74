"""Player on a real PortAudio output stream: ALSA's null device (tests/conftest.py points ALSA_CONFIG_PATH at it
before sounddevice is imported). The null device takes audio as fast as the callback makes it, so these tests count
frames and blocks, never seconds; the tap slows the callback down a little so that captures stay small."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

from slakh_gui.core.studio.mixer import MixerState
from slakh_gui.core.studio.playback import PlaybackError, Player

pytestmark = pytest.mark.usefixtures("null_audio_device")

SR = 44100
BLOCK = 1024


def wait_for(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the audio callback")
        time.sleep(0.001)


class Tap:
    """Collects (start position, block) from the callback; sleeps a little per block (the null device has no clock)."""

    def __init__(self, delay: float = 0.0005):
        self.blocks: list[tuple[int, np.ndarray]] = []
        self.delay = delay
        self.lock = threading.Lock()

    def __call__(self, start: int, block: np.ndarray) -> None:
        with self.lock:
            self.blocks.append((start, block))
        time.sleep(self.delay)

    def snapshot(self) -> list[tuple[int, np.ndarray]]:
        with self.lock:
            return list(self.blocks)

    def audio(self) -> np.ndarray:
        return np.concatenate([b for _, b in self.snapshot()])


def expected(stems, gains, start: int, n: int, loop=None) -> np.ndarray:
    """What the player must produce for n frames from ``start``: the gained sum, wrapping at the loop end,
    zeros after the end of the song (float64). Stems missing from ``gains`` play at 1.0."""
    length = len(next(iter(stems.values())))
    parts, pos, left = [], start, n
    while left:
        end = loop[1] if loop is not None and pos < loop[1] else length
        k = min(left, end - pos)
        if k <= 0:
            parts.append(np.zeros(left))
            break
        parts.append(sum(gains.get(key, 1.0) * s[pos:pos + k].astype(np.float64) for key, s in stems.items()))
        pos, left = pos + k, left - k
        if loop is not None and pos >= loop[1]:
            pos = loop[0]
    return np.concatenate(parts)


@pytest.fixture
def stems() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    n = 2 * SR + 123  # not a whole number of blocks
    t = np.arange(n) / SR
    return {"S00": (0.2 * np.sin(2 * np.pi * 330 * t)).astype(np.float32),
            "S01": (0.1 * rng.uniform(-1, 1, n)).astype(np.float32),
            "S02": (0.05 * np.sign(np.sin(2 * np.pi * 5 * t))).astype(np.float32)}


@pytest.fixture
def tap() -> Tap:
    return Tap()


@pytest.fixture
def player(stems, tap):
    p = Player(sample_rate=SR, blocksize=BLOCK, tap=tap)
    p.set_sources(stems)
    yield p
    p.close()


def test_available_on_the_null_device():
    ok, why = Player.available()
    assert ok, why
    assert why.startswith("default (ALSA")


def test_plays_to_the_end_and_stops_by_itself(player, stems, tap):
    events = []
    player.on_state = events.append
    length = len(stems["S00"])
    assert player.position == 0 and not player.playing and player.frames_delivered == 0
    player.play()
    assert player.playing
    wait_for(lambda: player.frames_delivered > 0)
    wait_for(lambda: not player.playing)
    assert events == [True, False]
    assert player.position == player.length == length
    blocks = tap.snapshot()
    assert all(b.shape == (BLOCK, 2) for _, b in blocks)
    assert [s for s, _ in blocks] == list(range(0, length, BLOCK))  # position advanced block by block
    assert player.frames_delivered == len(blocks) * BLOCK >= length
    out = tap.audio()
    assert np.array_equal(out[:, 0], out[:, 1])  # mono duplicated
    np.testing.assert_allclose(out[:, 0], expected(stems, {}, 0, len(out)), atol=1e-6)  # the auto-mix, then zeros
    assert not np.any(out[length:])
    # play() at the end starts again from the top
    player.play()
    wait_for(lambda: not player.playing)
    assert tap.snapshot()[len(blocks)][0] == 0 and player.position == length


def test_output_is_the_mix_with_the_gains(player, stems, tap):
    state = MixerState.for_stems(stems)
    state.set_gain("S00", -6.0)
    state.set_gain("S02", 6.0)
    state.set_mute("S01", True)
    gains = state.linear_gains()
    player.set_gains(gains)
    player.play()
    wait_for(lambda: not player.playing)
    out = tap.audio()[:, 0]
    np.testing.assert_allclose(out, expected(stems, gains, 0, len(out)), atol=1e-6)
    assert player.gains == gains


def test_set_gains_changes_the_audio_from_the_next_block_on(player, stems, tap):
    length = len(stems["S00"])
    player.set_loop(0, length)  # plays until paused
    player.play()
    wait_for(lambda: player.frames_delivered >= 20 * BLOCK)
    old = {}
    state = MixerState.for_stems(stems)
    state.set_solo("S01", True)
    new = state.linear_gains()
    player.set_gains(new)
    delivered_then = player.frames_delivered
    wait_for(lambda: player.frames_delivered >= delivered_then + 20 * BLOCK)
    player.pause()
    kinds, offset = [], 0
    for start, block in tap.snapshot():
        got = block[:, 0].astype(np.float64)
        is_old = np.allclose(got, expected(stems, old, start, len(got), (0, length)), atol=1e-6)
        is_new = np.allclose(got, expected(stems, new, start, len(got), (0, length)), atol=1e-6)
        assert is_old != is_new, "a block mixes old and new gains"
        kinds.append("new" if is_new else "old")
        if offset > delivered_then:  # started after set_gains() had returned
            assert is_new
        offset += len(got)
    switch = kinds.index("new")
    assert switch >= 20 and kinds[switch:] == ["new"] * (len(kinds) - switch)


def test_loop_wraps_inside_a_block(player, stems, tap):
    loop = (1000, 3500)  # 2500 frames: wraps in the middle of blocks
    player.set_loop(*loop)
    assert player.loop == loop
    player.play()
    wait_for(lambda: player.frames_delivered >= 12 * BLOCK)
    player.pause()
    assert loop[0] <= player.position < loop[1]
    out = tap.audio()[:, 0]
    want = expected(stems, {}, 0, len(out), loop)
    np.testing.assert_allclose(out, want, atol=1e-6)
    src = expected(stems, {}, 0, len(stems["S00"]))
    np.testing.assert_allclose(want[3500:6000], src[1000:3500])  # the reference itself wraps seamlessly
    starts = [s for s, _ in tap.snapshot()]
    assert all(loop[0] <= s < loop[1] for s in starts[4:])
    # clear_loop: plays on to the end
    player.clear_loop()
    player.play()
    wait_for(lambda: not player.playing)
    assert player.position == len(stems["S00"])


def test_pause_keeps_the_position_and_stop_rewinds(player, stems, tap):
    player.set_loop(0, len(stems["S00"]))
    player.play()
    wait_for(lambda: player.frames_delivered >= 10 * BLOCK)
    player.pause()
    assert not player.playing
    pos, delivered = player.position, player.frames_delivered
    assert pos > 0
    time.sleep(0.05)
    assert player.frames_delivered == delivered and player.position == pos  # really stopped
    n = len(tap.snapshot())
    player.play()
    wait_for(lambda: len(tap.snapshot()) > n)
    assert tap.snapshot()[n][0] == pos  # resumes where it paused
    player.stop()
    assert not player.playing and player.position == 0


def test_seek(player, stems, tap):
    length = len(stems["S00"])
    player.seek(30000)
    assert player.position == 30000
    player.play()
    wait_for(lambda: not player.playing)
    blocks = tap.snapshot()
    assert blocks[0][0] == 30000
    out = tap.audio()[:, 0]
    np.testing.assert_allclose(out, expected(stems, {}, 30000, len(out)), atol=1e-6)
    player.seek(-5)
    assert player.position == 0
    player.seek(10**9)
    assert player.position == length


def test_mono_output(stems, tap):
    with Player(sample_rate=SR, blocksize=512, channels=1, tap=tap) as p:
        p.set_sources(stems)
        p.play()
        wait_for(lambda: not p.playing)
        blocks = tap.snapshot()
        assert all(b.shape == (512, 1) for _, b in blocks)
        np.testing.assert_allclose(tap.audio()[:, 0], expected(stems, {}, 0, len(blocks) * 512), atol=1e-6)


def test_validation(player, stems):
    with pytest.raises(ValueError, match="same length"):
        player.set_sources({"a": np.zeros(10, np.float32), "b": np.zeros(11, np.float32)})
    with pytest.raises(ValueError, match="mono"):
        player.set_sources({"a": np.zeros((10, 3), np.float32)})
    with pytest.raises(ValueError, match="loop must satisfy"):
        player.set_loop(500, 500)
    with pytest.raises(ValueError, match="loop must satisfy"):
        player.set_loop(0, len(stems["S00"]) + 1)
    with pytest.raises(ValueError, match="finite number >= 0"):
        player.set_gains({"S00": -1.0})
    with pytest.raises(ValueError, match="finite number >= 0"):
        player.set_gains({"S00": float("nan")})


def test_bogus_device_gives_a_clear_error():
    ok, why = Player.available(device=999)
    assert not ok and why == "no audio output device 999: PortAudio has devices 0 to 0"
    ok, why = Player.available(device="no such card")
    assert not ok and "no such card" in why
    p = Player(device=999)
    p.set_sources({"a": np.zeros(100, np.float32)})
    with pytest.raises(PlaybackError, match="no audio output device 999"):
        p.play()
    assert not p.playing
    p.close()


def run_python(code: str, **env) -> dict:
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


PROBE = """
    import json
    import numpy as np
    from slakh_gui.core.studio.playback import PlaybackError, Player
    ok, why = Player.available()
    p = Player()
    p.set_sources({"a": np.zeros(10, np.float32)})
    try:
        p.play()
        err = None
    except PlaybackError as e:
        err = str(e)
    import sys
    sd = sys.modules.get("sounddevice")
    n = len(sd.query_devices()) if sd else 0
    print(json.dumps({"ok": ok, "why": why, "err": err, "devices": n}))
"""


def test_no_output_device_is_reported_not_a_crash(tmp_path):
    # An ALSA default that cannot be opened (no card 99): PortAudio lists no device at all.
    conf = tmp_path / "asound.conf"
    conf.write_text("pcm.!default { type hw card 99 }\n")
    res = run_python(PROBE, ALSA_CONFIG_PATH=str(conf))
    if res["devices"]:
        pytest.skip("PortAudio found devices through another host API (JACK or OSS)")
    assert res == {"ok": False, "why": "no audio output device (PortAudio found none)",
                   "err": "no audio output device (PortAudio found none)", "devices": 0}


def test_without_sounddevice_the_module_still_imports():
    res = run_python("import sys\nsys.modules['sounddevice'] = None\n" + textwrap.dedent(PROBE))
    assert not res["ok"] and "sounddevice package is not installed" in res["why"]
    assert res["err"] == res["why"]
