"""The paper's Fig. 1 and Fig. 2 for a :class:`~slakh_gui.core.dataset.dataset_stats.DatasetStats`, as matplotlib figures.

Figures are plain :class:`matplotlib.figure.Figure` objects (no pyplot state): the CLI renders them to PNG with the
Agg canvas, and the app can put the same figure in a Qt canvas.
"""

from __future__ import annotations

import io

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from slakh_gui.core.dataset.dataset_stats import DatasetStats

EVERY_MIX_COLOR = "#2e8b57"  # the paper's green: classes found in every mixture
OTHER_COLOR = "#4c72b0"
CURVE_COLORS = ("#c44e52", "#4c72b0", "#55a868", "#8172b2")


def fig1_classes(stats: DatasetStats) -> Figure:
    """Bar chart: number of mixtures containing each instrument class (green: in every mixture)."""
    counts = stats.class_counts
    fig = Figure(figsize=(max(6.0, 0.5 * len(counts) + 2.0), 4.8), dpi=120, layout="constrained")
    ax = fig.add_subplot()
    names, values = list(counts), list(counts.values())
    colors = [EVERY_MIX_COLOR if v == stats.songs else OTHER_COLOR for v in values]
    bars = ax.bar(range(len(names)), values, color=colors)
    ax.bar_label(bars, labels=[str(v) for v in values], padding=2, fontsize=8)
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize=9)
    ax.set_ylabel("Number of mixtures")
    ax.set_xlabel("Instrument class (metadata inst_class)")
    ax.set_ylim(0, max(values, default=1) * 1.25)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(f"Mixtures containing each instrument class ({stats.songs} songs)")
    ax.grid(axis="y", alpha=0.3)
    if any(c == EVERY_MIX_COLOR for c in colors):
        from matplotlib.patches import Patch

        ax.legend(handles=[Patch(color=EVERY_MIX_COLOR, label="in every mixture"),
                           Patch(color=OTHER_COLOR, label="in some mixtures")], loc="upper right", fontsize=8,
                  ncols=2)
    if not names:
        ax.text(0.5, 0.5, "no stems with audio", ha="center", va="center", transform=ax.transAxes)
    return fig


def fig2_spectra(stats: DatasetStats) -> Figure:
    """Mean ± std over songs of the normalized log-magnitude mixture spectra, log-frequency axis, one curve per
    sample rate."""
    fig = Figure(figsize=(8.0, 4.8), dpi=120, layout="constrained")
    ax = fig.add_subplot()
    handles, labels = [], []
    for i, s in enumerate(stats.spectra):
        f, m, d = s.freqs[1:], s.mean_db[1:], s.std_db[1:]  # no DC bin on a log axis
        color = CURVE_COLORS[i % len(CURVE_COLORS)]
        label = f"{s.sample_rate / 1000:g} kHz, {s.songs} song{'s' if s.songs != 1 else ''}"
        band = ax.fill_between(f, m - d, m + d, color=color, alpha=0.25, lw=0)
        (line,) = ax.plot(f, m, color=color, lw=1.0)
        handles.append((band, line))
        labels.append(f"{label}: mean ± 1 std")
    ax.set_xscale("log")
    if stats.spectra:
        lo = min(float(s.freqs[1]) for s in stats.spectra)
        hi = max(float(s.freqs[-1]) for s in stats.spectra)
        ax.set_xlim(max(lo, 20.0), hi)
        means = np.concatenate([s.mean_db[1:] for s in stats.spectra])
        ax.set_ylim(max(float(np.min(means)) - 10.0, -160.0), float(np.max(means)) + 10.0)
        ax.legend(handles, labels, loc="lower left", fontsize=8)
    else:
        ax.text(0.5, 0.5, "no mixture audio", ha="center", va="center", transform=ax.transAxes)
    ax.set_xlabel("Frequency (Hz)")
    ax.set_ylabel("Normalized log-magnitude (dB)")
    ax.set_title(f"Mixture spectra: mean ± std over {sum(s.songs for s in stats.spectra)} songs\n"
                 "(4096-sample frames, 50 % overlap, each song's average spectrum at unit energy)", fontsize=10)
    ax.grid(which="both", alpha=0.25)
    return fig


def figure_png(fig: Figure) -> bytes:
    """A figure rendered to PNG bytes with the Agg canvas."""
    buf = io.BytesIO()
    FigureCanvasAgg(fig).print_png(buf)
    return buf.getvalue()
