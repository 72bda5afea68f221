"""The napari side of napari-flowroi: a thin layer that maps widget state to core calls and core
results to layers. Nothing here computes; see ``napari_flowroi.preview`` and the core modules."""
