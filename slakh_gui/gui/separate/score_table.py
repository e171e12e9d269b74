"""The Separate panel's scores: SI-SDR and SI-SDRi of the model's estimate, the oracle masks' and the mixture's, one
row each; the model's gap to the tPSF oracle in its row; and how far the model stands from the oracles."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from slakh_gui.separation.comparison import LABELS, ROWS, SeparationRun, fmt_db

ROW_HEIGHT = 20  # px, the table's rows
GAP_COLUMN = 3
GAP_TIP = ("Gap to the tPSF oracle: tPSF SI-SDRi − the model's SI-SDRi, dB (how far the model stands below the best "
           "mask its tPSA loss aims at; comparable across data, unlike the scores themselves)")


class ScoreTable(QWidget):
    """A row per ROWS key (estimate, SI-SDR dB, SI-SDRi dB; the model's row also its gap to tPSF, dB) above the gap
    texts; picking a row emits ``rowSelected`` with its key. Rows a run did not compute are greyed out, with the
    reason in their tooltips."""

    rowSelected = Signal(str)  # a ROWS key

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(4)
        self.table = table = QTableWidget(len(ROWS), 4)
        table.setAccessibleName("Scores of the estimates")
        table.setHorizontalHeaderLabels(["Estimate (dB)", "SI-SDR", "SI-SDRi", "Gap"])  # fits a 1280x720 dock
        table.horizontalHeaderItem(0).setToolTip("Scores in dB; pick a row to see and hear that estimate")
        table.horizontalHeaderItem(1).setToolTip("Scale-invariant SDR against the truth, dB (at 16 kHz)")
        table.horizontalHeaderItem(2).setToolTip("SI-SDR improvement over the unprocessed mixture, dB")
        table.horizontalHeaderItem(GAP_COLUMN).setToolTip(GAP_TIP)
        table.verticalHeader().hide()
        table.verticalHeader().setDefaultSectionSize(ROW_HEIGHT)
        table.verticalHeader().setMinimumSectionSize(ROW_HEIGHT)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        header = table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for c in (1, 2, GAP_COLUMN):
            header.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        for r, (key, label, tip) in enumerate(ROWS):
            item = QTableWidgetItem(label)
            item.setToolTip(tip)
            item.setData(Qt.ItemDataRole.UserRole, key)
            table.setItem(r, 0, item)
            for c in (1, 2, GAP_COLUMN):
                cell = QTableWidgetItem("—" if c != GAP_COLUMN or key == "model" else "")
                cell.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                cell.setToolTip(GAP_TIP if c == GAP_COLUMN else tip)
                table.setItem(r, c, cell)
        table.setFixedHeight(table.horizontalHeader().sizeHint().height() + ROW_HEIGHT * len(ROWS)
                             + 2 * table.frameWidth())
        table.itemSelectionChanged.connect(self._selection_changed)
        lay.addWidget(table)
        self.gap_label = QLabel("")
        self.gap_label.setAccessibleName("Distance from the oracles")
        self.gap_label.setWordWrap(True)
        self.gap_label.setStyleSheet("font-size: 8pt; color: #b9bdc4;")
        lay.addWidget(self.gap_label)

    def show_run(self, run: SeparationRun) -> None:
        """The scores of ``run``, the model's row in bold and named after the model."""
        for r, (key, _label, tip) in enumerate(ROWS):
            e = run.estimates.get(key)
            for c, value in ((1, e.si_sdr if e else None), (2, e.si_sdri if e else None)):
                item = self.table.item(r, c)
                item.setText(fmt_db(value))
                item.setToolTip(tip if e is not None else (
                    "Not computed (tick Oracle masks)" if run.truth is not None else "No stems loaded: no truth"))
            self.table.item(r, 0).setText(f"Model · {run.model_name}" if key == "model" else LABELS[key])
            for c in range(self.table.columnCount()):
                flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable if e is not None else \
                    Qt.ItemFlag.NoItemFlags
                self.table.item(r, c).setFlags(flags)
                font = self.table.item(r, c).font()
                font.setBold(key == "model")
                self.table.item(r, c).setFont(font)
        self._show_gap(run)
        self.gap_label.setText(run.gap_text())
        self.gap_label.setVisible(bool(self.gap_label.text()))

    def _show_gap(self, run: SeparationRun) -> None:
        """The model row's gap to the tPSF oracle ("—" where the oracles were not computed), the paper's in its tip."""
        item = self.table.item([k for k, _, _ in ROWS].index("model"), GAP_COLUMN)
        gap, paper = run.gap_to("tpsf"), run.paper_gap()
        item.setText("—" if gap is None else f"{gap:.1f}")
        if gap is None:
            item.setToolTip("No tPSF oracle to compare with (tick Oracle masks, and load the stems)"
                            if "tpsf" not in run.estimates else "Undefined: the truth is silent")
        else:
            item.setToolTip(GAP_TIP + (f". The paper's Slakh model stands {paper:.1f} dB below its tPSF oracle on "
                                       "Slakh2100 (Table 3)" if paper is not None else ""))

    def clear(self) -> None:
        """No run: dashes, the plain row labels (not a gone run's model name), no gap text, nothing selected."""
        self.gap_label.setText("")
        self.gap_label.hide()
        for r, (key, label, tip) in enumerate(ROWS):
            self.table.item(r, 0).setText(label)
            for c in range(self.table.columnCount()):
                item = self.table.item(r, c)
                if c == GAP_COLUMN:
                    item.setText("—" if key == "model" else "")
                    item.setToolTip(GAP_TIP)
                elif c:
                    item.setText("—")
                    item.setToolTip(tip)
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
                font = item.font()
                font.setBold(False)
                item.setFont(font)
        self.table.clearSelection()

    def select(self, key: str) -> None:
        """Select the row of ``key`` without emitting ``rowSelected``."""
        r = [k for k, _, _ in ROWS].index(key)
        if r not in {i.row() for i in self.table.selectionModel().selectedRows()}:
            self.table.blockSignals(True)
            self.table.selectRow(r)
            self.table.blockSignals(False)

    def _selection_changed(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if rows:
            self.rowSelected.emit(ROWS[rows[0].row()][0])
