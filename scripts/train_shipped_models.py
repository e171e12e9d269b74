#!/usr/bin/env python
"""Reproduce the shipped separation models (resources/models/{bass,drums,guitar,piano}.pt) and their model cards.

1. Data: generate a MIDI corpus (``slakh-studio midi generate``) and render a dataset from it (``slakh-studio
   dataset``) into WORK/, or use an existing Slakh-layout dataset with ``--data``.
2. Train each target with the shipped preset (``tiny``) in WORK/runs/<target>/ (interrupted runs resume from their
   checkpoint when the script is run again).
3. Evaluate each model on the test split (mixture, model and the four oracles; 10-s clips), and write
   OUT/<target>.pt, OUT/<target>.md (model card), OUT/<target>-evaluation.{json,csv} and OUT/evaluation.md
   (all targets side by side, for the README).

Example: ``python scripts/train_shipped_models.py --work /tmp/shipped --songs 200``
         ``python scripts/train_shipped_models.py --data /work/data/ds100 --work /tmp/shipped``
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from slakh_gui.core.audio_io import atomic_write_bytes, atomic_write_text  # noqa: E402
from slakh_gui.separation.evaluate import LABELS, EvalReport, evaluate  # noqa: E402
from slakh_gui.separation.model import SHIPPED, SHIPPED_PRESET, load_model, models_dir  # noqa: E402
from slakh_gui.separation.paper import PAPER_SDRI, PAPER_TPSF_GAP  # noqa: E402
from slakh_gui.separation.train import TrainConfig, TrainResult, train  # noqa: E402

GAP_ROW = "**Gap to the tPSF oracle** (tPSF SI-SDRi − model SI-SDRi), here"
PAPER_GAP_ROW = "Gap to the tPSF oracle of the paper's Slakh model, on Slakh2100 (its Table 3)"
UNSEEN = "unseen"  # OUT/<target>-evaluation-unseen.json: the models on songs of a source they never saw
UNSEEN_SOURCE = (
    "songs no model saw in any form, played by groove families no training song used: chord charts played by the "
    "held-out grooves of Debian's mma library (soul and R&B, samba, rhumba, tango, bolero, boogie, twist, folk rock; "
    "intros, variations, fills and endings), patches drawn with another seed — `slakh-studio midi generate -o "
    "mma-test-midi --count 30 --seed 2026 --source mma --grooves held-out`, then `slakh-studio dataset mma-test-midi "
    "-o mma-test --seed 2026 --split 0:0:1`; the training data are our own generator's songs and mma songs of the "
    "other groove families (`--grooves train`)")


def make_dataset(work: Path, songs: int, seed: int, workers: int, name: str = "dataset",
                 split: str | None = None) -> Path:
    """Generate ``songs`` MIDI songs and render them into WORK/<name> (both steps resume / skip when done)."""
    cli = [sys.executable, "-m", "slakh_gui"]
    midi_dir, data = work / ("midi" if name == "dataset" else f"{name}-midi"), work / name
    if not midi_dir.is_dir() or len(list(midi_dir.glob("*.mid"))) < songs:
        subprocess.run([*cli, "midi", "generate", "-o", str(midi_dir), "--count", str(songs), "--seed", str(seed)],
                       check=True)
    subprocess.run([*cli, "dataset", str(midi_dir), "-o", str(data), "--count", str(songs), "--seed", str(seed),
                    "--workers", str(workers), *(["--split", split] if split else [])], check=True)
    return data


def make_extra(work: Path, songs: int, seed: int, workers: int) -> Path:
    """``songs`` more generated songs (seed ``seed``), every one rendered into the training split of WORK/extra-<seed>:
    extra training data, checked by training against the main dataset's validation and test songs."""
    return make_dataset(work, songs, seed, workers, name=f"extra-{seed}", split="1:0:0")


