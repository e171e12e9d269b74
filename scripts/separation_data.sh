#!/usr/bin/env bash
# The rendered data sets that the shipped separation models were trained and scored on (their cards and
# resources/models/evaluation.md name them), made again from nothing: MIDI generated with fixed seeds, then
# `slakh-studio dataset`. Resumable: run it again after an interruption and finished tracks are kept.
#
#   scripts/separation_data.sh OUT [NAME...]     # default: every set; OUT/NAME/ is the dataset, OUT/NAME-midi/ its MIDI
#   scripts/separation_data.sh --list            # the names, in the order they are made
#
# On 2 cores: ds100 + mma-test take about 12 minutes, all seven sets about an hour. The extra generated songs of the
# first runs (--extra-songs 300 --extra-seed 4200) are rendered by scripts/train_shipped_models.py itself.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
STUDIO=${SLAKH_STUDIO:-$PWD/.venv/bin/slakh-studio}

# name | midi generate arguments | dataset arguments
SETS=(
  "ds100|--count 110 --seed 2100|--count 100 --seed 2100"
  "mma-test|--count 30 --seed 2026 --source mma --grooves held-out|--seed 2026 --split 0:0:1"
  "mma-train|--count 160 --seed 7 --source mma --grooves train|--seed 7 --split 8:1:1"
  "mma-train2|--count 160 --seed 8 --source mma --grooves train|--seed 8 --split 1:0:0"
  "mma-train3|--count 150 --seed 9 --source mma --grooves train|--seed 9 --split 9:1:0"
  "mma-train4|--count 150 --seed 10 --source mma --grooves train|--seed 10 --split 9:1:0"
  "varied|--count 150 --seed 31 --drums varied|--seed 31 --split 9:1:0"
)

if [ "${1:-}" = "--list" ]; then
  for row in "${SETS[@]}"; do echo "${row%%|*}"; done
  exit 0
fi
if [ $# -lt 1 ]; then
  echo "usage: $0 OUT [NAME...]   (names: $("$0" --list | tr '\n' ' '))" >&2
  exit 2
fi
out=$1
shift
names=" $("$0" --list | tr '\n' ' ')"
for name in "$@"; do
  if [[ "$names" != *" $name "* ]]; then
    echo "$0: no data set named $name (names:$names)" >&2
    exit 2
  fi
done
mkdir -p "$out"
wanted=" $* "
for row in "${SETS[@]}"; do
  IFS='|' read -r name midi_args dataset_args <<< "$row"
  if [ $# -gt 0 ] && [[ "$wanted" != *" $name "* ]]; then
    continue
  fi
  echo "== $name ($(date +%T))"
  # shellcheck disable=SC2086  # the argument lists above are meant to split
  if [ ! -d "$out/$name-midi" ]; then  # generated whole into a fresh folder, then renamed
    rm -rf "$out/$name-midi.partial"
    "$STUDIO" midi generate -o "$out/$name-midi.partial" $midi_args
    mv "$out/$name-midi.partial" "$out/$name-midi"
  fi
  # shellcheck disable=SC2086
  "$STUDIO" dataset "$out/$name-midi" -o "$out/$name" $dataset_args
done
echo "== done ($(date +%T))"
