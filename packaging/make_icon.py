"""Draw packaging/slakh-studio.png (256 px): stacked stem waveforms in the app's colours. Run with the venv's Python."""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QGuiApplication, QImage, QPainter, QPainterPath, QPen

COLORS = ["#f2a33a", "#e8554e", "#5bb0e8", "#7fd17a"]


def draw(size: int = 256) -> QImage:
    img = QImage(size, size, QImage.Format.Format_ARGB32)
    img.fill(Qt.GlobalColor.transparent)
    p = QPainter(img)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setBrush(QColor("#2b2d31"))
    p.setPen(Qt.PenStyle.NoPen)
    p.drawRoundedRect(QRectF(8, 8, size - 16, size - 16), 40, 40)
    for i, color in enumerate(COLORS):
        y0 = size * (0.26 + 0.16 * i)
        path = QPainterPath(QPointF(size * 0.14, y0))
        for k in range(1, 121):
            x = size * (0.14 + 0.72 * k / 120)
            env = math.sin(math.pi * k / 120) ** (1.5 - 0.3 * i)
            path.lineTo(QPointF(x, y0 + size * 0.06 * env * math.sin(k * (0.35 + 0.22 * i))))
        pen = QPen(QColor(color), size / 40)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        p.setPen(pen)
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawPath(path)
    p.end()
    return img


if __name__ == "__main__":
    app = QGuiApplication(sys.argv)
    out = Path(__file__).resolve().parent / "slakh-studio.png"
    draw().save(str(out))
    print(f"wrote {out}")