def _progress(label: str):
    last = [0.0]

    def show(p) -> None:
        now = time.monotonic()
        if now - last[0] > 10 or p.done >= p.total:
            last[0] = now
            print(f"  {label} {p.stage}: {p.done:.0f}/{p.total:.0f} {p.item}", flush=True)
    return show


def _epochs(t: dict) -> str:
    """"N epochs", or "N epochs (M before, then K from that model)" for a run started with --init-from."""
    prior = int(t.get("prior_epochs", 0))
    if not prior:
        return f"{t.get('epochs')} epochs"
    return f"{prior + int(t.get('epochs', 0))} epochs ({prior}, then {t.get('epochs')} more from that model)"


def _portable_argv(argv: list[str], data: Path) -> str:
    """This run's arguments without this machine's paths: --data as the dataset's folder name, --work as WORK (a new
    one, NEW_WORK, for an --init-from run: an old one would resume its own run), --out left out, --init-from as
    PREVIOUS (the models of the step before), --cache-dir left out (where decoded audio is kept changes no result)."""
    out, i = [], 0
    while i < len(argv):
        a = argv[i]
        key, _, inline = a.partition("=")
        if key in ("--work", "--out", "--data", "--init-from", "--extra-data", "--cache-dir"):
            i += 1 if inline else 2
            if key == "--extra-data":
                out += ["--extra-data", Path(inline or argv[i - 1]).name]
            elif key == "--work":
                out += ["--work", "NEW_WORK" if any(x.startswith("--init-from") for x in argv) else "WORK"]
            elif key == "--data":
                out += ["--data", data.name]
            elif key == "--init-from":
                out += ["--init-from", "PREVIOUS"]
            continue
        out.append(a)
        i += 1
    return "python scripts/train_shipped_models.py " + " ".join(out)


def reproduce_line(target: str, data: Path, args) -> str:
    """How to make this model again: this run's command, after the earlier model's recipe for an --init-from run."""
    this = f"`{_portable_argv(sys.argv[1:], data)}`"
    if not args.init_from:
        return this
    prior = args.init_from / f"{target}.md"
    earlier = _card_recipe(prior)
    if not earlier:
        print(f"warning: {prior} has no Reproduce line; the card of {target} names only this run", file=sys.stderr)
        return f"{this} (PREVIOUS: the folder of the models it started from)"
    return f"{earlier}; then, with PREVIOUS the folder of the models that wrote, {this}"


def _run_end(t: dict, result: TrainResult | None) -> str:
    """How the last run ended, when it went on past the epoch of the saved (best) model."""
    if result is None or result.epochs_run <= int(t.get("best_epoch", 0)):
        return ""
    total = int(t.get("prior_epochs", 0)) + result.epochs_run
    how = "stopped early (no better validation loss since)" if result.stopped_early else "reached its epoch limit"
    return (f"; the run went on to epoch {total} and {how}, {(result.seconds + t.get('prior_seconds', 0)) / 3600:.2f} h "
            "in all")


def _extra_data(config: dict) -> str:
    """How the card names extra training data: ``+ `extra-4200` (its train and validation splits)``."""
    extra = [Path(d).name for d in config.get("extra_train") or []]
    return "".join(f" + `{e}` (its train and validation splits)" for e in extra)


SIGNAL_LINE = "- Signal: 16 kHz mono, STFT 512 / hop 256 (32 / 16 ms), sqrt-Hann analysis and synthesis windows."


def _card_head(m) -> list[str]:
    """A model card's title and Target line."""
    return [f"# Slakh Studio separation model: {m.target}", "",
            f"- Target: the `{m.target}` group of the `{m.recipe.name}` recipe (programs "
            f"{sorted(m.recipe.groups[m.target])}); interference: all other stems."]


