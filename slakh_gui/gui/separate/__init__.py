"""The Separate panel, in parts: :mod:`.separate_view` (the panel, running the separation), :mod:`.model_panel` (choosing
the model), :mod:`.score_table` (the scores), :mod:`.audition_bar` (listening and exporting), :mod:`.sources` (the
run's audio as player sources) and :mod:`.messages`."""

from slakh_gui.gui.separate.audition_bar import PARTS
from slakh_gui.gui.separate.separate_view import SeparateView
from slakh_gui.separation.comparison import LABELS, ORACLE_KEYS, ROWS, describe_model

__all__ = ["LABELS", "ORACLE_KEYS", "PARTS", "ROWS", "SeparateView", "describe_model"]
