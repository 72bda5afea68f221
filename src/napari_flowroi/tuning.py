"""The tuning session, without Qt or napari: movie, settings, visible frame, preview scheduling,
what each frame says about the cells, suggestion, coverage acceptance and the preflight check.

The napari widget (``napari/``) lays out controls, forwards what the user does to a
:class:`TuningModel`, runs :meth:`TuningModel.preview_steps` in a worker when
:meth:`TuningModel.plan` asks for it and shows what the model announces through its psygnal
signals. Scripts and tests drive the same model directly.

What a setting change costs is decided here (:meth:`TuningModel.change_kind`): the coverage target
only re-words the readout; a coding setting (scaling factor, compression rate, target PSNR,
feather, background sigma) re-codes the frame with the cached mask and flow; plain JPEG2000 does
not depend on any RoI setting; only RoI settings recompute the mask.

The verdict is about the cells (docs/decisions.md): PSNR inside the cells the missed-cell guard
or the appearance finds (``guard.quality_cells``), not inside the RoI, so a RoI that leaves cells
out cannot look good by measuring only what it kept.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from psygnal import Signal

from .errors import CancelledError, FlowRoIError, InputError
from .guard import Preflight, preflight, quality_cells, sample_frames
from .metrics import psnr, psnr_peak
from .preview import FramePreview, Previewer
from .readers import Movie, movie_from_array, require_motion
from .settings import FlowRoISettings, change_kind, preview_key

#: Labels of the source map: which RoI source drew each pixel (0: background).
SOURCE_NAMES = {1: "motion", 2: "appearance", 3: "your mask"}
#: Settings only the motion source reads.
MOTION_ONLY = ("roi_threshold", "adjacent_factor", "flow_method", "flow_scale", "min_motion")
#: Settings only the paper's `quantile` rule reads (rule `cells` tests cell-like regions).
QUANTILE_ONLY = ("saliency_weight", "opening_size", "closing_size", "min_component_area")
#: Candidates of a suggestion checked against the verdict, best first, before plain JPEG2000.
VERDICT_CHECKS = 4
#: A PSNR difference inside the cells the verdict calls a tie (readout.verdict: "≈").
VERDICT_TIE_DB = 0.2
#: Rate doublings the size factor is searched over (compute_size_factor's default).
SIZE_STEPS = 3
#: Settings that shape how the RoI is favoured in coding.
ROI_CODING = ("scaling_factor", "feather", "background_sigma")


@dataclass(frozen=True)
class FrameAssessment:
    """What one frame says about the cells, beyond the preview's figures.

    ``sources`` labels each RoI pixel with the source that drew it (:data:`SOURCE_NAMES`);
    ``dead`` maps a setting to why it has no effect on this frame; the cell figures are PSNR
    inside the guard's cells (nan before coding, or when no cell is found)."""

    t: int
    settings: FlowRoISettings
    sources: np.ndarray = field(repr=False)
    dead: dict[str, str]
    cell_fraction: float = float("nan")
    coverage: float | None = None  # share of cell pixels inside the RoI; None in plain mode
    psnr_cells_flowroi: float = float("nan")
    psnr_cells_plain: float = float("nan")
    user_mask: bool = False
    coded: bool = False  # the cell figures are measured (the frame was coded)

    @property
    def cell_gain(self) -> float:
        return self.psnr_cells_flowroi - self.psnr_cells_plain


def source_map(extractor, settings: FlowRoISettings, t: int) -> np.ndarray:
    """(Y, X) uint8: 1 where motion drew the RoI, 2 appearance, 3 the user's mask (that order
    wins where they overlap: your mask, then motion, then appearance), 0 background."""
    out = np.zeros(extractor.shape, np.uint8)
    if settings.plain:
        return out
    if settings.appearance_roi:
        out[extractor.appearance_mask(t)] = 2
    if settings.motion_roi:
        out[extractor.motion_mask(t)] = 1
    user = extractor.user_mask(t)
    if user is not None:
        out[user] = 3
    return out