def model_card(target: str, rep: EvalReport, model_path: Path, data: Path, args,
               result: TrainResult | None = None) -> str:
    m = load_model(model_path)
    t = m.training
    c = t.get("config", {})
    return "\n".join([
        *_card_head(m),
        f"- Network: preset `{m.preset}`, {m.net.config.layers} BLSTM layers x {m.net.config.hidden} units per "
        f"direction, dropout {m.net.config.dropout}, dense + sigmoid mask on normalized log-magnitudes; "
        f"{m.n_parameters / 1e6:.2f} M parameters, float16 weights, {model_path.stat().st_size / 1e6:.1f} MB.",
        SIGNAL_LINE,
        f"- Data: `{data.name}`{_extra_data(c)} — {t.get('train_tracks')} training tracks ({t.get('train_hours', 0):.2f} h), "
        f"{t.get('val_tracks')} validation tracks; coherent 10-s clips (target RMS >= -30 dBFS), "
        f"{c.get('incoherent', 0):g} incoherent.",
        f"- Training: tPSA loss, Adam lr {c.get('lr')}, batch {c.get('batch_size')} x {c.get('segment_frames')} "
        f"frames, {c.get('steps_per_epoch')} steps per epoch, {_epochs(t)} (best at epoch "
        f"{int(t.get('prior_epochs', 0)) + int(t.get('best_epoch', 0))}, validation loss {t.get('val_loss', math.nan):.4f}), "
        f"{(t.get('train_seconds', 0) + t.get('prior_seconds', 0)) / 3600:.2f} h on {t.get('device')} "
        f"({c.get('threads')} thread{'' if c.get('threads') == 1 else 's'}{_cpu_hours(t)}), seed {c.get('seed')}"
        + _run_end(t, result) + ".",
        f"- Reproduce: {reproduce_line(target, data, args)}", "", card_evaluation(target, rep)])


def bag_card(target: str, rep: EvalReport, model_path: Path, data: Path, members: list[Path]) -> str:
    """The card of a bag: what it averages, each member's data, training and recipe (from the card beside the
    member's file, ``MEMBER.md``, where there is one), how the bag was made, and its evaluation."""
    m = load_model(model_path)
    lines = [*_card_head(m),
             f"- Network: a **bag of {m.bag_size} networks** whose masks are averaged, each preset `{m.preset}` "
             f"({m.net.config.layers} BLSTM layers x {m.net.config.hidden} units per direction, dense + sigmoid "
             f"mask); {m.n_parameters / 1e6:.2f} M parameters in all, float16 weights, "
             f"{model_path.stat().st_size / 1e6:.1f} MB; separating costs {m.bag_size} networks' time.",
             SIGNAL_LINE, "- Members:"]
    for i, (path, t) in enumerate(zip(members, m.training.get("bag", []), strict=False), 1):
        c = t.get("config", {})
        lines.append(f"  {i}. `{path.name}`: data `{Path(str(t.get('data', '?'))).name}`{_extra_data(c)}, "
                     f"{c.get('incoherent', 0):g} incoherent; {_run_summary(t)}. Reproduce: {_member_recipe(path)}")
    names = " ".join(f"MEMBER{i}.pt" for i in range(1, len(members) + 1))
    lines += [f"- Reproduce: the members as above, then `slakh-studio bag {names} -o {target}.pt` "
              f"(`python scripts/train_shipped_models.py --data {data.name} --targets {target} --bag {names}` "
              "also evaluates it and writes this card).", "", card_evaluation(target, rep)]
    return "\n".join(lines)


