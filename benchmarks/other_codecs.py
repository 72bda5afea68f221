"""What a user might pick instead: JPEG XL and HTJ2K (imagecodecs), HEVC (ffmpeg + libx265), AV1
(ffmpeg + SVT-AV1).

Each codec is run over a ladder of its own quality parameter on the same clip as FlowRoI; its
rate at a given cell PSNR is interpolated as for plain JPEG2000, so every codec is reported as
"times smaller than plain JPEG2000 at the cell PSNR FlowRoI reaches at 8, 16, 32, 64:1".

HEVC: frames go to ffmpeg as raw grey video (8-bit `gray`; 16-bit movies whose values span
less than 4096 levels go as `gray12le` after subtracting the minimum, which is exact), coded with
libx265 (preset `fast`, CRF ladder), bytes = the raw HEVC bitstream. Modes: all-intra
(keyint=1), inter (default GOP, P/B frames), and inter with a better quality inside the RoI: the
FlowRoI mask of each clip frame, united and cut into 64x64-pixel rectangles, is passed with
ffmpeg's `addroi` filter (qoffset -0.3: lower QP inside), which libx265 turns into per-block
quantiser offsets (needs adaptive quantisation, x265's default).

AV1: the same clip through ffmpeg's libsvtav1 (preset 8, CRF ladder, default GOP: inter
coding), as 8-bit 4:2:0 video with neutral chroma (uint8) or 10-bit after subtracting the
minimum (uint16 ranges under 1024 levels exact, wider ranges keep their top 10 bits; noted as
lossy before coding); bytes = the IVF stream (chroma of a constant plane costs next to
nothing).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

import numpy as np
from common import ClipQuality, matched_rate

JXL_DISTANCES = tuple(0.01 * 2 ** (k * 0.75) for k in range(15))  # 0.01 .. 14.7
HTJ2K_QSTEPS = tuple(1e-6 * 2 ** (k / 2) for k in range(40))  # 1e-6 .. 0.6
HEVC_CRFS = (4, 10, 16, 22, 28, 34, 40, 51)
AV1_CRFS = (4, 12, 20, 28, 36, 44, 52, 63)
ROI_BLOCK = 64
ROI_QOFFSET = -0.3


def have_hevc() -> bool:
    if shutil.which("ffmpeg") is None:
        return False
    out = subprocess.run(["ffmpeg", "-hide_banner", "-encoders"], capture_output=True, text=True)
    return "libx265" in out.stdout


def have_av1() -> bool:
    if shutil.which("ffmpeg") is None:
        return False
    out = subprocess.run(["ffmpeg", "-hide_banner", "-encoders"], capture_output=True, text=True)
    return "libsvtav1" in out.stdout


def _image_ladder(case, originals, encode, decode, params):
    points = []
    for p in params:
        q = ClipQuality(case.movie.dtype)
        try:
            for t in sorted(originals):
                data = encode(originals[t], p)
                q.add(originals[t], decode(data), case.cells(t), len(data))
        except Exception as exc:  # noqa: BLE001  a parameter the codec refuses (any error type): skip that point
            print(f"    skipped {p}: {exc}")
            continue
        points.append({"param": p, **q.as_dict()})
    return points


def jxl_ladder(case, originals, params=JXL_DISTANCES):
    import imagecodecs

    return _image_ladder(
        case,
        originals,
        lambda f, d: imagecodecs.jpegxl_encode(f, distance=d, effort=7),
        imagecodecs.jpegxl_decode,
        params,
    )


def htj2k_ladder(case, originals):
    import imagecodecs

    return _image_ladder(
        case,
        originals,
        lambda f, q: imagecodecs.htj2k_encode(f, q, reversible=False),
        imagecodecs.htj2k_decode,
        HTJ2K_QSTEPS,
    )


# --- HEVC ---------------------------------------------------------------------------------------


def _hevc_format(frames: list[np.ndarray]):
    stack = np.stack(frames)
    if stack.dtype == np.uint8:
        return stack, "gray", 0
    low = int(stack.min())
    if int(stack.max()) - low < 4096:
        return (stack.astype(np.int64) - low).astype("<u2"), "gray12le", low
    # wider 16-bit ranges: keep the top 12 bits (lossy before coding; noted in the report)
    return (stack >> 4).astype("<u2"), "gray12le", -4


def roi_rectangles(mask: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Rows of ROI_BLOCK-pixel blocks touched by the mask, as (x, y, w, h) runs merged vertically."""
    h, w = mask.shape
    by, bx = -(-h // ROI_BLOCK), -(-w // ROI_BLOCK)
    padded = np.zeros((by * ROI_BLOCK, bx * ROI_BLOCK), bool)
    padded[:h, :w] = mask
    blocks = padded.reshape(by, ROI_BLOCK, bx, ROI_BLOCK).any(axis=(1, 3))
    runs_prev: dict = {}
    rects = []
    for y in range(by):
        runs = {}
        x = 0
        while x < bx:
            if blocks[y, x]:
                x0 = x
                while x < bx and blocks[y, x]:
                    x += 1
                runs[(x0, x)] = runs_prev.get((x0, x), y)
            else:
                x += 1
        for key, y0 in runs_prev.items():
            if key not in runs:
                rects.append((key[0], y0, key[1], y))
        runs_prev = runs
    for key, y0 in runs_prev.items():
        rects.append((key[0], y0, key[1], by))
    out = []
    for x0, y0, x1, y1 in rects:
        px, py = x0 * ROI_BLOCK, y0 * ROI_BLOCK
        out.append((px, py, min(w, x1 * ROI_BLOCK) - px, min(h, y1 * ROI_BLOCK) - py))
    return out


def _ffmpeg_raw_input(pix_fmt: str, width: int, height: int) -> list[str]:
    """An ffmpeg command's start that reads raw frames of this size and pixel format on stdin."""
    return ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo"] + [
        "-pix_fmt",
        pix_fmt,
        "-s",
        f"{width}x{height}",
        "-r",
        "10",
        "-i",
        "-",
    ]


