"""A tiny rendered Slakh-layout dataset (3 train, 1 validation, 1 test track of 20 s) and one short training run
on it, shared by the separation tests."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.conftest import DATA

torch.set_num_threads(1)

SPLITS = {"train": [1, 2, 3], "validation": [4], "test": [5]}


def band(n: int) -> list[int]:
    """Piano, bass, guitar, drums and strings programs the small test bank covers, varied by ``n``."""
    return [n % 4, 32 + n % 4, 24 + n % 5, 128, 48]


@pytest.fixture(scope="session")
def dataset(tmp_path_factory) -> Path:
    """Songs from the real generator, rendered by the real pipeline with the small test bank."""
    from slakh_gui.core.bank import patches
    from slakh_gui.core.midi import midifile, songgen
    from slakh_gui.core.render import pipeline

    root = tmp_path_factory.mktemp("sepdata")
    bank = patches.load_bank(DATA / "small_bank.yaml")
    for split, seeds in SPLITS.items():
        for n in seeds:
            pm = songgen.generate_song(seed=n, duration_s=20, tempo=120.0, key=0, instruments=band(n))
            path = songgen.write_song(pm, root / "midi" / f"song{n}.mid")
            song = midifile.load_song(path)
            pipeline.render_track(song, bank, patches.assign_patches(song, bank, seed=n),
                                  root / split / f"Track{n:05d}")
    return root


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("sepcache")


def small_config(dataset: Path, cache_dir: Path, **kw):
    from slakh_gui.separation.train import TrainConfig

    base = dict(target="bass", data=str(dataset), preset="tiny", epochs=2, batch_size=4, segment_frames=200,
                steps_per_epoch=5, val_clips=4, lr=3e-3, early_stop=0, threads=1, device="cpu",
                cache_dir=str(cache_dir), norm_clips=8)
    base.update(kw)
    return TrainConfig(**base)


@pytest.fixture(scope="session")
def trained(dataset, cache_dir, tmp_path_factory):
    """A 2-epoch bass run of the tiny preset: (TrainResult, its config)."""
    from slakh_gui.separation.train import train

    config = small_config(dataset, cache_dir)
    return train(config, tmp_path_factory.mktemp("run") / "bass"), config