def average_card(target: str, rep: EvalReport, model_path: Path, data: Path, members: list[Path]) -> str:
    """The card of an averaged model (``--average``): the weights it averages, the run's data, training and recipe
    (from the card beside the first model, ``MODEL.md``: the run's card), and its evaluation."""
    m = load_model(model_path)
    epochs = [a.get("epoch") for a in m.training.get("averaged", [])]
    card = members[0].with_suffix(".md")
    run_lines = card.read_text(encoding="utf-8").splitlines() if card.is_file() else []
    lines = [*_card_head(m),
             f"- Network: preset `{m.preset}`, {m.net.config.layers} BLSTM layers x {m.net.config.hidden} units per "
             f"direction, dense + sigmoid mask; {m.n_parameters / 1e6:.2f} M parameters, float16 weights, "
             f"{model_path.stat().st_size / 1e6:.1f} MB.",
             f"- Weights: the mean of the weights of {len(members)} models of one run, its epochs "
             f"{', '.join(str(e) for e in epochs)} (stochastic weight averaging; each epoch's model written by "
             "`--keep-epochs`).", SIGNAL_LINE]
    lines += [line.replace("- Data:", "- The run's data:", 1).replace("- Training:", "- The run's training:", 1)
              for line in run_lines if line.startswith(("- Data:", "- Training:"))]
    names = " ".join(p.name for p in members)
    lines += [f"- Reproduce: {_with_kept_epochs(_member_recipe(members[0]))}; then `slakh-studio average {names} "
              f"-o {target}.pt` (those files from the run's `epochs/` folder).", "", card_evaluation(target, rep)]
    return "\n".join(lines)


def _with_kept_epochs(recipe: str) -> str:
    """A run's recipe, with ``--keep-epochs`` added in words when its last command does not hold it already."""
    return recipe if "--keep-epochs" in recipe.rsplit("then", 1)[-1] else f"{recipe} with `--keep-epochs`"


def _card_recipe(card: Path) -> str:
    """What a model card's last ``- Reproduce:`` line says, without its closing full stop ("" when the card or the
    line is missing): the recipe goes on with "; then ..." after it."""
    if not card.is_file():
        return ""
    lines = [line for line in card.read_text(encoding="utf-8").splitlines() if line.startswith("- Reproduce: ")]
    return lines[-1].removeprefix("- Reproduce: ").rstrip().removesuffix(".") if lines else ""


def _member_recipe(path: Path) -> str:
    """The Reproduce line of the card beside a bag member (``MEMBER.md``), or that there is none."""
    card = path.with_suffix(".md")
    recipe = _card_recipe(card)
    if recipe:
        return recipe
    print(f"warning: {card} has no Reproduce line; the bag's card cannot say how member {path.name} was made",
          file=sys.stderr)
    return "(no card beside this member)"


def card_evaluation(target: str, rep: EvalReport) -> str:
    """The model card's Evaluation section: the report, then the paper's SI-SDRi beside this model's."""
    sdri = rep.means()["model"]["si_sdri"]
    return "\n".join(["## Evaluation", "", rep.to_markdown(),
                      f"SI-SDR improvement of the paper's Slakh model on Slakh2100: +{PAPER_SDRI[target]} dB; this "
                      f"model: {sdri:+.1f} dB (on other data: the gaps to the tPSF oracle are what compare).", ""])


def summary_table(reports: dict[str, EvalReport], label: str = "Model") -> str:
    """Mixture, model and oracles side by side, then the paper's target and both gaps to the tPSF oracle."""
    targets = list(reports)
    head = "| Method | " + " | ".join(f"{t.capitalize()} SI-SDR / SI-SDRi" for t in targets) + " |"
    lines = [head, "|---|" + "---:|" * len(targets)]
    means = {t: reports[t].means() for t in targets}
    for m in reports[targets[0]].methods:
        cells = []
        for t in targets:
            v = means[t][m]
            cells.append(f"{v['si_sdr']:.1f}" + ("" if m == "mixture" else f" / {v['si_sdri']:+.1f}"))
        name = label if m == "model" else LABELS[m] + (" (oracle)" if m not in ("mixture", "model") else "")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    if all(t in PAPER_SDRI for t in targets):
        lines.append("| Paper's Slakh model on Slakh2100 (SI-SDRi target) | "
                     + " | ".join(f"+{PAPER_SDRI[t]}" for t in targets) + " |")
    gaps = {t: reports[t].gap_to_tpsf() for t in targets}
    if all(g is not None for g in gaps.values()):
        lines.append(f"| {GAP_ROW} | " + " | ".join(f"**{gaps[t]:.1f} dB**" for t in targets) + " |")
    if all(t in PAPER_TPSF_GAP for t in targets):
        lines.append(f"| {PAPER_GAP_ROW} | "
                     + " | ".join(f"{PAPER_TPSF_GAP[t]:.1f} dB" for t in targets) + " |")
    return "\n".join(lines) + "\n"