def _ffmpeg_decode(path, pix_fmt: str) -> bytes:
    """The raw frames ffmpeg decodes `path` to, in `pix_fmt`."""
    cmd = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-i", path]
    cmd += ["-f", "rawvideo", "-pix_fmt", pix_fmt, "-"]
    return subprocess.run(cmd, check=True, capture_output=True).stdout


def hevc_encode_decode(frames: list[np.ndarray], crf: int, mode: str, roi=None, threads: int = 2):
    """(bytes of the HEVC bitstream, decoded frames) for the clip."""
    stack, pix_fmt, offset = _hevc_format(frames)
    n, h, w = stack.shape
    ph, pw = h + h % 2, w + w % 2  # x265 wants even sizes; pad by edge replication, crop after
    if (ph, pw) != (h, w):
        stack = np.pad(stack, ((0, 0), (0, ph - h), (0, pw - w)), mode="edge")
    params = [f"crf={crf}", "log-level=error", f"pools={threads}", "frame-threads=1"]
    if mode == "intra":
        params.append("keyint=1")
    vf = []
    if roi is not None:
        vf = [f"addroi=x={x}:y={y}:w={ww}:h={hh}:qoffset={ROI_QOFFSET}" for x, y, ww, hh in roi]
    with tempfile.TemporaryDirectory(
        dir="/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    ) as tmp:
        out = os.path.join(tmp, "clip.hevc")
        cmd = _ffmpeg_raw_input(pix_fmt, pw, ph)
        if vf:
            script = os.path.join(tmp, "filters.txt")
            with open(script, "w") as handle:
                handle.write(",".join(vf))
            cmd += ["-filter_script:v", script]
        cmd += [
            "-c:v",
            "libx265",
            "-preset",
            "fast",
            "-pix_fmt",
            pix_fmt,
            "-x265-params",
            ":".join(params),
            "-f",
            "hevc",
            out,
        ]
        subprocess.run(cmd, input=stack.tobytes(), check=True, capture_output=True)
        size = os.path.getsize(out)
        dec = _ffmpeg_decode(out, pix_fmt)
    dtype = np.uint8 if pix_fmt == "gray" else np.dtype("<u2")
    decoded = np.frombuffer(dec, dtype).reshape(-1, ph, pw)[:, :h, :w]
    if offset > 0:
        decoded = decoded.astype(np.int64) + offset
    elif offset < 0:
        decoded = decoded.astype(np.int64) << 4
    info = np.iinfo(frames[0].dtype)
    return size, [np.clip(d, info.min, info.max).astype(frames[0].dtype) for d in decoded]


def av1_encode_decode(frames: list[np.ndarray], crf: int):
    """(bytes of the AV1 stream, decoded frames) for the clip, SVT-AV1 through ffmpeg."""
    stack = np.stack(frames)
    if stack.dtype == np.uint8:
        luma, pix_fmt, shift, low, neutral, dtype = stack, "yuv420p", 0, 0, 128, np.uint8
    else:
        low = int(stack.min())
        shift = max(0, int(int(stack.max()) - low).bit_length() - 10)
        luma = ((stack.astype(np.int64) - low) >> shift).astype("<u2")
        pix_fmt, neutral, dtype = "yuv420p10le", 512, np.dtype("<u2")
    n, h, w = luma.shape
    ph, pw = h + h % 2, w + w % 2
    if (ph, pw) != (h, w):
        luma = np.pad(luma, ((0, 0), (0, ph - h), (0, pw - w)), mode="edge")
    chroma = np.full((n, 2, ph // 2, pw // 2), neutral, luma.dtype)
    raw = b"".join(luma[i].tobytes() + chroma[i].tobytes() for i in range(n))
    with tempfile.TemporaryDirectory(
        dir="/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    ) as tmp:
        out = os.path.join(tmp, "clip.ivf")
        cmd = [
            *_ffmpeg_raw_input(pix_fmt, pw, ph),
            "-c:v",
            "libsvtav1",
            "-preset",
            "8",
            "-crf",
            str(crf),
            "-pix_fmt",
            pix_fmt,
            "-svtav1-params",
            "lp=2",
            "-f",
            "ivf",
            out,
        ]
        subprocess.run(cmd, input=raw, check=True, capture_output=True)
        size = os.path.getsize(out)
        dec = _ffmpeg_decode(out, pix_fmt)
    plane = ph * pw
    per_frame = plane + 2 * (plane // 4)
    values = np.frombuffer(dec, dtype)
    decoded = [
        values[i * per_frame : i * per_frame + plane].reshape(ph, pw)[:h, :w] for i in range(n)
    ]
    info = np.iinfo(frames[0].dtype)
    return size, [
        np.clip((d.astype(np.int64) << shift) + low, info.min, info.max).astype(frames[0].dtype)
        for d in decoded
    ]


def _clip_ladder(case, originals, crfs, encode_decode):
    """Quality inside the cells of a whole clip coded by a video codec at each CRF:
    `encode_decode(clip, crf)` gives (bytes, decoded frames)."""
    frames = sorted(originals)
    clip = [originals[t] for t in frames]
    points = []
    for crf in crfs:
        size, decoded = encode_decode(clip, crf)
        q = ClipQuality(case.movie.dtype)
        for t, d in zip(frames, decoded, strict=False):
            q.add(originals[t], d, case.cells(t), 0)
        q.bytes = size
        points.append({"param": crf, **q.as_dict()})
    return points


def av1_ladder(case, originals, crfs=AV1_CRFS):
    return _clip_ladder(case, originals, crfs, av1_encode_decode)


def hevc_ladder(case, originals, mode, roi_mask=None, crfs=HEVC_CRFS):
    roi = roi_rectangles(roi_mask) if roi_mask is not None else None
    return _clip_ladder(
        case, originals, crfs, lambda clip, crf: hevc_encode_decode(clip, crf, mode, roi)
    )


def run_case(
    case, originals, flowroi_points, roi_masks, plain_ladder, log, hevc: bool, quick: bool = False
) -> dict:
    """Ladders of every codec and their gain over plain JPEG2000 at FlowRoI's cell PSNRs."""
    import time

    started = time.perf_counter()
    step = 2 if quick else 1  # quick: every other ladder point
    crfs = HEVC_CRFS[::step]
    ladders = {
        "JPEG XL (libjxl, effort 7)": jxl_ladder(case, originals, JXL_DISTANCES[::step]),
        "HTJ2K (OpenJPH)": htj2k_ladder(case, originals),
    }
    if hevc:
        union = np.any(np.stack([roi_masks[t] for t in sorted(roi_masks)]), axis=0)
        ladders["HEVC all-intra (x265)"] = hevc_ladder(case, originals, "intra", crfs=crfs)
        ladders["HEVC inter (x265)"] = hevc_ladder(case, originals, "inter", crfs=crfs)
        ladders["HEVC inter + RoI qoffset (x265)"] = hevc_ladder(
            case, originals, "inter", union, crfs
        )
    if have_av1():
        ladders["AV1 inter (SVT-AV1, preset 8)"] = av1_ladder(case, originals, AV1_CRFS[::step])
    gains = {}
    for name, ladder in ladders.items():
        gains[name] = {}
        for p in flowroi_points:
            plain_rate, pflag = matched_rate(plain_ladder, p["psnr_cells"])
            codec_rate, cflag = matched_rate(ladder, p["psnr_cells"])
            flag = {">": "<", "<": ">"}.get(cflag, "") or pflag
            gains[name][str(int(p["requested"]))] = {
                "gain": codec_rate / plain_rate,
                "flag": flag,
                "psnr_cells": p["psnr_cells"],
            }
    log(f"  other codecs {case.name}: {time.perf_counter() - started:.0f} s")
    return {"ladders": ladders, "gains": gains}
