"""Defaults of the separation options shared by the CLI, the app and the library; importable without numpy or torch
(the CLI builds its parser with them)."""

# the joint Wiener post-filter (separation.wiener) is off by default: on mono mixtures it lowered every shipped
# model's SI-SDRi (bass -0.21, drums -0.06, guitar -1.05, piano -1.13 dB; README, "Wiener post-filter")
WIENER = False
WIENER_ITERATIONS = 1  # its EM iterations (Open-Unmix's default)
