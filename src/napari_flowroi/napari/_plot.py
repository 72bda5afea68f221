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
        self.figure = Figure(figsize=(4, 3), tight_layout=True)
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
        if len(curve.plain_rates) and len(curve.flowroi_rates):  # the gap at the current rate
            x = np.log(current_rate)
            fl = np.interp(x, np.log(curve.flowroi_rates), curve.flowroi_psnr_roi)
            pl = np.interp(x, np.log(curve.plain_rates), curve.plain_psnr_roi)
            ax.annotate(
                f"{fl - pl:+.1f} dB",
                (current_rate, max(fl, pl)),
                textcoords="offset points",
                xytext=(4, 6),
                fontsize=8,
            )
        ax.set_xscale("log")
        ax.set_xlabel("compression rate (raw ÷ compressed)")
        ax.set_ylabel("PSNR inside RoI (dB)")
        ax.set_title(
            f"frame {curve.t}, RoI {100 * curve.roi_fraction:.0f} % of the frame", fontsize=9
        )
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8, loc="lower left", frameon=False)
        self.canvas.draw_idle()
