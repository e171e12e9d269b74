"""Layout checks for GUI tests: visible widgets that overlap, or that are squeezed below the size their layout
promises them (then they are clipped or drawn over their neighbours).

Usage (any widget or window, at the size a user would have)::

    from tests.gui.layout_checks import assert_no_overlap

    widget.resize(1000, 300)
    widget.show()
    qtbot.waitExposed(widget)
    QApplication.processEvents()
    assert_no_overlap(widget)  # AssertionError listing every problem; layout_problems(widget) returns them

What is checked for every visible widget the walk reaches:

- **overlap**: no two visible children of one parent have intersecting geometries (splitter handles, scroll bars,
  size grips and windows are left out);
- **size**: the widget is at least its *effective minimum*, what a layout guarantees when there is room
  (Qt's ``qSmartMinSize``): ``minimumSize()`` where set, else ``minimumSizeHint()`` (or ``sizeHint()`` for a size
  policy that may not shrink); nothing for a size policy of ``Ignored``; for a leaf widget whose height depends on
  its width (a word-wrapped label), the height is checked against ``heightForWidth(width())``, so a message that
  needs more lines than it got is found (for containers ``heightForWidth`` is a preferred height, not a minimum).

The walk descends into containers: widgets with a layout, splitters, tab widgets, stacked widgets, main windows,
dock widgets and a :class:`QScrollArea`'s content widget. It does not descend into Qt's composite widgets (item views
and other scroll areas, whose viewport content scrolls; combo boxes, line edits, spin boxes, tab bars): their own
size is checked, their internals are not. Widgets of zero size (a collapsed splitter pane) are skipped.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QDockWidget,
    QMainWindow,
    QScrollArea,
    QScrollBar,
    QSizeGrip,
    QSizePolicy,
    QSplitter,
    QSplitterHandle,
    QStackedWidget,
    QTabWidget,
    QWidget,
)

_CONTAINERS = (QSplitter, QTabWidget, QStackedWidget, QMainWindow, QDockWidget)
_NOT_COMPARED = (QSplitterHandle, QScrollBar, QSizeGrip)
_SHRINK = QSizePolicy.PolicyFlag.ShrinkFlag.value


def describe(w: QWidget) -> str:
    """``QPushButton 'Save' (Save the patch bank) 80x24+10+4``: class, text, accessible or object name, geometry."""
    g = w.geometry()
    text = w.text() if hasattr(w, "text") and callable(w.text) else ""
    name = w.accessibleName() or w.objectName()
    parts = [type(w).__name__] + ([repr(text[:30])] if isinstance(text, str) and text else [])
    parts += [f"({name})"] if name else []
    return f"{' '.join(parts)} {g.width()}x{g.height()}+{g.x()}+{g.y()}"


def effective_minimum(w: QWidget) -> QSize:
    """The smallest size a layout gives ``w`` when there is room (Qt's ``qSmartMinSize``)."""
    hint, min_hint, minimum = w.sizeHint(), w.minimumSizeHint(), w.minimumSize()
    policy = w.sizePolicy()

    def one(pol: QSizePolicy.Policy, h: int, mh: int, explicit: int) -> int:
        if explicit > 0:
            return explicit
        if pol == QSizePolicy.Policy.Ignored:
            return 0
        return max(mh, 0) if pol.value & _SHRINK else max(h, mh, 0)

    size = QSize(one(policy.horizontalPolicy(), hint.width(), min_hint.width(), minimum.width()),
                 one(policy.verticalPolicy(), hint.height(), min_hint.height(), minimum.height()))
    return size.boundedTo(w.maximumSize())


def _children(w: QWidget) -> list[QWidget]:
    if isinstance(w, QScrollArea):
        return [w.widget()] if w.widget() is not None else []
    if isinstance(w, QAbstractScrollArea):
        return []
    if w.layout() is None and not isinstance(w, _CONTAINERS):
        return []
    direct = Qt.FindChildOption.FindDirectChildrenOnly
    inside = w.rect()  # a main window parks the hidden tabs of tabified docks outside itself: not on screen
    return [c for c in w.findChildren(QWidget, options=direct)
            if c.isVisible() and not c.isWindow() and c.geometry().intersects(inside)]


def _size_problem(w: QWidget) -> str | None:
    need = effective_minimum(w)
    if w.layout() is None and w.hasHeightForWidth() and w.minimumHeight() == 0 \
            and w.sizePolicy().verticalPolicy() != QSizePolicy.Policy.Ignored:  # a word-wrapped label
        need.setHeight(max(w.heightForWidth(w.width()), 0))
    if w.width() < need.width() or w.height() < need.height():
        return f"{describe(w)} is smaller than its minimum {need.width()}x{need.height()}"
    return None


def layout_problems(root: QWidget) -> list[str]:
    """Every overlap and every squeezed widget under ``root`` (itself included), as readable lines."""
    problems: list[str] = []

    def visit(w: QWidget) -> None:
        if w.width() == 0 or w.height() == 0:
            return
        problem = _size_problem(w)
        if problem:
            problems.append(problem)
        kids = _children(w)
        compared = [c for c in kids if not isinstance(c, _NOT_COMPARED) and c.width() and c.height()]
        if not isinstance(w, QScrollArea):
            for i, a in enumerate(compared):
                for b in compared[i + 1:]:
                    if a.geometry().intersects(b.geometry()):
                        problems.append(f"{describe(a)} overlaps {describe(b)} in {describe(w)}")
        for c in kids:
            if not isinstance(c, _NOT_COMPARED):
                visit(c)

    visit(root)
    return problems


def assert_no_overlap(root: QWidget) -> None:
    """Fail with the list of :func:`layout_problems` when there are any."""
    problems = layout_problems(root)
    assert not problems, "layout problems:\n  " + "\n  ".join(problems)
