"""The Separate panel (see :mod:`slakh_gui.gui.separate`): the names other modules and tests import from here."""

from slakh_gui.gui.separate.audition_bar import PARTS
from slakh_gui.gui.separate.view import SeparateView
from slakh_gui.separation.comparison import LABELS, ORACLE_KEYS, ROWS, describe_model

__all__ = ["LABELS", "ORACLE_KEYS", "PARTS", "ROWS", "SeparateView", "describe_model"]
