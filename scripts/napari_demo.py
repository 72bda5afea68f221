"""`make napari`: open napari with the HSC brightfield sample and the FlowRoI widget docked.

With --screenshot PATH, wait for the live layers, save the window and quit. --size WxH sets the
window size (1366x768 for a laptop), --state picks what is shown: tune (default), compare (side
by side, labelled panes), plot (rate-distortion curve in the Compare tab), compress (the Compress
tab after a batch), expert (expert settings open), suggest (Suggest settings running).
"""

import argparse
import tempfile
from pathlib import Path

import napari

parser = argparse.ArgumentParser()
parser.add_argument("--screenshot", help="save a screenshot of the window here and quit")
parser.add_argument("--side-by-side", action="store_true", help="same as --state compare")
parser.add_argument(
    "--state", default="tune", choices=["tune", "compare", "plot", "compress", "expert", "suggest"]
)
parser.add_argument("--size", default="1500x950", help="window size, e.g. 1366x768")
args = parser.parse_args()
state = "compare" if args.side_by_side else args.state

viewer = napari.Viewer(title="napari-flowroi")
viewer.open_sample("napari-flowroi", "hsc_brightfield")
_, widget = viewer.window.add_plugin_dock_widget("napari-flowroi", "FlowRoI compression")

if args.screenshot:
    from qtpy.QtCore import QTimer

    width, height = (int(v) for v in args.size.lower().split("x"))
    window = viewer.window._qt_window
    window.showNormal()
    window.resize(width, height)
    steps = {"started": False}

    def save():
        window.grab().save(args.screenshot)
        viewer.close()

    def shoot():
        if widget.last_preview is None or widget.busy or widget.verdict.value == "":
            QTimer.singleShot(200, shoot)
            return
        if not steps["started"]:
            steps["started"] = True
            if state == "compare":
                widget.tabs.setCurrentIndex(1)
                widget.compare.toggle_side_by_side()
            elif state == "plot":
                widget.tabs.setCurrentIndex(1)
                widget.compare.show_rate_distortion()
            elif state == "expert":
                widget.form.expert_button.clicked()
            elif state == "suggest":  # the busy line while Suggest settings runs
                widget.suggest()
                QTimer.singleShot(2500, save)
                return
            elif state == "compress":
                widget.tabs.setCurrentIndex(2)
                out = Path(tempfile.mkdtemp()) / "hsc_brightfield.flowroi"
                widget.model.accept_coverage(widget.form.settings())
                widget.compress(output=out)
            QTimer.singleShot(300, shoot)
            return
        if state == "compress":
            widget.tabs.setCurrentIndex(2)
        QTimer.singleShot(800, save)

    QTimer.singleShot(500, shoot)
napari.run()
