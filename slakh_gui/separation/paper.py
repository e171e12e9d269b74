"""The Slakh paper's figures our scores are read against (Manilow et al., "Cutting Music Source Separation Some
Slakh", WASPAA 2019), from its Table 3: mean SI-SDR [dB] on the 225 tracks of the Slakh2100 test set.

Absolute scores depend on the data (our mixtures are easier or harder than Slakh2100's); what carries over is how
far a model stands below the truncated-PSF oracle on the same clips. Torch-free (the app imports it on the GUI side).
"""

from __future__ import annotations

# Table 3, the "Slakh" model (trained on 43 h of Slakh2100) and the truncated phase-sensitive oracle:
#            mixture  model  tPSF      SI-SDRi = model - mixture; gap = tPSF - model
#   bass      -6.5     3.9    7.3      +10.4                       3.4
#   drums     -6.6     9.9   11.7      +16.5                       1.8
#   guitar    -6.9    -1.8    7.3       +5.1                       9.1
#   piano     -8.0    -2.2    6.4       +5.8                       8.6
PAPER_SDRI = {"bass": 10.4, "drums": 16.5, "guitar": 5.1, "piano": 5.8}
PAPER_TPSF_GAP = {"bass": 3.4, "drums": 1.8, "guitar": 9.1, "piano": 8.6}

# The shipped submix recipes whose groups are Slakh2100's instrument classes (the paper's targets).
PAPER_RECIPES = ("band", "bass", "drums", "guitar", "piano")


def paper_tpsf_gap(target: str, recipe: str | None) -> float | None:
    """The paper's gap to the tPSF oracle for ``target`` (a group of ``recipe``); None without a paper figure."""
    if recipe not in PAPER_RECIPES:
        return None
    return PAPER_TPSF_GAP.get(target.strip().lower())