def dead_controls(extractor, settings: FlowRoISettings, t: int) -> dict[str, str]:
    """Settings that change nothing on frame `t`, each with the reason in plain words."""
    dead: dict[str, str] = {}
    if settings.target_psnr > 0:
        dead["compression_rate"] = "Target PSNR is set: the size follows from it"
    if settings.plain:
        for name in ("motion_roi", "appearance_roi", "coverage_target", *MOTION_ONLY, *ROI_CODING):
            dead[name] = "Plain is on: there is no RoI"
        return dead
    if not settings.motion_roi:
        for name in MOTION_ONLY + QUANTILE_ONLY:
            dead[name] = "Motion RoI is off"
    elif settings.roi_rule != "quantile":
        for name in QUANTILE_ONLY:
            dead[name] = "only the 'quantile' RoI rule uses it"
    user = extractor.user_mask(t)
    if settings.motion_roi and (settings.appearance_roi or user is not None):
        others = (
            extractor.appearance_mask(t)
            if settings.appearance_roi
            else np.zeros(extractor.shape, bool)
        )
        if user is not None:
            others = others | user
        motion = extractor.motion_mask(t)
        adds = int(np.count_nonzero(motion & ~others))
        if adds <= 0.0005 * others.size:  # a few stray pixels do not make a control useful
            # say which of them covers it, and not "covers the moving cells" where none moves
            covering = [n for n, on in (("the appearance RoI", settings.appearance_roi),
                                        ("your mask", user is not None)) if on]  # fmt: skip
            verb = "cover" if len(covering) > 1 else "covers"
            why = (
                "nothing here moves enough for Motion RoI"
                if np.count_nonzero(motion) <= 0.0005 * motion.size
                else f"{' and '.join(covering)} already {verb} the moving cells on this frame"
            )
            for name in ("motion_roi", "roi_threshold", "adjacent_factor"):
                dead[name] = why
    if not settings.roi_sources and user is None:
        for name in ROI_CODING:
            dead[name] = "there is no RoI: both RoI sources are off"
    return dead


def _cells_psnr(frame, decoded, cells, peak) -> float:
    return float(psnr(frame, decoded, cells, peak)) if cells.any() else float("nan")


