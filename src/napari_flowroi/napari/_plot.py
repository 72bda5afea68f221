"""A small dock with the rate-distortion curves of the current frame (matplotlib in Qt)."""

from __future__ import annotations

import numpy as np
from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from qtpy.QtWidgets import QVBoxLayout, QWidget

from ..rd_curve import RateDistortion


class RateDistortionPlot(QWidget):
    """PSNR inside the RoI against the achieved compression rate, FlowRoI and plain JPEG2000."""

    def __init__(self, parent=None):
        super().__init__(parent)
        # constrained layout re-fits labels on every draw (tight_layout fitted them once, on a
        # canvas not sized yet, and they overlapped while the curve was drawn: issue 22, item 12)
        self.figure = Figure(figsize=(4, 3), layout="constrained")
        self.canvas = FigureCanvasQTAgg(self.figure)
        self.axes = self.figure.add_subplot(111)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.canvas)
        self.setMinimumHeight(220)
        self.curve: RateDistortion | None = None

    def plot(self, curve: RateDistortion, current_rate: float) -> None:
        self.curve = curve
        ax = self.axes
        ax.clear()
        ax.plot(
            curve.flowroi_rates,
            curve.flowroi_psnr_roi,
            "o-",
            color="tab:orange",
            label="FlowRoI",
            lw=2,
            ms=6,
            zorder=3,
        )
        ax.plot(
            curve.plain_rates,
            curve.plain_psnr_roi,
            "s--",
            color="tab:blue",
            label="plain JPEG2000",
            lw=1.5,
            ms=5,
            mfc="none",
            zorder=2,
        )
        ax.axvline(current_rate, color="grey", lw=0.8, ls=":")
        title = f"frame {curve.t}, RoI {100 * curve.roi_fraction:.0f} % of the frame"
        if len(curve.plain_rates) and len(curve.flowroi_rates):  # the gap at the current rate
            x = np.log(current_rate)
            fl = np.interp(x, np.log(curve.flowroi_rates), curve.flowroi_psnr_roi)
            pl = np.interp(x, np.log(curve.plain_rates), curve.plain_psnr_roi)
            gap = fl - pl
            gap_text = "±0.0" if round(gap, 1) == 0 else f"{gap:+.1f}"
            # in the title, not on the curve, where it met the legend and tick labels
            title += f"\nFlowRoI {gap_text} dB at {current_rate:g} : 1"
        ax.set_xscale("log")
        ax.set_xlabel("compression rate (raw ÷ compressed, : 1)")
        ax.set_ylabel("PSNR inside RoI (dB)")
        ax.set_title(title, fontsize=9)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8, loc="best", frameon=True, framealpha=0.8)
        self.canvas.draw_idle()

    def label_boxes(self) -> list:
        """Display-space boxes of the title, axis labels and legend (for the overlap test)."""
        renderer = self.canvas.get_renderer()
        ax = self.axes
        parts = [ax.title, ax.xaxis.label, ax.yaxis.label, ax.get_legend()]
        return [p.get_window_extent(renderer) for p in parts if p is not None and p.get_visible()]