def training_line(target: str, model_path: Path) -> str:
    """One line of the summary: epochs, best epoch, validation loss, time, device (per member for a bag)."""
    model = load_model(model_path)
    if model.bag_size > 1:
        members = "; ".join(f"({i}) {_run_summary(t)}" for i, t in enumerate(model.training.get("bag", []), 1))
        return f"- {target}: a bag of {model.bag_size} networks (masks averaged): {members}"
    averaged = [str(a.get("epoch")) for a in model.training.get("averaged", [])]
    tail = f"; the weights of epochs {', '.join(averaged)} averaged" if averaged else ""
    return f"- {target}: {_run_summary(model.training)}{tail}"


def _run_summary(t: dict) -> str:
    """One network's training: epochs, best epoch, validation loss, time, device."""
    c = t.get("config", {})
    prior = int(t.get("prior_epochs", 0))
    start = t.get("initial_val_loss", math.nan)
    threads = c.get("threads")
    return (f"{_epochs(t)}, best {prior + int(t.get('best_epoch', 0))}, validation loss "
            f"{t.get('val_loss', math.nan):.4f} ({'at the start of the last run' if prior else 'untrained'}: "
            f"{start:.4f}), {(t.get('train_seconds', 0) + t.get('prior_seconds', 0)) / 3600:.2f} h on the "
            f"{str(t.get('device', 'cpu')).upper()} ({threads} thread{'s' if threads != 1 else ''}{_cpu_hours(t)})")


def _cpu_hours(t: dict) -> str:
    """``; the last run 2.11 CPU-hours`` where the model file records its run's process CPU time (hours above are
    wall-clock: with 2 threads a run's CPU time is up to twice its hours)."""
    cpu = t.get("cpu_seconds")
    return f"; the last run {cpu / 3600:.2f} CPU-hours" if cpu else ""


def write_summary(out: Path, targets: list[str]) -> str:
    """OUT/evaluation.md from OUT/<target>-evaluation.json and OUT/<target>.pt of every target that has both."""
    reports, lines = {}, []
    for target in targets:
        js, pt = out / f"{target}-evaluation.json", out / f"{target}.pt"
        if js.is_file() and pt.is_file():
            reports[target] = EvalReport.from_dict(json.loads(js.read_text(encoding="utf-8")))
            lines.append(training_line(target, pt))
    if not reports:
        return ""
    first = next(iter(reports.values()))
    model = load_model(out / f"{next(iter(reports))}.pt")
    data = Path(model.training.get("data", "the dataset")).name
    text = (_clips_line(first, data, model.recipe.name) + summary_table(reports, f"Model ({model.preset})")
            + "\nTraining:\n\n" + "\n".join(lines) + "\n")
    unseen = {t: out / f"{t}-evaluation-{UNSEEN}.json" for t in reports}
    if all(f.is_file() for f in unseen.values()):
        reps = {t: EvalReport.from_dict(json.loads(f.read_text(encoding="utf-8"))) for t, f in unseen.items()}
        first = next(iter(reps.values()))
        text += (f"\n## Unseen source\n\nThe same models on {UNSEEN_SOURCE}. "
                 + _clips_line(first, first.data or "the unseen set", model.recipe.name)
                 + summary_table(reps, f"Model ({model.preset})"))
    atomic_write_text(out / "evaluation.md", text)
    return text


