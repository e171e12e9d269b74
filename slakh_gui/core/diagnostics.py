"""What a user pastes into a bug report: versions, SoundFonts found, audio devices, GPU, the paths in use.

Audio devices are listed by a child process: PortAudio can abort the whole process on a broken ALSA
configuration, and a diagnostics command must survive exactly that.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import subprocess
import sys

from slakh_gui import __version__, logs, paths

PACKAGES = ("numpy", "scipy", "pretty_midi", "mido", "pyfluidsynth", "pyloudnorm", "soundfile", "pedalboard",
            "PyYAML", "PySide6-Essentials", "pyqtgraph", "sounddevice", "torch", "dask", "distributed", "mirdata")

_DEVICES_SCRIPT = """
import json, sounddevice as sd
out = []
for d in sd.query_devices():
    out.append({"name": d["name"], "inputs": d["max_input_channels"], "outputs": d["max_output_channels"],
                "default_samplerate": d["default_samplerate"]})
print(json.dumps({"portaudio": sd.get_portaudio_version()[1], "devices": out}))
"""


def _version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def audio_devices(timeout: float = 15.0) -> dict:
    """PortAudio's devices, asked in a child process: ``{"portaudio", "devices"}`` or ``{"error"}``."""
    try:
        proc = subprocess.run([sys.executable, "-c", _DEVICES_SCRIPT], capture_output=True, text=True,
                              timeout=timeout, env=os.environ.copy())
    except subprocess.TimeoutExpired:
        return {"error": f"listing audio devices took more than {timeout:g} s"}
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"])[-1]
        return {"error": f"PortAudio failed ({'killed by a signal' if proc.returncode < 0 else last})"}
    return json.loads(proc.stdout)


def gpu() -> str:
    try:
        import torch
    except ImportError:
        return "torch not installed"
    if torch.cuda.is_available():
        return f"CUDA: {torch.cuda.get_device_name(0)} ({torch.cuda.device_count()} device(s))"
    return "none (separation runs on the CPU)"


def collect(with_devices: bool = True) -> dict:
    """Everything, as a JSON-able dict."""
    from slakh_gui.core.bank import soundfont
    from slakh_gui.core.render import fluid

    try:
        fs = fluid.version()
    except Exception as exc:  # reported, not raised
        fs = f"not available: {exc}"
    fonts = [str(p) for p in soundfont.find_soundfonts()]
    info = {
        "slakh_studio": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "frozen": bool(getattr(sys, "frozen", False)),
        "fluidsynth": fs,
        "packages": {p: _version(p) for p in PACKAGES},
        "soundfonts": fonts,
        "soundfont_search_path": [str(p) for p in paths.soundfont_search_path()],
        "gpu": gpu(),
        "paths": {
            "resources": str(paths.resources_dir()), "patch_banks": str(paths.patches_dir()),
            "default_bank": str(paths.default_bank()), "user_data": str(paths.user_data_dir()),
            "log_file": str(logs.log_path()), "preset_cache": str(soundfont.cache_dir()),
        },
        "environment": {k: v for k, v in os.environ.items() if k.startswith(("SLAKH_STUDIO", "QT_QPA", "ALSA_"))
                        or k in ("DISPLAY", "WAYLAND_DISPLAY")},
    }
    if with_devices:
        info["audio"] = audio_devices()
    return info


def as_text(info: dict) -> str:
    """A plain-text report (what the About / diagnostics view shows and copies)."""
    lines = [f"Slakh Studio {info['slakh_studio']} on Python {info['python']}, {info['platform']}"
             + (" (bundle)" if info["frozen"] else ""), f"FluidSynth: {info['fluidsynth']}", f"GPU: {info['gpu']}", ""]
    lines.append("Packages: " + ", ".join(f"{k} {v}" for k, v in info["packages"].items()))
    lines += ["", f"SoundFonts found ({len(info['soundfonts'])}):"] + [f"  {p}" for p in info["soundfonts"]]
    lines += ["SoundFont search path:"] + [f"  {p}" for p in info["soundfont_search_path"]]
    audio = info.get("audio")
    if audio is not None:
        lines.append("")
        if "error" in audio:
            lines.append(f"Audio: {audio['error']}")
        else:
            lines.append(f"Audio ({audio['portaudio']}): {len(audio['devices'])} device(s)")
            lines += [f"  {d['name']}: {d['outputs']} out, {d['inputs']} in, {d['default_samplerate']:g} Hz"
                      for d in audio["devices"]]
    lines += ["", "Paths:"] + [f"  {k}: {v}" for k, v in info["paths"].items()]
    if info["environment"]:
        lines += ["Environment:"] + [f"  {k}={v}" for k, v in sorted(info["environment"].items())]
    return "\n".join(lines) + "\n"
