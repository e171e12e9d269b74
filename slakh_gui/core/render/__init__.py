"""Render: FluidSynth stems, the BS.1770 auto-mix, the Slakh track folder written and read back."""
