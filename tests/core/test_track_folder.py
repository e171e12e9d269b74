"""Opening rendered tracks: ours and the real Slakh2100 / BabySlakh excerpts."""

from __future__ import annotations

import numpy as np
import pytest

from slakh_gui.core.render.track_folder import TrackFolderError, load_track_folder
from tests.conftest import SLAKH_SAMPLES


def test_our_track(rendered):
    result, song, _ = rendered
    t = load_track_folder(result.path)
    assert t.sample_rate == 44100 and sorted(t.stems) == sorted(result.rendered)
    assert t.song is not None and t.song.md5 == song.md5
    assert np.allclose(sum(t.stems.values()), t.mix, atol=(len(t.stems) + 1) / 32768)


@pytest.mark.parametrize("rel,sr,n_stems", [("slakh2100_flac_redux/train/Track00001", 44100, 10),
                                            ("babyslakh_16k/Track00001", 16000, 10)])
def test_real_slakh_tracks(rel, sr, n_stems):
    path = SLAKH_SAMPLES / rel
    if not path.exists():
        pytest.skip("shared Slakh samples not present")
    t = load_track_folder(path)
    assert t.sample_rate == sr and len(t.stems) == n_stems and "S06" not in t.stems
    assert len(t.mix) == 2 * sr and t.song is not None and t.metadata["stems"]["S00"]["inst_class"] == "Guitar"


def test_not_a_track(tmp_path):
    with pytest.raises(TrackFolderError, match="no metadata.yaml"):
        load_track_folder(tmp_path)
    (tmp_path / "metadata.yaml").write_text("a: [")
    with pytest.raises(TrackFolderError, match="unreadable YAML"):
        load_track_folder(tmp_path)
