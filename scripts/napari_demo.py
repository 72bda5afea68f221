"""`make napari`: open napari with the HSC brightfield sample and the FlowRoI widget docked.

With --screenshot PATH (and --side-by-side), wait for the live layers, save the window and quit.
"""

import argparse

import napari

parser = argparse.ArgumentParser()
parser.add_argument("--screenshot", help="save a screenshot of the window here and quit")
parser.add_argument("--side-by-side", action="store_true", help="show the side-by-side view")
args = parser.parse_args()

viewer = napari.Viewer(title="napari-flowroi")
viewer.open_sample("napari-flowroi", "hsc_brightfield")
_, widget = viewer.window.add_plugin_dock_widget("napari-flowroi", "FlowRoI compression")

if args.screenshot:
    from qtpy.QtCore import QTimer

    viewer.window._qt_window.resize(1500, 950)

    def shoot():
        if widget.last_preview is None or widget.busy:
            QTimer.singleShot(200, shoot)
            return
        if args.side_by_side and widget._grid_saved is None:
            widget.toggle_side_by_side()
            viewer.camera.zoom *= 2
        QTimer.singleShot(500, lambda: (viewer.window._qt_window.grab().save(args.screenshot),
                                        viewer.close()))

    QTimer.singleShot(500, shoot)
napari.run()
