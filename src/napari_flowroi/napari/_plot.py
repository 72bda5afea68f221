"""A small dock with the rate-distortion curves of the current frame (matplotlib in Qt)."""

from __future__ import annotations

from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from qtpy.QtWidgets import QVBoxLayout, QWidget

from ..preview import RateDistortion


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
        ax.plot(curve.flowroi_rates, curve.flowroi_psnr_roi, "o-", color="tab:orange",
                label="FlowRoI")
        ax.plot(curve.plain_rates, curve.plain_psnr_roi, "s--", color="tab:blue",
                label="plain JPEG2000")
        ax.axvline(current_rate, color="grey", lw=0.8, ls=":")
        ax.set_xscale("log")
        ax.set_xlabel("compression rate (raw ÷ compressed)")
        ax.set_ylabel("PSNR inside RoI (dB)")
        ax.set_title(f"frame {curve.t}, RoI {100 * curve.roi_fraction:.0f} % of the frame",
                     fontsize=9)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
        self.canvas.draw_idle()
