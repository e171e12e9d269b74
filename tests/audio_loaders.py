"""Import Open-Unmix's and Demucs's dataset modules (``openunmix.data``, ``demucs.wav``) in this environment.

Both modules are used unchanged; two of their imports cannot be satisfied here, and this module supplies them while
the two modules import (and nowhere else: ``sys.modules`` is restored afterwards):

- ``torchaudio``: PyPI has no torchaudio for our torch 2.13, and the torchaudio releases that do exist (>= 2.9) no
  longer have ``torchaudio.info`` / ``get_audio_backend``, which openunmix 1.3 (``data.load_info``) and demucs 4.1
  (``wav._track_metadata``) call. :func:`torchaudio_soundfile` implements the three calls those modules make
  (``info``, ``load``, ``get_audio_backend``) with torchaudio 2.0's signatures and meaning, decoding with soundfile
  (libsndfile: what torchaudio's own ``soundfile`` backend used). Samples, shapes (channels first) and rates are the
  files' own: nothing is made up.
- ``dora`` (the dora-search package: hydra, submitit, ...): ``demucs.wav`` imports ``demucs.distrib``, which imports
  ``dora.distrib`` for multi-GPU training. ``build_metadata`` and ``Wavset`` never call it; an empty module is
  enough for the import.

The real torchaudio / dora are used when they can be imported.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
import types
from collections import namedtuple

AudioMetaData = namedtuple("AudioMetaData", "sample_rate num_frames num_channels bits_per_sample encoding")


def torchaudio_soundfile() -> types.ModuleType:
    """torchaudio's ``info``, ``load`` and ``get_audio_backend`` (2.0 API) over soundfile."""
    import soundfile as sf
    import torch

    mod = types.ModuleType("torchaudio")
    mod.__doc__ = "torchaudio 2.0's info/load over soundfile (tests/audio_loaders.py)"

    def info(path, *args, **kwargs):
        i = sf.info(str(path))
        bits = {"PCM_16": 16, "PCM_24": 24, "PCM_32": 32, "FLOAT": 32, "DOUBLE": 64}.get(i.subtype, 0)
        return AudioMetaData(i.samplerate, i.frames, i.channels, bits, i.subtype)

    def load(path, frame_offset=0, num_frames=-1, normalize=True, channels_first=True, *args, **kwargs):
        data, rate = sf.read(str(path), start=int(frame_offset), frames=int(num_frames), dtype="float32",
                             always_2d=True)
        tensor = torch.from_numpy(data.T.copy() if channels_first else data)
        return tensor, rate

    mod.info = info
    mod.load = load
    mod.get_audio_backend = lambda: "soundfile"
    return mod


@contextlib.contextmanager
def _stand_ins():
    saved = {name: sys.modules.get(name) for name in ("torchaudio", "dora", "dora.distrib")}
    try:
        try:
            importlib.import_module("torchaudio")
        except ImportError:
            sys.modules["torchaudio"] = torchaudio_soundfile()
        try:
            importlib.import_module("dora.distrib")
        except ImportError:
            dora = types.ModuleType("dora")
            dora.distrib = types.ModuleType("dora.distrib")
            sys.modules["dora"], sys.modules["dora.distrib"] = dora, dora.distrib
        yield
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


def _with_decoder(module: types.ModuleType, attr: str) -> types.ModuleType:
    """``module`` with a torchaudio that can read files (an earlier import may have bound an empty stand-in)."""
    if not hasattr(getattr(module, attr), "load"):
        setattr(module, attr, torchaudio_soundfile())
    return module


def openunmix_data() -> types.ModuleType:
    """``openunmix.data`` (its ``MUSDBDataset``, ``FixedSourcesTrackFolderDataset``, ``AlignedDataset``...)."""
    with _stand_ins():
        module = importlib.import_module("openunmix.data")
    return _with_decoder(module, "torchaudio")


def demucs_wav() -> types.ModuleType:
    """``demucs.wav`` (its ``build_metadata`` and ``Wavset``)."""
    with _stand_ins():
        module = importlib.import_module("demucs.wav")
    return _with_decoder(module, "ta")
