"""Fuzzing of every parser of outside input (issue #9, item 2). ``python fuzz/run.py --help`` runs a campaign;
:mod:`fuzz.targets` holds the targets (seed corpora, mutators, hypothesis strategies and the oracle of each)."""
