"""The desktop app (PySide6). Qt lives only in this package; it calls :mod:`slakh_gui.core`."""
