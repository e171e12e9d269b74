"""Patch banks: SoundFonts and their presets, effect chains, seeded assignment, editing, validation, auditions."""
