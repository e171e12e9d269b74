"""Numbers and names the whole package shares, each defined here once."""

from __future__ import annotations

SAMPLE_RATE = 44100  # Hz: every stem, mix and audition is rendered at Slakh2100's 44.1 kHz

SPLITS = ("train", "validation", "test")  # Slakh2100's split folders, in order
OMITTED = "omitted"  # Slakh2100's fourth folder: the tracks its splits left out
SPLITS_WITH_OMITTED = (*SPLITS, OMITTED)

NORMALIZATION_FACTOR = -13.0  # LUFS each stem is normalized to (Slakh's mix_normalization_factor)
TARGET_PEAK = -1.0  # dBFS the mix may reach before the uniform gain (Slakh's mix_target_peak)