def _clips_line(rep: EvalReport, data: str, recipe: str) -> str:
    """What a summary table's means are taken over."""
    tracks = len({r["track"] for r in rep.rows})
    return (f"SI-SDR / SI-SDR improvement [dB], mean over {len(rep.rows)} 10-s clips "
            f"({len(rep.rows) // max(tracks, 1)} per track, seeded) of the {tracks} {rep.split} tracks of "
            f"`{data}` (16 kHz; target = the {recipe} recipe's group, interference = the other stems):\n\n")


def make_combined(args, cache: Path) -> int:
    """``--bag`` / ``--average``: one target's bag (or weight average) of the given models in OUT, evaluated on
    --data's test split, with its card."""
    from slakh_gui.separation.model import average_models, bag_models, save_model

    option = "--bag" if args.bag else "--average"
    members = args.bag or args.average
    targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    if len(targets) != 1 or not args.data or (args.bag and args.average):
        raise SystemExit(f"{option} needs one target in --targets and --data (and not both --bag and --average)")
    target = targets[0]
    combined = (bag_models if args.bag else average_models)([load_model(p) for p in members])
    if combined.target.lower() != target.lower():
        raise SystemExit(f"{option}: the models separate {combined.target}, not {target}")
    args.out.mkdir(parents=True, exist_ok=True)
    save_model(combined, args.out / f"{target}.pt")
    rep = evaluate(args.data, "test", model=load_model(args.out / f"{target}.pt"), clips_per_track=args.clips_per_track,
                   cache_dir=cache, progress=_progress(target))
    rep.model = target
    rep.write(args.out, f"{target}-evaluation")
    card = bag_card if args.bag else average_card
    atomic_write_text(args.out / f"{target}.md", card(target, rep, args.out / f"{target}.pt", args.data, members))
    print(rep.to_markdown(), flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--work", type=Path, default=Path("shipped-models-work"), help="work folder (data, runs)")
    p.add_argument("--data", type=Path, help="use this Slakh-layout dataset instead of rendering one")
    p.add_argument("--songs", type=int, default=200, help="songs to generate and render (default 200)")
    p.add_argument("--seed", type=int, default=2100)
    p.add_argument("--workers", type=int, default=2, help="render workers")
    p.add_argument("--extra-songs", type=int, default=0, help="generate and render this many more songs, all for "
                   "training (validation and test stay the dataset's)")
    p.add_argument("--extra-seed", type=int, nargs="+", default=[4200], metavar="SEED",
                   help="seed of the extra songs (default 4200); several seeds: --extra-songs songs for each")
    p.add_argument("--extra-data", type=Path, action="append", default=[], metavar="DIR",
                   help="a rendered dataset whose train split joins training and validation split validation "
                   "(repeatable; e.g. mma songs: slakh-studio midi generate --source mma --grooves train)")
    p.add_argument("--targets", default=",".join(SHIPPED))
    p.add_argument("--preset", default=SHIPPED_PRESET)
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--steps", type=int, default=200, help="steps per epoch")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--patience", type=int, default=10)
    p.add_argument("--lr", type=float, default=1e-3, help="Adam's learning rate (default 0.001)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--incoherent", type=float, default=0.0, metavar="FRACTION",
                   help="fraction of training clips whose interference comes from another song (default 0)")
    p.add_argument("--keep-epochs", action="store_true", help="also write every epoch's model, "
                   "WORK/runs/<target>/epochs/eNNN.pt (for --average)")
    p.add_argument("--cache-dir", type=Path, metavar="DIR", help="decoded 16-kHz audio cache (default WORK/cache); "
                   "runs on the same data can share one")
    p.add_argument("--device", default="auto")
    p.add_argument("--clips-per-track", type=int, default=2, help="10-s test clips per track")
    p.add_argument("--init-from", metavar="DIR", type=Path, help="start new runs from DIR/<target>.pt (e.g. "
                   "resources/models: more epochs for the shipped models when their run folders are gone)")
    p.add_argument("--out", type=Path, default=models_dir(), help="where models and cards go")
    p.add_argument("--unseen", type=Path, metavar="DATA", help="only evaluate the models in OUT on DATA's test "
                   "split (a set of songs of another source) into OUT/<target>-evaluation-unseen.*, then the summary")
    p.add_argument("--average", nargs="+", type=Path, metavar="MODEL", help="like --bag, but the mean of the models' "
                   "weights (epochs of one run, from --keep-epochs): one network; MODEL.md beside the first is the run's "
                   "card")
    p.add_argument("--bag", nargs="+", type=Path, metavar="MODEL", help="instead of training: bag these models of "
                   "the one target in --targets (masks averaged) into OUT/<target>.pt, evaluate it on --data's test "
                   "split and write its card (a MODEL.md card beside a member gives the member's Reproduce line)")
    p.add_argument("--summary", action="store_true", help="only (re)write OUT/evaluation.md from the models and "
                   "evaluations in OUT (after targets were trained in separate runs)")
    args = p.parse_args(argv)
    cache = args.cache_dir or args.work / "cache"
    if not 0.0 <= args.incoherent <= 1.0:
        p.error("--incoherent must be between 0 and 1")

    if args.unseen:
        import torch

        torch.set_num_threads(args.threads)  # (torch's default spun for 15 min beside another busy process)
        for target in [t.strip() for t in args.targets.split(",") if t.strip()]:
            rep = evaluate(args.unseen, "test", model=load_model(args.out / f"{target}.pt"),
                           clips_per_track=args.clips_per_track, cache_dir=cache,
                           progress=_progress(target))
            rep.model = target
            rep.write(args.out, f"{target}-evaluation-{UNSEEN}")
    if args.summary or args.unseen:
        print(write_summary(args.out, list(SHIPPED)) or f"no evaluated models in {args.out}")
        return 0
    if args.bag or args.average:
        return make_combined(args, cache)
    data = args.data or make_dataset(args.work, args.songs, args.seed, args.workers)
    extra = [make_extra(args.work, args.extra_songs, s, args.workers) for s in args.extra_seed] if args.extra_songs \
        else []
    extra += args.extra_data
    args.out.mkdir(parents=True, exist_ok=True)
    for target in [t.strip() for t in args.targets.split(",") if t.strip()]:
        run_dir = args.work / "runs" / target
        config = TrainConfig(target=target, data=str(data), preset=args.preset, epochs=args.epochs,
                             steps_per_epoch=args.steps, batch_size=args.batch_size, early_stop=args.patience,
                             lr=args.lr, incoherent=args.incoherent, keep_epochs=args.keep_epochs,
                             threads=args.threads, device=args.device, cache_dir=str(cache),
                             init_from=str(args.init_from / f"{target}.pt") if args.init_from else None,
                             extra_train=[str(d) for d in extra])
        print(f"{target}: training in {run_dir}", flush=True)
        result = train(config, run_dir, resume=(run_dir / "checkpoint.pt").exists(), progress=_progress(target))
        print(f"{target}: best validation loss {result.best_val_loss:.4f} (epoch {result.best_epoch}), "
              f"{result.seconds / 60:.1f} min", flush=True)
        model = load_model(result.model_path)
        rep = evaluate(data, "test", model=model, clips_per_track=args.clips_per_track, cache_dir=cache,
                       progress=_progress(target))
        rep.model = target
        atomic_write_bytes(args.out / f"{target}.pt", result.model_path.read_bytes())
        rep.write(args.out, f"{target}-evaluation")
        atomic_write_text(args.out / f"{target}.md", model_card(target, rep, args.out / f"{target}.pt", data, args,
                                                                     result))
        print(rep.to_markdown(), flush=True)
    print(write_summary(args.out, list(SHIPPED)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
