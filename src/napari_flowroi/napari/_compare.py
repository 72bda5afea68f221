"""The Compare tab: what the flow layer shows, FlowRoI and JPEG2000 side by side, and the
rate–distortion plot of the visible frame."""

from __future__ import annotations

import threading

from magicgui.widgets import ComboBox, Container, PushButton

from ..rd_curve import DEFAULT_RD_RATES, rate_distortion_steps
from ._layers import FLOW_VIEWS

SINGLE_VIEW = "Side by side: FlowRoI | JPEG2000"


class ComparePanel(Container):
    def __init__(self, dock):
        self.dock = dock
        self.flow_view = ComboBox(
            label="Flow layer shows",
            choices=list(FLOW_VIEWS),
            value="flow magnitude",
            tooltip="Colour-coded flow magnitude (pixels moved per frame) or the motion "
            "saliency (what the RoI threshold cuts under the paper's quantile rule).",
        )
        self.side_by_side_button = PushButton(
            text=SINGLE_VIEW,
            tooltip="Show the decoded FlowRoI and plain JPEG2000 frames next to each other, "
            "labelled, zoom and pan linked, each showing the whole frame. Click again to go back.",
        )
        self.rd_button = PushButton(
            text="Rate–distortion plot",
            tooltip="PSNR inside the RoI against compression rate for this frame, FlowRoI and "
            "plain JPEG2000 (drawn point by point; Cancel above stops it).",
        )
        super().__init__(
            widgets=[
                Container(widgets=[self.flow_view], labels=True),
                self.side_by_side_button,
                self.rd_button,
            ],
            labels=False,
        )
        self.rd_plot = None
        self.saved_visibility: dict | None = None  # layer -> visible, while side by side
        self.flow_view.changed.connect(self._flow_view_changed)
        self.side_by_side_button.changed.connect(self.toggle_side_by_side)
        self.rd_button.changed.connect(lambda *_: self.show_rate_distortion())
        dock.model.movie_changed.connect(self._forget_plot)

    def _forget_plot(self, *_):
        """Another movie (or none): the curve drawn was the movie before's."""
        if self.rd_plot is not None:
            self.rd_plot.hide()

    def _flow_view_changed(self, *_):
        live = self.dock.live_layers
        if live is not None:
            live.set_flow_view(FLOW_VIEWS[self.flow_view.value], self.dock.model.settings)

    # --- side by side --------------------------------------------------------------------------
    def _grid(self):
        viewer = self.dock.viewer
        canvas = getattr(viewer, "canvas", None)
        return canvas.grid if canvas is not None and hasattr(canvas, "grid") else viewer.grid

    @property
    def side_by_side(self) -> bool:
        return self.saved_visibility is not None

    def restore_single_view(self) -> None:
        if self.saved_visibility is None:
            return
        viewer = self.dock.viewer
        for layer, visible in self.saved_visibility.items():
            if viewer is not None and layer in viewer.layers:
                layer.visible = visible
                layer.name_overlay.visible = False
        self.saved_visibility = None
        if viewer is not None:
            self._grid().enabled = False
            viewer.reset_view()
        self.side_by_side_button.text = SINGLE_VIEW

    def toggle_side_by_side(self, *_):
        if self.saved_visibility is not None:
            self.restore_single_view()
            return
        live, viewer = self.dock.live_layers, self.dock.viewer
        if live is None or "flowroi" not in live.layers:
            self.dock.notify("Pick a movie layer and wait for its preview first.", "warning")
            return
        shown = (live.layers["flowroi"], live.layers["plain"])
        self.saved_visibility = {layer: layer.visible for layer in viewer.layers}
        for layer in viewer.layers:
            layer.visible = layer in shown
        for layer in shown:  # each pane says what it shows
            layer.name_overlay.visible = True
        grid = self._grid()
        grid.shape = (1, 2)
        grid.enabled = True
        viewer.reset_view()  # each pane shows the whole frame, not a crop (issue 22, item 12)
        self.side_by_side_button.text = "Back to single view"

    # --- rate–distortion -----------------------------------------------------------------------
    def show_rate_distortion(self):
        dock, busy = self.dock, self.dock.busy_line
        model = dock.model
        if model.target() is None or not dock.tune.live.value:
            dock.notify("Pick a movie layer (and turn on the live preview) first.", "warning")
            return None
        if not busy.start("the rate–distortion plot", f"Rate–distortion curve of frame {model.t}…"):
            return None
        from ._plot import RateDistortionPlot

        if self.rd_plot is None:
            self.rd_plot = RateDistortionPlot()
            layout = self.native.layout()
            layout.insertWidget(layout.count() - 1, self.rd_plot)  # above the stretch
        self.rd_plot.show()
        cancel = threading.Event()
        settings, rate, movie = model.settings, model.settings.compression_rate, model.movie
        self.rd_button.enabled = False

        def step(item):
            done, total, curve = item
            if model.movie is not movie:  # the movie changed: stop, draw nothing of the old one
                cancel.set()
                return
            busy.show_text(
                f"Rate–distortion curve of frame {curve.t}: {done} of {total} rates…", done, total
            )
            self.rd_plot.plot(curve, rate)

        def finished():
            self.rd_button.enabled = True
            busy.end()

        return busy.run(
            dock,
            rate_distortion_steps,
            model.previewer,
            settings,
            model.t,
            DEFAULT_RD_RATES,
            cancel,
            cancel=cancel,
            yielded=step,
            errored=busy.failed,
            finished=finished,
        )
