"""``slakh-studio train | evaluate | separate | bag | average``: the separation models of the paper's §3 (see
:mod:`slakh_gui.separation`). torch is imported inside the handlers so ``slakh-studio --help`` stays fast."""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

from slakh_gui.cli_support import CliError, with_count_progress
from slakh_gui.separation.defaults import WIENER as WIENER_DEFAULT
from slakh_gui.separation.defaults import WIENER_ITERATIONS

PRESETS = ("paper", "small", "tiny", "joint-tiny", "joint-small")  # model.PRESETS, without importing torch
WIENER_HELP = ("the joint Wiener post-filter: the installed shipped models of the model's other targets separate "
               "the same mix, and norbert's EM Wiener filter refines all estimates together")


def _needs_torch(handler):
    """``handler``, first checking that PyTorch is installed (an optional dependency of the package)."""
    def run(args) -> int:
        if importlib.util.find_spec("torch") is None:
            raise CliError("separation needs PyTorch, which is not installed: pip install torch "
                           "(or install Slakh Studio with its extra: pip install 'slakh-studio[separation]')")
        return handler(args)

    return run


def register(sub) -> None:
    t = sub.add_parser("train", help="train a separation model (BLSTM, tPSA loss) on a Slakh-layout dataset")
    t.add_argument("--target", required=True, help="group to separate: bass, drums, guitar, piano (band recipe); "
                   "a joint preset takes a comma list, e.g. bass,drums,guitar,piano")
    t.add_argument("--data", required=True, type=Path, help="dataset root (train/ validation/ test/, or a mirdata "
                   "data_home with slakh2100_flac_redux/)")
    t.add_argument("--recipe", default="band", help="submix recipe name or .yaml (default band)")
    t.add_argument("--preset", choices=PRESETS, default="tiny", help="network size (default tiny: 2x256; "
                   "paper: 4x600; joint-tiny / joint-small: one trunk with a mask head per target)")
    t.add_argument("--epochs", type=int, default=100, help="at most this many epochs (default 100)")
    t.add_argument("--steps", type=int, default=200, help="steps per epoch (default 200)")
    t.add_argument("--batch-size", type=int, default=4)
    t.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (default 1e-3)")
    t.add_argument("--patience", type=int, default=15, help="stop after this many epochs without improvement "
                   "(default 15; 0: never)")
    t.add_argument("--val-clips", type=int, default=64, help="validation clips of 10 s (default 64)")
    t.add_argument("--keep-epochs", action="store_true", help="also write every epoch's model, RUN/epochs/eNNN.pt "
                   "(for `slakh-studio average`: the mean of the last epochs' weights)")
    t.add_argument("--incoherent", type=float, default=0.0, metavar="FRACTION",
                   help="fraction of incoherent training mixtures (default 0)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--threads", type=int, default=2, help="CPU threads (default 2)")
    t.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda")
    t.add_argument("--max-tracks", type=int, help="use only the first N tracks of each split")
    t.add_argument("--cache", type=Path, help="folder for the 16-kHz audio cache (default: user cache)")
    t.add_argument("--resume", action="store_true", help="continue the run in -o from its checkpoint")
    t.add_argument("--init-from", metavar="MODEL", help="start a new run from this model's weights (a shipped "
                   "model's name or a model file; same target and preset): fine-tuning, or more epochs for a model "
                   "whose run folder is gone")
    t.add_argument("--extra-train", metavar="DIR", type=Path, action="append", default=[],
                   help="another dataset for training (repeatable): its validation split joins validation, its test "
                   "split stays out, all its other tracks join training; a song of --data's validation or test "
                   "split found here is refused")
    t.add_argument("-o", "--out", type=Path, help="run folder (default runs/<target>-<preset>)")
    t.add_argument("--json", action="store_true", help="print the result as JSON")
    t.set_defaults(handler=_needs_torch(cmd_train))

    e = sub.add_parser("evaluate", help="SI-SDR of a model, the mixture and the oracle masks over a split, and "
                       "the model's gap to the tPSF oracle")
    e.add_argument("--model", help="shipped model name (bass, drums, guitar, piano) or a model file: ours (.pt), "
                   "Open-Unmix (.pth/.json or its folder) or Demucs (.th, bag .yaml); without it, only the mixture "
                   "and the oracles (give --target)")
    e.add_argument("--target", help="group to score when no --model is given; with an Open-Unmix or Demucs model, "
                   "its source to score (default: its first source named like a group)")
    e.add_argument("--recipe", default="band", help="recipe of --target (default band)")
    e.add_argument("--data", required=True, type=Path, help="dataset root")
    e.add_argument("--split", default="test", help="train, validation, test or all (default test)")
    mode = e.add_mutually_exclusive_group()
    mode.add_argument("--clips", dest="mode", action="store_const", const="clips",
                      help="score seeded 10-s coherent clips (default)")
    mode.add_argument("--whole", dest="mode", action="store_const", const="whole", help="score whole tracks")
    e.add_argument("--clips-per-track", type=int, default=1)
    e.add_argument("--seed", type=int, default=0, help="seed of the clip offsets (default 0)")
    e.add_argument("--max-tracks", type=int, help="only the first N tracks of the split")
    e.add_argument("--wiener", action=argparse.BooleanOptionalAction, default=False,
                   help=f"also score the model after {WIENER_HELP} (method model+wiener; default off: it runs "
                   "every model on each clip)")
    e.add_argument("--wiener-iterations", type=int, default=WIENER_ITERATIONS, metavar="N",
                   help=f"EM iterations (default {WIENER_ITERATIONS})")
    e.add_argument("--threads", type=int, default=2, help="CPU threads (default 2)")
    e.add_argument("--device", default="auto")
    e.add_argument("--cache", type=Path, help="folder for the 16-kHz audio cache")
    e.add_argument("-o", "--out", type=Path, help="also write evaluation.md, .csv and .json into this folder")
    e.add_argument("--json", action="store_true", help="print JSON (per-track and mean) instead of the table")
    e.set_defaults(handler=_needs_torch(cmd_evaluate), mode="clips")

    s = sub.add_parser("separate", help="separate a model's target from an audio file")
    s.add_argument("input", type=Path, help="audio file (wav, flac, ...; mono or stereo, any sample rate)")
    s.add_argument("--model", required=True, help="shipped model name or model file: ours (.pt), Open-Unmix "
                   "(<target>.pth/.json with separator.json beside them, or their folder) or Demucs (.th, or a bag "
                   ".yaml whose .th files are in its folder); local files only, nothing is downloaded")
    s.add_argument("-o", "--out", required=True, type=Path, help="estimate file (.wav or .flac); an Open-Unmix or "
                   "Demucs model without --target writes every source, as OUT-<source>.wav (e.g. out-bass.wav)")
    s.add_argument("--target", metavar="SOURCE", help="Open-Unmix / Demucs / a joint model: write only this source "
                   "to -o (without it, every source, as OUT-<source>.wav)")
    s.add_argument("--residual", type=Path, metavar="FILE", help="also write input − estimate (one estimate only)")
    s.add_argument("--chunk", type=float, default=30.0, metavar="S", help="seconds per chunk (default 30)")
    s.add_argument("--wiener", action=argparse.BooleanOptionalAction,
                   help=f"{WIENER_HELP} (default {'on where those models are installed' if WIENER_DEFAULT else 'off'})")
    s.add_argument("--wiener-iterations", type=int, default=WIENER_ITERATIONS, metavar="N",
                   help=f"EM iterations (default {WIENER_ITERATIONS}; 0: the joint soft mask alone)")
    s.add_argument("--threads", type=int, default=2, help="CPU threads (default 2)")
    s.add_argument("--device", default="auto")
    s.add_argument("--overwrite", action="store_true", help="replace existing output files")
    s.set_defaults(handler=_needs_torch(cmd_separate))

    _combine_parser(sub, "bag", cmd_bag, "combine trained models of one target into one model file that averages "
                    "their masks (a bag of models, as Demucs ships): better on music unlike the training songs, each "
                    "member's inference time", "two or more model files (or shipped model names) of the same "
                    "target(s), recipe and preset; a bag among them adds its members", "the bag's model file (.pt)")
    _combine_parser(sub, "average", cmd_average, "average the weights of models of one line of training (epochs of "
                    "one run: stochastic weight averaging; or fine-tunes of one model: a model soup) into one network",
                    "two or more model files with the same target, preset and input statistics",
                    "the averaged model file (.pt)")


