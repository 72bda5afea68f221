"""`make napari`: open napari with the HSC brightfield sample and the FlowRoI widget docked."""

import napari

viewer = napari.Viewer(title="napari-flowroi")
viewer.open_sample("napari-flowroi", "hsc_brightfield")
viewer.window.add_plugin_dock_widget("napari-flowroi", "FlowRoI compression")
napari.run()