class TuningModel:
    """One movie being tuned.

    Signals
    -------
    movie_changed(Movie | None)
    settings_changed(FlowRoISettings, str)  -- the new settings and what they change:
        'readout', 'coding' or 'roi' (see :meth:`change_kind`)
    frame_changed(int)
    preview_ready(FramePreview)  -- coarse (mask only) then full, for the current target only
    assessed(FrameAssessment)    -- sources, dead controls (coarse), then the cell figures
    size_factor_ready(float)     -- FlowRoI's size advantage at equal cell quality, refined late
    suggestion_ready(object)     -- a tune.Suggestion
    """

    movie_changed = Signal(object)
    settings_changed = Signal(object, str)
    frame_changed = Signal(int)
    preview_ready = Signal(object)
    assessed = Signal(object)
    size_factor_ready = Signal(float)
    suggestion_ready = Signal(object)

    def __init__(self, settings: FlowRoISettings | None = None):
        self.settings = settings or FlowRoISettings()
        self.movie: Movie | None = None
        self.previewer: Previewer | None = None
        self.t = 0
        self.extra_roi = None
        self.last_preview: FramePreview | None = None
        self.last_assessment: FrameAssessment | None = None
        self.size_factor: float | None = None
        self.suggestion = None
        self._accepted: tuple | None = None  # (settings, movie) compressed despite the guard
        self._failed: set = set()  # targets whose preview raised: not retried until they change
        self._assessments: dict = {}  # (preview key, t) -> FrameAssessment (latest kept)
        # (target, cancel event, previewer) of the preview job
        self._running: tuple | None = None

    # --- state ------------------------------------------------------------------------------------
    def set_movie(self, data, name: str = "movie", *, rgb: bool = False) -> None:
        """Use the (T, Y, X) array `data`; raises FlowRoIError (a user message) when unusable,
        leaving no movie."""
        self.clear_movie(emit=False)
        try:
            if rgb:
                raise InputError(
                    f"Layer '{name}' is an RGB(A) colour image, not a time-lapse movie. FlowRoI "
                    "compresses one grey channel over time: split the colour channels "
                    "(right-click the layer → Split RGB) and pick one, or load a (time, y, x) "
                    "movie."
                )
            movie = movie_from_array(data, source=f"Layer '{name}'")
            require_motion(movie)
        except FlowRoIError:
            self.movie_changed.emit(None)
            raise
        self.movie = movie
        self.previewer = Previewer(movie, extra_roi=self.extra_roi)
        self.t = min(self.t, len(movie) - 1)
        self.movie_changed.emit(movie)

    def clear_movie(self, emit: bool = True) -> None:
        self.cancel_preview()
        self.movie = self.previewer = self.last_preview = self.last_assessment = None
        self.size_factor = None
        # both were about the movie going away: another movie gets its own guard warning and
        # its own suggestion (a 'compress anyway' of one movie let another one through)
        self.suggestion = self._accepted = None
        self._failed.clear()
        self._assessments.clear()
        if emit:
            self.movie_changed.emit(None)

    #: what a change costs, derived from the settings' ``affects`` metadata (settings.py)
    change_kind = staticmethod(change_kind)

    def set_settings(self, settings: FlowRoISettings) -> str:
        kind = self.change_kind(self.settings, settings)
        self.settings = settings
        if kind != "none":
            self.settings_changed.emit(settings, kind)
        return kind

    def set_frame(self, t: int) -> None:
        t = int(t)
        if self.movie is not None:
            t = min(max(t, 0), len(self.movie) - 1)
        if t != self.t:
            self.t = t
            self.frame_changed.emit(t)

    def set_extra_roi(self, extra_roi) -> None:
        self.extra_roi = extra_roi
        self._failed.clear()
        self._assessments.clear()
        if self.previewer is not None:
            self.previewer.set_extra_roi(extra_roi)

    # --- previews -----------------------------------------------------------------------------
    def target(self) -> tuple[FlowRoISettings, int] | None:
        """(settings, frame) the layers should show, or None (no movie, or it failed already)."""
        if self.previewer is None:
            return None
        target = (preview_key(self.settings), self.t)
        return None if target in self._failed else target

    def cached(self, coarse: bool = False) -> FramePreview | None:
        target = self.target()
        if target is None:
            return None
        find = self.previewer.cached_coarse if coarse else self.previewer.cached
        return find(*target)

    def assessment(self, settings: FlowRoISettings, t: int) -> FrameAssessment | None:
        """The assessment of (settings, t) if computed, else None (never computes)."""
        return self._assessments.get((preview_key(settings), int(t)))

    def coarse(
        self, settings: FlowRoISettings, t: int, previewer: Previewer | None = None
    ) -> FramePreview:
        """Mask, flow and guard of (settings, t), not coded yet; run in a worker. `previewer`:
        the movie's the job was planned for (default: the current one)."""
        try:
            return (previewer or self.previewer).coarse(settings, t)
        except FlowRoIError:
            if self._is_current(previewer):
                self._failed.add((preview_key(settings), int(t)))
            raise

    def compute(
        self,
        settings: FlowRoISettings,
        t: int,
        cancel: threading.Event | None = None,
        on_coarse: Callable[[FramePreview], None] | None = None,
        previewer: Previewer | None = None,
    ) -> FramePreview:
        """The preview of (settings, t); run in a worker. Remembers failures so they are not
        retried in a loop (a NaN in a frame fails the same way every time)."""
        try:
            return (previewer or self.previewer).preview(
                settings, t, cancel=cancel, on_coarse=on_coarse
            )
        except FlowRoIError:
            if self._is_current(previewer):
                self._failed.add((preview_key(settings), int(t)))
            raise

    def assess(self, preview: FramePreview, previewer: Previewer | None = None) -> FrameAssessment:
        """Sources and dead controls of a preview (coarse), with the cell figures once coded;
        run in a worker (the masks come from the extractor's caches)."""
        # the model's memory is keyed by (settings, frame), not by movie: a job planned for a
        # movie since replaced neither reads it nor leaves entries in it
        remember = self._is_current(previewer)
        previewer = previewer or self.previewer
        settings, t = preview.settings, preview.t
        key = (preview_key(settings), t)
        known = self._assessments.get(key) if remember else None
        if known is not None and (preview.coarse or known.coded):
            return known
        # plain mode has no extractor of its own: the cells do not depend on `plain`
        extractor = previewer.extractor(settings.replace(plain=False))
        user = extractor.user_mask(t) is not None
        sources = known.sources if known is not None else source_map(extractor, settings, t)
        dead = known.dead if known is not None else dead_controls(extractor, settings, t)
        result = FrameAssessment(t, settings, sources, dead, user_mask=user)
        if not preview.coarse:
            cells = quality_cells(extractor, t)
            frame = previewer.frame(t)
            peak = psnr_peak(frame)
            result = FrameAssessment(
                t,
                settings,
                sources,
                dead,
                cell_fraction=float(cells.mean()),
                coverage=None if preview.coverage is None else preview.coverage.pixel_share,
                psnr_cells_flowroi=_cells_psnr(frame, preview.flowroi, cells, peak),
                psnr_cells_plain=_cells_psnr(frame, preview.plain, cells, peak),
                user_mask=user,
                coded=True,
            )
        if not remember:
            return result
        if len(self._assessments) > 64:  # a session's worth; the oldest go first
            self._assessments.pop(next(iter(self._assessments)))
        self._assessments[key] = result
        return result

    def _is_current(self, previewer: Previewer | None) -> bool:
        """Whether work done with `previewer` (None: the current one) is about today's movie."""
        return previewer is None or previewer is self.previewer

    def preview_steps(self, settings: FlowRoISettings, t: int, cancel: threading.Event):
        """Generator for a worker: yields the coarse preview, its assessment, the coded preview
        and its assessment; returns (preview, size factor at equal cell quality) or None when
        cancelled.

        Every step uses the previewer the job was planned for (:meth:`plan`): the user may
        switch to another movie while it runs, and the frame asked for may not exist in that
        one (a preview of frame 5 of a 4-frame movie failed, issue 22's random layer actions);
        steps of a job that was cancelled meanwhile are refused by :meth:`accept_step`."""
        previewer = self._planned_previewer(cancel)
        if previewer is None or cancel.is_set():
            return None
        coarse = self.coarse(settings, t, previewer)
        yield coarse
        yield self.assess(coarse, previewer)
        if cancel.is_set():
            return None
        try:
            full = self.compute(settings, t, cancel, previewer=previewer)
        except CancelledError:
            return None
        yield full
        yield self.assess(full, previewer)
        if cancel.is_set():
            return None
        return full, self.compute_size_factor(full, cancel, previewer=previewer)

    def _planned_previewer(self, cancel: threading.Event) -> Previewer | None:
        """The previewer of the job `cancel` belongs to, None when it is not the running job."""
        if self._running is not None and self._running[1] is cancel:
            return self._running[2]
        return None

    def plan(self) -> tuple[FlowRoISettings, int, threading.Event] | None:
        """Show what is cached for the view, and say what to compute: (settings, frame, cancel
        event) for a new worker, or None when nothing needs to run (cached, or the running job
        computes this target already). A job computing an older target is told to stop."""
        target = self.target()
        if target is None:
            return None
        for coarse in (True, False):
            found = self.cached(coarse=coarse)
            if found is not None:
                self.accept_preview(found)
                known = self.assessment(*target)
                if known is not None:
                    self.accept_assessment(known)
        if self.cached() is not None:
            return None
        if self._running is not None:
            running, cancel, _ = self._running
            if running == target and not cancel.is_set():
                return None
            cancel.set()  # superseded: stops at its next step
        cancel = threading.Event()
        self._running = (target, cancel, self.previewer)
        return self.settings, target[1], cancel

    def job_finished(self, cancel: threading.Event) -> bool:
        """The preview job with this cancel event ended; True when the view still needs a
        preview (the user moved on while it ran): plan again."""
        if self._running is not None and self._running[1] is cancel:
            self._running = None
        return self._running is None and self.target() is not None and self.cached() is None

    def cancel_preview(self) -> None:
        if self._running is not None:
            self._running[1].set()
            self._running = None

    def is_current(self, preview) -> bool:
        return self.target() == (preview.settings, preview.t)

    def accept_preview(self, preview: FramePreview) -> bool:
        """Take a preview computed in a worker if it is still what the user looks at."""
        if not self.is_current(preview):
            return False
        if not preview.coarse:
            if preview is not self.last_preview:
                self.size_factor = None
            self.last_preview = preview
        self.preview_ready.emit(preview)
        return True

    def accept_assessment(self, assessment: FrameAssessment) -> bool:
        if not self.is_current(assessment):
            return False
        self.last_assessment = assessment
        self.assessed.emit(assessment)
        return True

    def accept_step(self, item, cancel: threading.Event | None = None) -> bool:
        """A worker's step: a preview or an assessment; refused when its job (`cancel`) was
        cancelled meanwhile (superseded, or the movie changed)."""
        if cancel is not None and cancel.is_set():
            return False
        if isinstance(item, FrameAssessment):
            return self.accept_assessment(item)
        return self.accept_preview(item)

    def compute_size_factor(
        self,
        preview: FramePreview,
        cancel: threading.Event | None = None,
        steps: int = SIZE_STEPS,
        previewer: Previewer | None = None,
    ) -> float | None:
        """How many times smaller FlowRoI is than plain JPEG2000 at the same PSNR inside the
        guard's cells: plain JPEG2000 is coded at rates halving or doubling from the preview's
        until its cell PSNR crosses FlowRoI's, then the rate is interpolated in log scale (None
        if not crossed). The search is the previewer's; the cells are the model's choice."""
        previewer = previewer or self.previewer
        if previewer is None or preview.coarse or not preview.settings.uses_roi:
            return None
        cells = quality_cells(previewer.extractor(preview.settings), preview.t)
        return previewer.size_factor(preview, cells, steps=steps, cancel=cancel)

    def accept_size_factor(self, preview: FramePreview, factor: float | None) -> None:
        if factor is not None and preview is self.last_preview and self.is_current(preview):
            self.size_factor = factor
            self.size_factor_ready.emit(factor)

    # --- the whole movie, estimated -----------------------------------------------------------
    def estimate_steps(self, settings: FlowRoISettings, cancel: threading.Event, count: int = 5):
        """Generator for a worker: the previews of `count` frames spread over the movie, one per
        step as (done, total); returns the list of (preview, assessment) for
        :func:`readout.movie_estimate`."""
        frames = sample_frames(len(self.movie), count)
        results = []
        for i, t in enumerate(frames):
            if cancel.is_set():
                raise CancelledError("estimate cancelled")
            full = self.compute(settings, t, cancel)
            results.append((full, self.assess(full)))
            yield i + 1, len(frames)
        return results

    # --- suggestion ---------------------------------------------------------------------------
    def suggest(
        self,
        progress: Callable[[int, int], None] | None = None,
        cancel: threading.Event | None = None,
    ):
        """Search settings on a few frames (tune.suggest_settings), then keep the best candidate
        the verdict agrees with on every frame tried; run in a worker."""
        from .tune import suggest_settings

        suggestion = suggest_settings(self.movie, self.settings, progress=progress, cancel=cancel)
        return self.agreed_suggestion(suggestion, cancel)

    def agreed_suggestion(self, suggestion, cancel: threading.Event | None = None):
        """`suggestion` with its winner replaced by the best eligible candidate whose verdict
        holds on every frame it was tried on (cells at the coverage target, FlowRoI not worse
        on the cells), or by plain JPEG2000 when none of the first VERDICT_CHECKS does.

        The search ranks candidates by their coverage averaged over the sampled frames; the
        verdict reads each frame alone, against the guard's reference. Without this check a
        suggestion holding 98 % of the cells on average read "below the 98 % target" on one of
        its own frames once applied (issue 22, item 4). The previews computed here are cached,
        so the applied suggestion shows at once. A replaced winner drops the search's
        `compress_check` (made for the search's own winner, not this one)."""
        from dataclasses import replace

        from .tune import MIN_GAIN

        target = self.settings.coverage_target
        eligible = sorted(
            (c for c in suggestion.candidates if c.coverage >= target and c.gain >= MIN_GAIN),
            key=lambda c: (c.gain, c.coverage),
            reverse=True,
        )
        for candidate in eligible[:VERDICT_CHECKS]:
            settings = candidate.settings.replace(
                compression_rate=self.settings.compression_rate,
                target_psnr=self.settings.target_psnr,
                coverage_target=target,
            )
            if all(self._verdict_holds(settings, t, cancel) for t in suggestion.frames):
                if candidate is suggestion.best:
                    return suggestion
                return replace(
                    suggestion, settings=candidate.settings, best=candidate, compress_check=None
                )
        # none of the grid: the settings in the form may still win (they are not in the grid),
        # and suggesting plain JPEG2000 while their verdict claims a gain would contradict it
        current = self._current_candidate(suggestion.frames, cancel)
        if current is not None:
            return replace(suggestion, settings=current.settings, best=current, compress_check=None)
        if suggestion.best is None:
            return suggestion
        return replace(
            suggestion, settings=self.settings.replace(plain=True), best=None, compress_check=None
        )

    def _verdict_holds(self, settings: FlowRoISettings, t: int, cancel) -> bool:
        """Whether the verdict on frame `t` under `settings` keeps the suggestion's word: the
        cells held at the coverage target and FlowRoI not worse on them (readout.verdict)."""
        preview = self.compute(settings, t, cancel)
        coverage = preview.coverage.pixel_share if preview.coverage is not None else 1.0
        gain = self.assess(preview).cell_gain
        return coverage >= settings.coverage_target and not gain <= -VERDICT_TIE_DB

    def _current_candidate(self, frames, cancel):
        """The form's settings as a candidate measured the verdict's way (worst frame's coverage
        and size factor at equal cell quality), or None when they do not win by tune.MIN_GAIN
        on every frame."""
        from .tune import MIN_GAIN, Candidate

        settings = self.settings
        if not settings.uses_roi:
            return None
        coverage, factors, fractions, quality, plain = [], [], [], [], []
        for t in frames:
            if not self._verdict_holds(settings, t, cancel):
                return None
            preview = self.compute(settings, t, cancel)
            assessment = self.assess(preview)
            factor = self.compute_size_factor(preview, cancel, steps=SIZE_STEPS)
            if factor is None and assessment.cell_gain > 0:  # beyond the search: a lower bound
                factor = 2.0**SIZE_STEPS
            if factor is None or factor != factor:
                return None
            coverage.append(preview.coverage.pixel_share if preview.coverage is not None else 1.0)
            factors.append(factor)
            fractions.append(float(preview.mask.mean()))
            quality.append(assessment.psnr_cells_flowroi)
            plain.append(assessment.psnr_cells_plain)
        if min(factors) < MIN_GAIN:
            return None
        return Candidate(
            settings,
            float(min(coverage)),
            float(min(factors)),
            float(np.mean(fractions)),
            float(np.mean(quality)),
            float(np.mean(plain)),
        )

    def set_suggestion(self, suggestion) -> None:
        self.suggestion = suggestion
        self.suggestion_ready.emit(suggestion)

    def suggested_settings(self) -> FlowRoISettings | None:
        """The suggestion with the user's compression rate (or target PSNR) kept."""
        if self.suggestion is None:
            return None
        return self.suggestion.settings.replace(
            compression_rate=self.settings.compression_rate,
            target_psnr=self.settings.target_psnr,
            coverage_target=self.settings.coverage_target,
        )

    # --- before a batch -----------------------------------------------------------------------
    def accept_coverage(self, settings: FlowRoISettings | None = None, movie=None) -> None:
        """The user goes ahead with these settings on this movie (default: the current one)
        although the guard warned."""
        self._accepted = (settings or self.settings, movie or self.movie)

    def coverage_accepted(self, settings: FlowRoISettings | None = None) -> bool:
        return (
            self._accepted is not None
            and self._accepted[1] is self.movie
            and (settings or self.settings) == self._accepted[0]
        )

    def preflight(self, movie=None, settings: FlowRoISettings | None = None) -> Preflight:
        settings = settings or self.settings
        return preflight(
            movie if movie is not None else self.movie,
            settings,
            extra_roi=self.extra_roi,
            accepted=self.coverage_accepted(settings),
        )
