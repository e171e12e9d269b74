"""Datasets: MIDI selection, splits, the parallel/distributed build, fixes, statistics, lint, mirdata, derived data."""
