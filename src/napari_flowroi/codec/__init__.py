"""RoI-aware JPEG2000 coding of single frames, in memory.

OpenJPEG has no spatial RoI coding (docs/codec.md), so the priority of RoI pixels is given
before the encoder and the frame is coded as standard JPEG2000 at the target rate; any JPEG2000
reader shows the result. One module per job:

- `_priority`: background detail damped outside the RoI (`prioritise_roi`);
- `_values`: sample values <-> the integers JPEG2000 codes (floats onto 16-bit codes);
- `_openjpeg`: OpenJPEG through Pillow, bytes in and out, and the CPUs coding may take;
- `_rate`: the byte budget (`RateController`), the target-PSNR search, the 5 % promise;
- `_htj2k`: HTJ2K (Part 15) with a searched quantisation step (optional, imagecodecs);
- `_mask_box`: the stored RoI mask, in the codestream's comment of each frame's JP2 file;
- `_keywords`: keyword scalars (``rate=``, ``target_psnr=``...) checked by the settings;
- `_frames`: a whole frame coded and decoded (`encode_frame`, `encode_plain`, `decode_frame`).

The container (`napari_flowroi.container`) builds on this package; nothing here imports it.
"""

from ._frames import EncodedFrame, decode_frame, encode_frame, encode_plain, priority_pays
from ._htj2k import HTJ2K_FIRST_STEP, HTJ2K_MAX_ATTEMPTS, HTJ2KRateController, encode_htj2k
from ._keywords import coding_settings
from ._mask_box import (
    MASK_BLOCKS,
    MASK_SHARE,
    MASK_SHARE_RATE,
    MASK_TAG,
    MASK_UUID,
    attach_mask,
    block_grid,
    decode_mask,
    encode_mask,
    full_mask,
    has_mask,
    mask_budget,
    openjpeg_comment_bytes,
)
from ._openjpeg import (
    MAX_RESOLUTIONS,
    available_cpus,
    cpus_to_spare,
    decode_jp2,
    encode_jp2,
    openjpeg_version,
    read_jp2_file,
    resolutions_for,
    set_codec_threads,
)
from ._priority import (
    BASE_MAX_STEP,
    BASE_MIN_SHARE,
    BASE_STEP_PER_SIGMA,
    DETAIL_BAND,
    DETAIL_HIGH,
    DETAIL_LOW,
    DETAIL_OF_ROI,
    DETAIL_QUANTILE,
    DETAIL_WINDOW,
    background_base,
    prioritise_roi,
    prioritised_codes,
    roi_weight,
    soft_weight,
)
from ._rate import (
    MAX_RATE_ATTEMPTS,
    QUALITY_RATIO_RANGE,
    QUALITY_STEPS,
    RATE_PROMISE,
    RATE_TOLERANCE,
    RateController,
    encode_to_quality,
    rate_control_counts,
    rate_unmet,
)
from ._values import FLOAT_CODE_MAX, from_codec_values, to_codec_values

__all__ = [
    "BASE_MAX_STEP",
    "BASE_MIN_SHARE",
    "BASE_STEP_PER_SIGMA",
    "DETAIL_BAND",
    "DETAIL_HIGH",
    "DETAIL_LOW",
    "DETAIL_OF_ROI",
    "DETAIL_QUANTILE",
    "DETAIL_WINDOW",
    "FLOAT_CODE_MAX",
    "HTJ2K_FIRST_STEP",
    "HTJ2K_MAX_ATTEMPTS",
    "MASK_BLOCKS",
    "MASK_SHARE",
    "MASK_SHARE_RATE",
    "MASK_TAG",
    "MASK_UUID",
    "MAX_RATE_ATTEMPTS",
    "MAX_RESOLUTIONS",
    "QUALITY_RATIO_RANGE",
    "QUALITY_STEPS",
    "RATE_PROMISE",
    "RATE_TOLERANCE",
    "EncodedFrame",
    "HTJ2KRateController",
    "RateController",
    "attach_mask",
    "available_cpus",
    "background_base",
    "block_grid",
    "coding_settings",
    "cpus_to_spare",
    "decode_frame",
    "decode_jp2",
    "decode_mask",
    "encode_frame",
    "encode_htj2k",
    "encode_jp2",
    "encode_mask",
    "encode_plain",
    "encode_to_quality",
    "from_codec_values",
    "full_mask",
    "has_mask",
    "mask_budget",
    "openjpeg_comment_bytes",
    "openjpeg_version",
    "prioritise_roi",
    "prioritised_codes",
    "priority_pays",
    "rate_control_counts",
    "rate_unmet",
    "read_jp2_file",
    "resolutions_for",
    "roi_weight",
    "set_codec_threads",
    "soft_weight",
    "to_codec_values",
]
