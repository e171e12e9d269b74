"""Act on a lint finding: re-roll one stem's patch, or drop the stem, and re-render that track in place.

The choice is recorded in the manifest (the track's ``fixed`` patches), so a later resume or a re-run from the
manifest renders the same bytes. A re-roll draws from the stem's pool without the patches it had before, seeded
by the track seed, the stem and the number of re-rolls.
"""

from __future__ import annotations

import random
from pathlib import Path

from slakh_gui import paths
from slakh_gui.core.bank.patches import Bank, assign_patches, draw_pool, load_bank
from slakh_gui.core.dataset import builder
from slakh_gui.core.dataset.dataset_task import render_task
from slakh_gui.core.midi.midifile import load_song
from slakh_gui.core.render.track_folder import read_metadata


def _manifest_entry(out: Path, track: str) -> tuple[dict, dict]:
    """The dataset's manifest and its entry for ``track``; :class:`DatasetError` if either is missing."""
    manifest = builder.load_manifest(out)
    if manifest is None:
        raise builder.DatasetError(f"{out}: no {builder.MANIFEST}: not a Slakh Studio dataset")
    entry = next((t for t in manifest["tracks"] if t["track"] == track), None)
    if entry is None:
        raise builder.DatasetError(f"{out}: no track {track} in the manifest")
    return manifest, entry


def find_bank(manifest: dict, out: Path, bank: str | Path | None = None) -> tuple[Path, Bank]:
    """The bank file a dataset was made with: ``bank`` if given, else the copy beside the manifest (``bank.yaml``),
    else (older manifests) the path they stored or the file's name in the patch-bank folders; checked against the
    manifest's SHA-256. Returns the file and the bank read from it."""
    want = manifest["bank"]
    name = want.get("source") or Path(str(want.get("path", ""))).name
    if bank:
        candidates = [Path(bank)]
    else:
        candidates = [Path(out) / want["file"]] if want.get("file") else []
        candidates += [Path(str(want["path"]))] if want.get("path") else []
        candidates += [paths.patches_dir() / name, paths.user_banks_dir() / name] if name else []
    for c in candidates:
        if c.is_file() and (found := load_bank(c)).sha256 == want["sha256"]:
            return c, found
    raise builder.DatasetError(f"the dataset's bank {name or want.get('name')!r} (SHA-256 {want['sha256'][:12]}…) "
                               f"{'is not ' + str(bank) if bank else 'was not found'}: pass the bank file it was made "
                               "with (--bank)")


def _source_midi(entry: dict, folder: Path) -> Path:
    """The track's MIDI: the collection's file when the manifest knows where (older manifests), else the copy in
    the track folder (``all_src.mid``: the same bytes)."""
    stored = Path(str(entry["midi"]))
    return stored if stored.is_absolute() and stored.is_file() else folder / "all_src.mid"


def fix_stem(out: str | Path, track: str, stem: str, action: str, bank: str | Path | None = None) -> dict:
    """``action`` = ``"reroll"`` or ``"drop"`` for ``stem`` of ``track`` in the dataset ``out``; re-renders the
    track and updates ``dataset.yaml`` and ``lint.yaml``. Returns the render result (``status``, ``lint``, ...)."""
    if action not in ("reroll", "drop"):
        raise builder.DatasetError(f"unknown action {action!r} (reroll or drop)")
    out = Path(out)
    manifest, entry = _manifest_entry(out, track)
    bank_file, bank_ = find_bank(manifest, out, bank)
    folder = builder.track_dir(out, entry)
    source = _source_midi(entry, folder)
    song = load_song(source)
    keys = [t.key for t in song.tracks]
    if stem not in keys:
        raise builder.DatasetError(f"{track} has no stem {stem} (it has {', '.join(keys)})")
    fixed = dict(entry.get("fixed") or {})
    current = assign_patches(song, bank_, entry["seed"], fixed=fixed or None)
    pid = current.patch_id(stem)
    if action == "drop":
        if pid is None:
            raise builder.DatasetError(f"{track} {stem} has no audio to drop")
        if not any(current.patch_id(k) for k in keys if k != stem):
            raise builder.DatasetError(f"{stem} is the only stem of {track} with audio: drop the track instead "
                                       "(slakh-studio fix OUT TRACK --drop-track)")
        fixed[stem] = None
    else:
        program = song.track(stem).program
        history = entry.setdefault("rerolled", {}).setdefault(stem, [])
        tried = set(history) | ({pid} if pid else set())
        pool = [p.id for p in draw_pool(bank_, song.track(stem))[1] if p.id not in tried]  # kit-narrowed
        if not pool:
            raise builder.DatasetError(f"{track} {stem}: every patch of its pool (program {program}) was tried")
        if pid:
            history.append(pid)
        fixed[stem] = random.Random(f"{entry['seed']}:{stem}:reroll:{len(history)}").choice(pool)
    entry["fixed"] = fixed
    options = manifest["options"]
    task = {
        "name": track, "midi": str(source), "md5": entry["md5"], "seed": entry["seed"],
        "out_dir": str(folder.resolve()), "bank": str(bank_file.resolve()),
        "bank_sha256": bank_.sha256, "fixed": fixed, "lint": options.get("lint", True),
        "render": {"fmt": options["fmt"], "tail": options["tail"], "fluid_effects": options["fluid_effects"],
                   "flakh": options["flakh"], "threads": 2, "stereo": bool(options.get("stereo", False)),
                   "pan": options.get("pan", "auto"),
                   "source_name": read_metadata(folder).get("lmd_midi_dir") or source.name},
    }
    result = render_task(task)
    if result["status"] != "done":
        raise builder.DatasetError(f"{track}: re-render failed: {result.get('reason')}")
    entry["status"] = "done"
    builder.write_manifest(out, manifest)
    lint = builder.read_lint(out)
    lint[track] = result.get("lint", [])
    builder.write_lint(out, manifest, lint)
    builder.write_index(out)
    return result


def drop_track(out: str | Path, track: str) -> None:
    """Take ``track`` out of the dataset (e.g. a duplicate): its folder is removed and the manifest marks it
    ``dropped``, so resuming never renders it again. Its number stays unused."""
    import shutil

    out = Path(out)
    manifest, entry = _manifest_entry(out, track)
    entry["status"] = "dropped"
    entry.pop("reason", None)
    builder.write_manifest(out, manifest)  # first: a kill between the two steps leaves it dropped, not re-rendered
    folder = builder.track_dir(out, entry)
    if folder.exists():
        staged = folder.with_name(f".{folder.name}.dropped")
        folder.rename(staged)
        shutil.rmtree(staged)
    lint = builder.read_lint(out)
    lint.pop(track, None)
    builder.write_lint(out, manifest, lint)
    builder.write_index(out)
