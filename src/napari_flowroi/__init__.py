"""napari-flowroi: optical-flow-driven region-of-interest JPEG2000 for time-lapse microscopy.

The core (settings, inputs, preprocess, flow, roi, codec, container, batch, metrics) imports no Qt
and no napari; the napari side lives in ``napari_flowroi.napari``.
"""

__version__ = "0.1.0"

from .settings import FlowRoISettings  # noqa: E402

__all__ = ["FlowRoISettings", "__version__"]
