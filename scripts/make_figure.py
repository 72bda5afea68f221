"""Draw docs/images/demo-comparison.png: a crop of the shipped HSC sample, its RoI, and FlowRoI
versus plain JPEG2000 at the same rate (run after `make demo`, or on its own)."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import tifffile  # noqa: E402

from napari_flowroi import codec  # noqa: E402
from napari_flowroi.metrics import psnr  # noqa: E402
from napari_flowroi.readers import open_movie  # noqa: E402
from napari_flowroi.roi import RoiExtractor  # noqa: E402
from napari_flowroi.sample_data import cells_path, movie_path  # noqa: E402
from napari_flowroi.settings import FlowRoISettings  # noqa: E402

RATE, T = 32, 5
CROP = (slice(150, 350), slice(150, 350))


def main(out: Path = Path("docs/images/demo-comparison.png")) -> None:
    movie = open_movie(movie_path("hsc_brightfield"))
    cells = tifffile.imread(cells_path("hsc_brightfield"))[T] > 0
    settings = FlowRoISettings(compression_rate=RATE)
    frame = movie[T]
    roi = RoiExtractor(movie, settings).mask(T)
    flowroi = codec.decode_frame(codec.encode_frame(frame, roi, settings))
    plain = codec.decode_frame(codec.encode_plain(frame, settings))
    panels = [
        ("original", frame, None),
        ("RoI (motion) over the frame", frame, roi),
        (f"FlowRoI {RATE}:1, cells {psnr(frame, flowroi, cells):.1f} dB", flowroi, None),
        (f"plain JPEG2000 {RATE}:1, cells {psnr(frame, plain, cells):.1f} dB", plain, None),
    ]
    fig, axes = plt.subplots(1, 4, figsize=(16, 4.4))
    for ax, (title, image, mask) in zip(axes, panels, strict=True):
        ax.imshow(image[CROP], cmap="gray", vmin=0, vmax=255)
        if mask is not None:
            ax.imshow(np.ma.masked_where(~mask[CROP], mask[CROP]), cmap="autumn", alpha=0.35)
        ax.set_title(title, fontsize=11)
        ax.axis("off")
    fig.suptitle("HSC brightfield (BaSiC demo data), frame crop, default settings", fontsize=12)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=80)
    print(out)


if __name__ == "__main__":
    main()