def _combine_parser(sub, name: str, handler, help: str, models_help: str, out_help: str) -> None:
    """A command that combines MODEL... into one model file ``-o OUT`` (see :func:`_combine`)."""
    c = sub.add_parser(name, help=help)
    c.add_argument("models", nargs="+", metavar="MODEL", help=models_help)
    c.add_argument("-o", "--out", required=True, type=Path, help=out_help)
    c.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    c.set_defaults(handler=_needs_torch(handler))


def cmd_bag(args) -> int:
    from slakh_gui.separation.model import bag_models

    return _combine(args, bag_models, "a bag needs at least two models", "cannot bag these models")


def cmd_average(args) -> int:
    from slakh_gui.separation.model import average_models

    return _combine(args, average_models, "averaging needs at least two models", "cannot average these models")


def _combine(args, combine, too_few: str, refused: str) -> int:
    """Load ``args.models``, combine them into one model and write it to ``args.out`` (never over a file)."""
    from slakh_gui.separation.model import load_model, save_model

    if len(args.models) < 2:
        raise CliError(too_few)
    if args.out.exists() and not args.overwrite:
        raise CliError(f"{args.out} exists (use --overwrite to replace it)")
    models = [load_model(m) for m in args.models]
    try:
        model = combine(models)
    except ValueError as exc:
        raise CliError(f"{refused}: {exc}") from None
    save_model(model, args.out)
    print(f"{args.out}: {model.describe()}")
    return 0


