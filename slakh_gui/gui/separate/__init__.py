"""The Separate panel, in parts: :mod:`.view` (the panel, running the separation), :mod:`.model_panel` (choosing
the model), :mod:`.score_table` (the scores), :mod:`.audition_bar` (listening and exporting), :mod:`.sources` (the
run's audio as player sources) and :mod:`.messages`."""

from slakh_gui.gui.separate.view import SeparateView

__all__ = ["SeparateView"]
