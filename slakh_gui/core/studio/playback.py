"""Live playback of rendered stems through the sound card, mixed in the audio callback (sounddevice/PortAudio).

Usage::

    from slakh_gui.core.constants import SAMPLE_RATE
    from slakh_gui.core.studio.playback import Player
    from slakh_gui.core.studio.mixer import MixerState

    ok, why = Player.available()          # never raises: (False, "no audio output device (PortAudio found none)")
    player = Player(sample_rate=SAMPLE_RATE)  # opens nothing yet; the stream is opened by open() or the first play()
    player.set_sources(stems)             # {"S00": float32 (n,) or (n, 2) array, ...}, all the same length
    state = MixerState.for_stems(stems)
    state.set_solo("S01", True)
    player.set_gains(state.stereo_gains())   # (left, right) per stem, pan included; heard from the next block
    player.set_loop(SAMPLE_RATE, 5 * SAMPLE_RATE)  # optional: wraps seamlessly, inside a block
    player.play()
    ...
    player.position                       # frames mixed so far (ahead of the loudspeaker by the output latency)
    player.pause(); player.seek(0); player.stop()   # stop = pause + rewind
    player.close()                        # or use ``with Player() as player:``

How it works: ``play()`` opens (once) and starts a ``sounddevice.OutputStream`` (float32, ``channels`` channels,
2 by default: the stereo mix; a 1-channel stream gets its fold-down, channels past the second are silent). PortAudio
calls ``_callback`` from its own thread for every block; the callback takes one short lock to read the current
sources, gains, loop and position (plain references the main thread swaps under that lock: ``set_gains`` builds a
new dict and swaps it in, so it takes effect at the next block), mixes with ``mixer.mix_block_stereo`` (each stem's
(left, right) gain: fader and pan) into buffers allocated once, copies the stereo mix into the output channels and
updates the position. At the end (no loop) it
zero-pads the last block, raises ``sounddevice.CallbackStop`` and playback stops by itself with
``position == length``. ``pause()`` stops the stream (``Stream.stop``: already queued blocks still play out).

``on_state(playing)`` is called on every change of ``playing``; when playback ends by itself it is called from
PortAudio's thread, so a GUI must hand it over to its own thread (a Qt signal with a queued connection does).
``tap(start_frame, block)`` (tests, meters) gets a copy of every block handed to PortAudio, shape
(frames, channels), and the position the block started at; it runs in the audio thread and must be quick.

sounddevice (and through it PortAudio) is imported lazily, so this module imports on machines without a sound card
or without PortAudio; ``available()`` reports such machines with a reason instead of raising. PortAudio lists the
devices once, when sounddevice is first imported: a device plugged in later needs a restart of the program.
On a headless Linux machine, an ALSA configuration file with ``pcm.!default { type null }`` named by
``ALSA_CONFIG_PATH`` (set before sounddevice is imported) gives a real null output device; the tests use that.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable

import numpy as np

from slakh_gui.core import audio_io, diskaudio
from slakh_gui.core.errors import SlakhError
from slakh_gui.core.studio.mixer import mix_block_stereo, pan_gains

_RELEASE_FRAMES = 1 << 19  # every ~12 s of playback the stems' mapped pages are handed back


class PlaybackError(SlakhError, RuntimeError):
    """The audio output could not be opened or started; the message says why."""


def _sounddevice():
    """Import sounddevice, turning a missing package or PortAudio library into PlaybackError."""
    try:
        import sounddevice  # lazy: PortAudio is initialized on import
    except ImportError as e:
        raise PlaybackError(f"audio playback unavailable: the sounddevice package is not installed ({e})") from e
    except OSError as e:  # sounddevice raises OSError when the PortAudio library is missing
        raise PlaybackError(f"audio playback unavailable: PortAudio library not found ({e})") from e
    return sounddevice


def _describe_device(sd, device) -> str:
    info = sd.query_devices(device, kind="output")
    hostapi = sd.query_hostapis(info["hostapi"])["name"]
    return f"{info['name']} ({hostapi}, device {info['index']}, {info['max_output_channels']} output channels)"


def _open_stream(sd, device, sample_rate: int, blocksize: int, channels: int, callback=None, finished=None):
    """Open (not start) an output stream; PlaybackError with a clear message if it cannot be."""
    what = "the default audio output device" if device is None else f"audio output device {device!r}"
    try:
        devices = sd.query_devices()
        outputs = [d for d in devices if d["max_output_channels"] > 0]
        if not outputs:
            raise PlaybackError("no audio output device (PortAudio found none)")
        if device is None:
            try:
                sd.query_devices(kind="output")
            except sd.PortAudioError:
                names = ", ".join(d["name"] for d in outputs)
                raise PlaybackError(f"no default audio output device (PortAudio lists {names}; "
                                    "choose one explicitly)") from None
        else:
            try:
                info = sd.query_devices(device, kind="output")
            except sd.PortAudioError:
                raise PlaybackError(f"no audio output device {device!r}: PortAudio has devices 0 to "
                                    f"{len(devices) - 1}") from None
            if info["max_output_channels"] < 1:
                raise PlaybackError(f"{what} ({info['name']}) has no output channels")
        return sd.OutputStream(samplerate=sample_rate, blocksize=blocksize, device=device, channels=channels,
                               dtype="float32", callback=callback, finished_callback=finished)
    except PlaybackError:
        raise
    except (sd.PortAudioError, ValueError, OSError) as e:
        raise PlaybackError(f"cannot open {what}: {e}") from e


class Player:
    """Plays in-memory float32 stems, mixed live with per-stem gains; loop, seek, pause, stop."""

    def __init__(self, sample_rate: int = audio_io.SAMPLE_RATE, blocksize: int = 1024, device: int | str | None = None,
                 channels: int = 2, *, on_state: Callable[[bool], None] | None = None,
                 tap: Callable[[int, np.ndarray], None] | None = None):
        if blocksize < 1:
            raise ValueError(f"blocksize must be at least 1 frame, got {blocksize}")
        if channels < 1:
            raise ValueError(f"channels must be at least 1, got {channels}")
        self.sample_rate = int(sample_rate)
        self.blocksize = int(blocksize)
        self.device = device
        self.channels = int(channels)
        self.on_state = on_state
        self.tap = tap
        self._lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._stream = None
        self._sd = None
        self._sources: dict[str, np.ndarray] = {}
        self._gains: dict[str, tuple[float, float]] = {}  # what the callback reads: only sounding stems, (L, R)
        self._user_gains: dict[str, float | tuple[float, float]] = {}
        self._length = 0
        self._pos = 0
        self._seeks = 0  # bumped by every seek, so the callback never overwrites a position set meanwhile
        self._loop: tuple[int, int] | None = None
        self._playing = False
        self._delivered = 0
        self.underflows = 0  # blocks PortAudio reported as output underflow
        self._mix = np.zeros((self.blocksize, 2), dtype=np.float32)
        self._scratch = np.zeros(self.blocksize, dtype=np.float32)

    # ---- availability -------------------------------------------------------------------------------------------

    @staticmethod
    def available(device: int | str | None = None, sample_rate: int = audio_io.SAMPLE_RATE,
                  channels: int = 2) -> tuple[bool, str]:
        """Whether an output stream can be opened on ``device`` (default: the default output device).

        Returns (True, device description) or (False, reason). Never raises: a missing sounddevice package, a
        missing PortAudio library, no device at all or a bogus device are all reported as reasons."""
        try:
            sd = _sounddevice()
            stream = _open_stream(sd, device, sample_rate, 1024, channels)
            try:
                return True, _describe_device(sd, device)
            finally:
                stream.close()
        except PlaybackError as e:
            return False, str(e)
        except Exception as e:  # anything else PortAudio may throw at us: report, never crash the caller
            return False, f"audio output unavailable: {type(e).__name__}: {e}"

    # ---- sources and gains --------------------------------------------------------------------------------------

    def set_sources(self, stems: dict[str, np.ndarray]) -> None:
        """Mono ``(n,)`` or stereo ``(n, 2)`` stems, all the same length (float32 is used as is, memory-mapped ones
        too: read block by block in the callback; anything else converted once). A mono stem plays on both output
        channels, a stereo one keeps its left and right (see :meth:`set_gains` for pan)."""
        arrays = {}
        for key, a in stems.items():
            arr = np.ascontiguousarray(a, dtype=np.float32)
            if arr.ndim == 2 and arr.shape[1] == 1:
                arr = arr[:, 0]
            if arr.ndim != 1 and not (arr.ndim == 2 and arr.shape[1] == 2):
                raise ValueError(f"stem {key!r} must be mono (n,) or stereo (n, 2), got shape {arr.shape}")
            arrays[str(key)] = arr
        lengths = {len(a) for a in arrays.values()}
        if len(lengths) > 1:
            detail = ", ".join(f"{k}: {len(a)}" for k, a in arrays.items())
            raise ValueError(f"stems must all have the same length (frames: {detail})")
        length = lengths.pop() if lengths else 0
        with self._lock:
            self._sources = arrays
            self._length = length
            self._pos = min(self._pos, length)
            self._seeks += 1
            if self._loop is not None and self._loop[1] > length:
                self._loop = None
            self._gains = self._effective_gains(self._user_gains, arrays)

    @staticmethod
    def _effective_gains(gains: dict, sources: dict[str, np.ndarray]) -> dict[str, tuple[float, float]]:
        out = {}
        for key in sources:
            g = gains.get(key, 1.0)
            pair = (g, g) if isinstance(g, float) else g
            if pair[0] or pair[1]:
                out[key] = pair
        return out

    def set_gains(self, gains: dict) -> None:
        """Linear gain per stem: a float (e.g. ``MixerState.linear_gains()``), the same on both output channels, or
        a (left, right) pair (``MixerState.stereo_gains()``: fader times the balance pan law,
        :func:`~slakh_gui.core.studio.mixer.pan_gains`). Stems not named play at 1.0, 0.0 silences.

        Takes effect at the next audio block."""
        user = {}
        for key, g in gains.items():
            pair = tuple(np.ravel(np.asarray(g, dtype=np.float64)))
            if len(pair) not in (1, 2) or not all(np.isfinite(x) and x >= 0 for x in pair):
                raise ValueError(f"gain for {key!r} must be a finite number >= 0 or a (left, right) pair of them, "
                                 f"got {g!r}")
            user[str(key)] = float(pair[0]) if len(pair) == 1 else (float(pair[0]), float(pair[1]))
        with self._lock:
            self._user_gains = user
            self._gains = self._effective_gains(user, self._sources)

    def set_pan(self, pans: dict[str, float]) -> None:
        """Convenience: pan (-1..+1) per stem at unity gain (the mixer's balance law)."""
        self.set_gains({k: pan_gains(float(p)) for k, p in pans.items()})

    @property
    def gains(self) -> dict:
        return dict(self._user_gains)

    @property
    def length(self) -> int:
        return self._length

    # ---- transport ----------------------------------------------------------------------------------------------

    @property
    def position(self) -> int:
        return self._pos

    @property
    def playing(self) -> bool:
        return self._playing

    @property
    def frames_delivered(self) -> int:
        """Frames the callback has handed to PortAudio so far (the zero padding of the last block included)."""
        return self._delivered

    @property
    def loop(self) -> tuple[int, int] | None:
        return self._loop

    def seek(self, frame: int) -> None:
        """Move the play position (clamped to 0..length); while playing, heard from the next block on."""
        with self._lock:
            self._pos = max(0, min(int(frame), self._length))
            self._seeks += 1

    def set_loop(self, start_frame: int, end_frame: int) -> None:
        """Loop [start_frame, end_frame): when the position reaches end_frame it wraps to start_frame (inside the
        block, sample-exact). A position already past end_frame plays on to the end of the song."""
        start, end = int(start_frame), int(end_frame)
        if not 0 <= start < end <= self._length:
            raise ValueError(f"loop must satisfy 0 <= start < end <= length ({self._length}), got {start}..{end}")
        with self._lock:
            self._loop = (start, end)

    def clear_loop(self) -> None:
        with self._lock:
            self._loop = None

    def open(self) -> None:
        """Open the output stream now (play() does it too); PlaybackError with the reason if it cannot."""
        if self._stream is not None:
            return
        sd = _sounddevice()
        self._stream = _open_stream(sd, self.device, self.sample_rate, self.blocksize, self.channels,
                                    self._callback, self._finished)
        self._sd = sd

    def play(self) -> None:
        """Start (or resume) playback from ``position``; at the end of the song it starts again from 0."""
        if self._playing:
            return
        self.open()
        stream = self._stream
        if not stream.stopped:  # ended by itself (CallbackStop): PortAudio wants a stop() before the next start()
            stream.stop()
        with self._lock:
            if self._pos >= self._length:
                self._pos = 0
                self._seeks += 1
        if self._length == 0:
            return
        self._set_playing(True)
        try:
            stream.start()
        except Exception as e:
            self._set_playing(False)
            raise PlaybackError(f"cannot start audio output: {e}") from e

    def pause(self) -> None:
        if self._stream is not None and not self._stream.stopped:
            self._stream.stop()
        self._set_playing(False)

    def stop(self) -> None:
        """Pause and rewind to the start."""
        self.pause()
        self.seek(0)

    def close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            with contextlib.suppress(Exception):
                stream.stop()
            stream.close()
        self._set_playing(False)

    def __enter__(self) -> Player:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _set_playing(self, playing: bool) -> None:
        with self._state_lock:  # the audio thread (_finished) and the caller may race here
            changed = self._playing != playing
            self._playing = playing
        if changed and self.on_state is not None:
            self.on_state(playing)

    # ---- audio thread -------------------------------------------------------------------------------------------

    def _finished(self) -> None:
        """PortAudio's thread, when the stream stops (by itself, or by pause/stop/close)."""
        self._set_playing(False)

    def _callback(self, outdata, frames, time, status) -> None:
        if status.output_underflow:
            self.underflows += 1
        with self._lock:
            pos = pos0 = self._pos
            seeks = self._seeks
            sources, gains, loop, length = self._sources, self._gains, self._loop, self._length
        mix = self._mix
        if frames > len(mix):  # PortAudio may hand out bigger blocks than asked for (blocksize is a hint on some APIs)
            mix = self._mix = np.zeros((frames, 2), dtype=np.float32)
            self._scratch = np.zeros(frames, dtype=np.float32)
        scratch = self._scratch
        filled = 0
        ended = False
        while filled < frames:
            if loop is not None and pos < loop[1]:
                n = min(frames - filled, loop[1] - pos)
                mix_block_stereo(sources, gains, pos, n, mix[filled:filled + n], scratch=scratch)
                filled += n
                pos += n
                if pos >= loop[1]:
                    pos = loop[0]
            else:
                n = min(frames - filled, length - pos)
                if n > 0:
                    mix_block_stereo(sources, gains, pos, n, mix[filled:filled + n], scratch=scratch)
                    filled += n
                    pos += n
                if pos >= length:
                    mix[filled:frames] = 0.0
                    ended = True
                    break
        block = mix[:frames]
        if outdata.shape[1] == 1:  # a mono device: the fold-down (a centred mono stem plays as it is)
            np.add(block[:, 0], block[:, 1], out=outdata[:, 0])
            outdata[:, 0] *= np.float32(0.5)
        else:
            outdata[:, :2] = block
            for ch in range(2, outdata.shape[1]):  # surround devices: left and right on the first two only
                outdata[:, ch] = 0.0
        with self._lock:
            if self._seeks == seeks:  # position not moved by seek() meanwhile
                self._pos = pos
            self._delivered += frames
        if self._delivered // _RELEASE_FRAMES != (self._delivered - frames) // _RELEASE_FRAMES:
            for a in sources.values():  # memory-mapped stems: pages played stay in the page cache, not in us
                diskaudio.release(a)
        if self.tap is not None:
            self.tap(pos0, outdata.copy())
        if ended:
            raise self._sd.CallbackStop  # this block still plays; then _finished() reports playing = False