def _threads(n: int) -> None:
    import torch

    if n and n > 0:
        torch.set_num_threads(n)


def _load(name: str, device: str, source: str | None = None):
    from slakh_gui.separation.external import is_external, load_external
    from slakh_gui.separation.inference import resolve_device
    from slakh_gui.separation.model import load_model

    if is_external(name):
        return load_external(name, source).to(resolve_device(device))
    model = load_model(name).to(resolve_device(device))
    if source is not None and not model.is_joint:
        raise CliError("--target picks the source of an Open-Unmix, Demucs or joint model; this model has one target")
    return model.view(source) if source is not None else model


def _joint(model) -> dict:
    """The models the Wiener post-filter runs beside ``model`` (CliError when no other target has one)."""
    from slakh_gui.separation.wiener import joint_models

    joint = joint_models(model)
    if len(joint) < 2:
        raise CliError(f"the Wiener post-filter needs models of other targets than {model.target}, and no shipped "
                       f"model of its recipe ({model.recipe.name}) is installed")
    return joint


def _positive(value, option: str) -> None:
    if value is not None and value <= 0:
        raise CliError(f"{option} must be positive")


def cmd_train(args) -> int:
    from slakh_gui.separation.train import TrainConfig, train

    for v, o in ((args.epochs, "--epochs"), (args.steps, "--steps"), (args.batch_size, "--batch-size"),
                 (args.val_clips, "--val-clips"), (args.lr, "--lr"), (args.max_tracks, "--max-tracks")):
        _positive(v, o)
    if not 0.0 <= args.incoherent <= 1.0:
        raise CliError("--incoherent must be between 0 and 1")
    name = "joint" if "," in args.target else args.target.lower()
    out = args.out or Path("runs") / f"{name}-{args.preset}"
    config = TrainConfig(target=args.target, data=str(args.data), recipe=args.recipe, preset=args.preset,
                         epochs=args.epochs, batch_size=args.batch_size, steps_per_epoch=args.steps, lr=args.lr,
                         val_clips=args.val_clips, early_stop=args.patience, incoherent=args.incoherent,
                         keep_epochs=args.keep_epochs,
                         seed=args.seed, threads=args.threads, device=args.device,
                         cache_dir=str(args.cache) if args.cache else None, max_tracks=args.max_tracks,
                         init_from=args.init_from, extra_train=[str(d) for d in args.extra_train])
    result = with_count_progress(lambda p, c: train(config, out, resume=args.resume, progress=p, cancel=c),
                                 "train", "step")
    info = {"model": str(result.model_path), "run_dir": str(result.run_dir), "best_val_loss": result.best_val_loss,
            "best_epoch": result.best_epoch, "epochs": result.epochs_run, "stopped_early": result.stopped_early,
            "train_seconds": round(result.seconds, 1), "log": str(result.run_dir / "log.jsonl")}
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        print(f"{result.model_path}: best validation loss {result.best_val_loss:.5f} at epoch {result.best_epoch} "
              f"of {result.epochs_run}{' (stopped early)' if result.stopped_early else ''}, "
              f"{result.seconds / 60:.1f} min of training; log {info['log']}")
    return 0


