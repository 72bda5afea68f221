"""The compressed-stack container: a folder of standard JP2 frames, their RoI masks and a manifest.

Layout (docs/container.md)::

    OUTPUT/
      manifest.json           written last, atomically: its presence means "complete"
      frames/frame_000000.jp2 one standard JPEG2000 file per frame, names sort in frame order
      (each FlowRoI frame carries the RoI it was coded with in a box of its JP2 file; format 1
      kept it as masks/mask_000000.png)
      .progress/              only while a run is under way or was interrupted

The package owns the format: file names and atomic writes (`_files`), the manifest and its schema
(`_manifest`), the stored masks (`_masks`), JP2 headers (`_jp2`), writing (`_writer`), reading
(`_reader`), checking (`_verify`) and decompressing to TIFF / OME-TIFF with the calibration
(`_export`).
"""

from ._export import container_set, decompress, has_calibration, ome_metadata, write_ome_tiff
from ._files import (
    MANIFEST,
    PROGRESS,
    TMP_SUFFIX,
    frame_name,
    is_container,
    is_partial,
    mask_name,
    remove_temporary_files,
    sha256,
    write_atomic,
    write_error,
    written_whole,
)
from ._manifest import (
    DTYPES,
    FORMAT_NAME,
    FORMAT_VERSION,
    ManifestError,
    NoManifestError,
    build_manifest,
    manifest_file_bytes,
    manifest_problem,
    manifest_reserve,
    read_manifest,
    record_reserve,
)
from ._masks import decode_png_mask, encode_png_mask, mask_block
from ._reader import (
    ROI_FRACTION_DIGITS,
    Container,
    coverage_of,
    frame_rates,
    mean_roi_fraction,
    open_container,
)
from ._verify import Problem, folder_members, member_problem, verify_container, verify_member
from ._writer import ContainerWriter

__all__ = [
    "MANIFEST",
    "PROGRESS",
    "TMP_SUFFIX",
    "frame_name",
    "is_container",
    "is_partial",
    "mask_name",
    "remove_temporary_files",
    "sha256",
    "write_atomic",
    "write_error",
    "written_whole",
    "DTYPES",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "ManifestError",
    "build_manifest",
    "manifest_file_bytes",
    "manifest_problem",
    "NoManifestError",
    "manifest_reserve",
    "read_manifest",
    "record_reserve",
    "decode_png_mask",
    "encode_png_mask",
    "mask_block",
    "Container",
    "coverage_of",
    "frame_rates",
    "mean_roi_fraction",
    "ROI_FRACTION_DIGITS",
    "open_container",
    "Problem",
    "folder_members",
    "member_problem",
    "verify_container",
    "verify_member",
    "ContainerWriter",
    "container_set",
    "decompress",
    "has_calibration",
    "ome_metadata",
    "write_ome_tiff",
]
