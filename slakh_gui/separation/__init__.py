"""Source separation after the Slakh paper (§3): one BLSTM mask network per target instrument, trained with the
truncated phase-sensitive approximation (tPSA) loss, scored with SI-SDR against oracle masks.

Modules (import them directly; this package imports nothing heavy): :mod:`.stft` (the 16 kHz STFT), :mod:`.masks`
(oracle masks, tPSA loss), :mod:`.metrics` (SI-SDR), :mod:`.model` (network, presets, model files), :mod:`.data`
(Slakh-layout datasets, coherent/incoherent samples), :mod:`.train`, :mod:`.evaluate`, :mod:`.inference`
(``separate``, ``oracle_estimates`` and ``score`` for the app), :mod:`.wiener` (all targets at once, the joint
Wiener post-filter), :mod:`.defaults` (option defaults), :mod:`.comparison` (a model and the oracles on one mix, for
the app), :mod:`.resample`, :mod:`.paper` (the paper's Table 3 figures), :mod:`.separation_errors`.
"""