def cmd_evaluate(args) -> int:
    from slakh_gui.separation.evaluate import evaluate

    _positive(args.clips_per_track, "--clips-per-track")
    _positive(args.max_tracks, "--max-tracks")
    if not args.model and not args.target:
        raise CliError("evaluate needs --model, or --target to score only the mixture and the oracles")
    _threads(args.threads)
    if args.wiener and not args.model:
        raise CliError("--wiener scores a model: give --model")
    if args.wiener_iterations < 0:
        raise CliError("--wiener-iterations must be 0 or more")
    external = bool(args.model) and _is_external(args.model)
    model = _load(args.model, args.device, args.target if external else None) if args.model else None
    if model is not None and not external and model.is_joint:
        if not args.target:
            raise CliError(f"{args.model} is a joint model of {', '.join(model.targets)}: give --target")
        model = _view(model, args.target)
    if external and args.recipe != "band":
        raise CliError("an Open-Unmix or Demucs model is scored against the band recipe's groups")
    if external and model.target not in model.recipe.groups:
        raise CliError(f"{model.source} is no group of the band recipe: nothing to score it against "
                       f"(give --target with one of {', '.join(model.scoreable) or 'none'})")
    if external and args.wiener:
        raise CliError("--wiener runs Slakh Studio models, not an external model")
    joint = _joint(model) if args.wiener else None
    rep = with_count_progress(lambda p, c: evaluate(
        args.data, args.split, model=model, target=None if model else args.target, recipe=args.recipe,
        mode=args.mode, clips_per_track=args.clips_per_track, seed=args.seed, max_tracks=args.max_tracks,
        cache_dir=args.cache, wiener_models=joint, wiener_iterations=args.wiener_iterations, progress=p,
        cancel=c), "evaluate", "clip" if args.mode == "clips" else "track")
    if args.out:
        rep.write(args.out)
    print(rep.to_json() if args.json else rep.to_markdown(), end="")
    return 0


def cmd_separate(args) -> int:
    from slakh_gui.core.audio_io import to_int16, write_audio
    from slakh_gui.separation.inference import separate

    _positive(args.chunk, "--chunk")
    if args.wiener_iterations < 0:
        raise CliError("--wiener-iterations must be 0 or more")
    outs = [args.out] + ([args.residual] if args.residual else [])
    for f in outs:
        if f.suffix.lower() not in (".wav", ".flac"):
            raise CliError(f"{f}: the output must end in .wav or .flac")
        if f.exists() and not args.overwrite:
            raise CliError(f"{f}: exists (use --overwrite to replace it)")
    if args.residual and args.residual.resolve() == args.out.resolve():
        raise CliError("--residual must differ from -o")
    audio, sr = _read_input(args.input)
    _threads(args.threads)
    if _is_external(args.model):
        return _separate_external(args, audio, sr)
    model = _load(args.model, args.device)
    if model.is_joint and not args.target:
        return _separate_joint(args, model, audio, sr)
    if args.target and not model.is_joint:
        raise CliError("--target picks the source of an Open-Unmix, Demucs or joint model; this model has one target")
    model = _view(model, args.target) if args.target else model
    joint = None
    if _wiener_on(args):
        try:
            joint = _joint(model)
        except CliError as exc:
            if args.wiener:
                raise
            print(f"note: no Wiener post-filter ({exc})", file=sys.stderr)
    if joint:
        from slakh_gui.separation.wiener import separate_all

        est = with_count_progress(lambda p, c: separate_all(
            audio, sr, joint, True, args.wiener_iterations, p, c, chunk_seconds=args.chunk)[model.target],
            "separate", "chunk")
    else:
        est = with_count_progress(lambda p, c: separate(audio, sr, model, p, c, chunk_seconds=args.chunk),
                                  "separate", "chunk")
    write_audio(args.out, to_int16(est), sr)
    if args.residual:
        write_audio(args.residual, to_int16(audio - est), sr)
    print(f"{args.out}: {model.target} estimate ({len(audio) / sr:.1f} s, {sr} Hz"
          + (f"; Wiener post-filter with {', '.join(joint)}" if joint else "")
          + (f"; residual {args.residual}" if args.residual else "") + ")", file=sys.stdout)
    return 0


