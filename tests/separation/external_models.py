"""Small randomly initialised Open-Unmix and Demucs models built with the packages' own classes and saved in the
packages' own file formats (for the tests of :mod:`slakh_gui.separation.external`)."""

from __future__ import annotations

import json
from pathlib import Path

import torch


def save_openunmix(folder: Path, targets=("bass", "drums"), *, nfft: int = 2048, nhop: int = 512,
                   hidden_size: int = 16, nb_layers: int = 1, max_bin: int = 200, seed: int = 0) -> Path:
    """``<target>-<hash>.pth`` (the state dict, as Open-Unmix's train.py saves it) and ``<target>.json`` per target,
    and ``separator.json``: the layout ``openunmix.utils.load_separator`` reads. Returns the folder."""
    from slakh_gui.separation.external import _without_torchaudio

    with _without_torchaudio():
        from openunmix.model import OpenUnmix
    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    for t in targets:
        net = OpenUnmix(nb_bins=nfft // 2 + 1, nb_channels=2, hidden_size=hidden_size, nb_layers=nb_layers,
                        max_bin=max_bin)
        torch.save(net.state_dict(), folder / f"{t}-0123abcd.pth")
        (folder / f"{t}.json").write_text(json.dumps({"args": {"nfft": nfft, "nhop": nhop, "nb_channels": 2,
                                                               "hidden_size": hidden_size, "target": t}}))
    (folder / "separator.json").write_text(json.dumps({"sample_rate": 44100, "nfft": nfft, "nhop": nhop,
                                                       "nb_channels": 2}))
    return folder


def demucs_package(net) -> dict:
    """What ``demucs.states.serialize_model`` makes (without omegaconf: ``training_args`` is already a dict)."""
    from demucs.states import get_state

    args, kwargs = net._init_args_kwargs
    return {"klass": type(net), "args": args, "kwargs": kwargs, "state": get_state(net, None, half=False),
            "training_args": {}}


def save_demucs(path: Path, kind: str = "demucs", sources=("drums", "bass", "guitar", "piano"), seed: int = 0,
                **kw) -> Path:
    """A tiny ``Demucs`` or ``HTDemucs`` saved with ``demucs.states.save_with_checksum`` as ``<sig>-<sha>.th``;
    returns the file written. Real sizes: ``kind="htdemucs", full=True``."""
    from demucs.demucs import Demucs
    from demucs.htdemucs import HTDemucs
    from demucs.states import save_with_checksum

    torch.manual_seed(seed)
    full = kw.pop("full", False)
    if kind == "htdemucs":
        net = HTDemucs(sources=list(sources), **({} if full else dict(channels=8, depth=2, t_layers=1, nfft=512,
                                                                    segment=1, bottom_channels=0, **kw)))
    else:
        net = Demucs(sources=list(sources), **({} if full else dict(channels=4, depth=2, segment=1, **kw)))
    path.parent.mkdir(parents=True, exist_ok=True)
    save_with_checksum(demucs_package(net), path)
    return next(path.parent.glob(f"{path.stem}-*.th"))
