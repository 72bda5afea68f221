import subprocess
import sys
import textwrap

from napari_flowroi._openjpeg import bundled_openjpeg_path


def test_pillow_wheel_carries_openjpeg():
    path = bundled_openjpeg_path()
    assert path is not None and path.exists()


def test_codec_works_with_no_system_openjpeg():
    """With ctypes finding no libopenjp2 (a pip-only machine), Pillow's copy is used."""
    script = textwrap.dedent("""
        import ctypes.util
        real = ctypes.util.find_library
        ctypes.util.find_library = lambda name: None if "openjp" in name else real(name)
        import numpy as np
        assert ctypes.util.find_library("openjp2") is None
        from napari_flowroi import codec
        from napari_flowroi.settings import FlowRoISettings
        frame = (np.arange(64 * 64) % 251).astype(np.uint8).reshape(64, 64)
        out = codec.decode_frame(codec.encode_plain(frame, FlowRoISettings(compression_rate=2)))
        assert out.shape == (64, 64)
        from glymur.lib import openjp2
        print(openjp2.OPENJP2._name)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "libs" in result.stdout and "libopenjp2" in result.stdout