def _view(model, target: str):
    """The view of ``target`` of a joint ``model`` (CliError when it has no such head)."""
    try:
        return model.view(target)
    except ValueError as exc:
        raise CliError(str(exc)) from None


def _wiener_on(args) -> bool:
    return bool(args.wiener or (args.wiener is None and WIENER_DEFAULT))


def _separate_joint(args, model, audio, sr) -> int:
    """``separate`` with a joint model and no ``--target``: every target as OUT-<target>.wav, the network run once
    per chunk for all of them (with ``--wiener``, its targets' estimates filtered together)."""
    from slakh_gui.core.audio_io import to_int16, write_audio
    from slakh_gui.separation.wiener import separate_all

    if args.residual:
        raise CliError("--residual needs one estimate: give --target")
    outs = {t: args.out.with_name(f"{args.out.stem}-{t.lower()}{args.out.suffix}") for t in model.targets}
    for f in outs.values():
        if f.exists() and not args.overwrite:
            raise CliError(f"{f}: exists (use --overwrite to replace it)")
    wiener = _wiener_on(args)
    est = with_count_progress(lambda p, c: separate_all(audio, sr, model.views(), wiener, args.wiener_iterations, p,
                                                        c, chunk_seconds=args.chunk), "separate", "chunk")
    for t, f in outs.items():
        write_audio(f, to_int16(est[t]), sr)
    print("; ".join(f"{f}: {t} estimate" for t, f in outs.items())
          + f" (joint model, {len(audio) / sr:.1f} s, {sr} Hz{'; Wiener post-filter' if wiener else ''})")
    return 0


def _is_external(name: str) -> bool:
    from slakh_gui.separation.external import is_external

    return is_external(name)


def _separate_external(args, audio, sr) -> int:
    """``separate`` with an Open-Unmix or Demucs model: ``--target``'s source to -o, or every source."""
    import numpy as np

    from slakh_gui.core.audio_io import to_int16, write_audio

    if args.wiener:
        raise CliError("--wiener runs Slakh Studio models, not an external model")
    model = _load(args.model, args.device, args.target)
    sources = [model.source] if args.target or len(model.sources) == 1 else list(model.sources)
    if args.residual and len(sources) > 1:
        raise CliError("--residual needs one estimate: give --target")
    outs = {s: args.out if len(sources) == 1 else args.out.with_name(f"{args.out.stem}-{s}{args.out.suffix}")
            for s in sources}
    for f in outs.values():
        if f.exists() and not args.overwrite:
            raise CliError(f"{f}: exists (use --overwrite to replace it)")
    est = with_count_progress(lambda p, c: model.separate_all(audio, sr, p, c, chunk_seconds=args.chunk),
                              "separate", "chunk")
    mono = audio if audio.ndim == 1 else audio.mean(axis=1)
    for s, f in outs.items():
        write_audio(f, to_int16(est[s] if audio.ndim == 1 else np.repeat(est[s][:, None], audio.shape[1], 1)), sr)
    if args.residual:
        write_audio(args.residual, to_int16(mono - est[sources[0]]), sr)
    print("; ".join(f"{f}: {s} estimate" for s, f in outs.items())
          + f" ({model.describe()}; {len(audio) / sr:.1f} s, {sr} Hz)", file=sys.stdout)
    return 0


def _read_input(path: Path):
    import soundfile as sf

    from slakh_gui.separation.separation_errors import AudioInputError

    if not path.is_file():
        raise AudioInputError(f"{path}: no such audio file")
    from slakh_gui.core.render.track_folder import MAX_AUDIO_SAMPLES

    try:
        info = sf.info(str(path))
        if info.frames * info.channels > MAX_AUDIO_SAMPLES or info.samplerate <= 0 or info.channels <= 0:
            raise AudioInputError(
                f"{path}: {info.frames} frames x {info.channels} channels at {info.samplerate} Hz is over the "
                f"limit of {MAX_AUDIO_SAMPLES} samples (50 min of 44.1 kHz stereo): cut it into parts")
        audio, sr = sf.read(path, dtype="float32", always_2d=False)
    except (RuntimeError, sf.LibsndfileError) as exc:
        raise AudioInputError(f"{path}: not a readable audio file ({str(exc).splitlines()[0][:100]})") from None
    if len(audio) == 0:
        raise AudioInputError(f"{path}: has no samples")
    return audio, sr


