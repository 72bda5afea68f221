"""The tuning session, without Qt or napari: movie, settings, visible frame, previews, suggestion,
coverage acceptance and the preflight check before a batch.

The napari widget (``napari/_widget.py``) only lays out controls, forwards what the user does to a
:class:`TuningModel` and shows what the model announces through its psygnal signals; long work
(:meth:`TuningModel.compute`, :meth:`TuningModel.suggest`) is run by the widget in a worker.
Scripts and tests can drive the same model directly.

What a setting change costs is decided here (:meth:`TuningModel.change_kind`): the coverage target
only re-words the readout; a coding setting (scaling factor, compression rate, target PSNR,
feather, background sigma) re-codes the frame with the cached mask and flow; plain JPEG2000 does
not depend on any RoI setting; only RoI settings recompute the mask.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from psygnal import Signal

from .errors import FlowRoIError, InputError
from .guard import Preflight, preflight
from .preview import FramePreview, Previewer
from .readers import Movie, movie_from_array, require_motion
from .settings import FlowRoISettings, change_kind, preview_key


class TuningModel:
    """One movie being tuned.

    Signals
    -------
    movie_changed(Movie | None)
    settings_changed(FlowRoISettings, str)  -- the new settings and what they change:
        'readout', 'coding' or 'roi' (see :meth:`change_kind`)
    frame_changed(int)
    preview_ready(FramePreview)  -- coarse (mask only) then full, for the current target only
    size_factor_ready(float)     -- FlowRoI's size advantage at equal cell quality, refined late
    suggestion_ready(object)     -- a tune.Suggestion
    """

    movie_changed = Signal(object)
    settings_changed = Signal(object, str)
    frame_changed = Signal(int)
    preview_ready = Signal(object)
    size_factor_ready = Signal(float)
    suggestion_ready = Signal(object)

    def __init__(self, settings: FlowRoISettings | None = None):
        self.settings = settings or FlowRoISettings()
        self.movie: Movie | None = None
        self.previewer: Previewer | None = None
        self.t = 0
        self.extra_roi = None
        self.last_preview: FramePreview | None = None
        self.size_factor: float | None = None
        self.suggestion = None
        self._accepted: FlowRoISettings | None = None
        self._failed: set = set()  # targets whose preview raised: not retried until they change

    # --- state ------------------------------------------------------------------------------------
    def set_movie(self, data, name: str = "movie", *, rgb: bool = False) -> None:
        """Use the (T, Y, X) array `data`; raises FlowRoIError (a user message) when unusable,
        leaving no movie."""
        self.movie = self.previewer = self.last_preview = None
        self._failed.clear()
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

    def clear_movie(self) -> None:
        self.movie = self.previewer = self.last_preview = None
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
        if t != self.t:
            self.t = t
            self.frame_changed.emit(t)

    def set_extra_roi(self, extra_roi) -> None:
        self.extra_roi = extra_roi
        self._failed.clear()
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

    def coarse(self, settings: FlowRoISettings, t: int) -> FramePreview:
        """Mask, flow and guard of (settings, t), not coded yet; run in a worker."""
        try:
            return self.previewer.coarse(settings, t)
        except FlowRoIError:
            self._failed.add((preview_key(settings), int(t)))
            raise

    def compute(
        self,
        settings: FlowRoISettings,
        t: int,
        cancel: threading.Event | None = None,
        on_coarse: Callable[[FramePreview], None] | None = None,
    ) -> FramePreview:
        """The preview of (settings, t); run in a worker. Remembers failures so they are not
        retried in a loop (a NaN in a frame fails the same way every time)."""
        try:
            return self.previewer.preview(settings, t, cancel=cancel, on_coarse=on_coarse)
        except FlowRoIError:
            self._failed.add((preview_key(settings), int(t)))
            raise

    def is_current(self, preview: FramePreview) -> bool:
        return self.target() == (preview.settings, preview.t)

    def accept_preview(self, preview: FramePreview) -> bool:
        """Take a preview computed in a worker if it is still what the user looks at."""
        if not self.is_current(preview):
            return False
        if not preview.coarse:
            self.last_preview = preview
            self.size_factor = None
        self.preview_ready.emit(preview)
        return True

    def compute_size_factor(
        self, preview: FramePreview, cancel: threading.Event | None = None
    ) -> float | None:
        """FlowRoI's size advantage at the same PSNR inside the RoI (a few plain encodes)."""
        return (
            None if self.previewer is None else self.previewer.size_factor(preview, cancel=cancel)
        )

    def accept_size_factor(self, preview: FramePreview, factor: float | None) -> None:
        if factor is not None and preview is self.last_preview and self.is_current(preview):
            self.size_factor = factor
            self.size_factor_ready.emit(factor)

    # --- suggestion ---------------------------------------------------------------------------
    def suggest(
        self,
        progress: Callable[[int, int], None] | None = None,
        cancel: threading.Event | None = None,
    ):
        """Search settings on a few frames (tune.suggest_settings); run in a worker."""
        from .tune import suggest_settings

        return suggest_settings(self.movie, self.settings, progress=progress, cancel=cancel)

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
    def accept_coverage(self, settings: FlowRoISettings | None = None) -> None:
        """The user goes ahead with these settings although the guard warned."""
        self._accepted = settings or self.settings

    def coverage_accepted(self, settings: FlowRoISettings | None = None) -> bool:
        return (settings or self.settings) == self._accepted

    def preflight(self, movie=None, settings: FlowRoISettings | None = None) -> Preflight:
        settings = settings or self.settings
        return preflight(
            movie if movie is not None else self.movie,
            settings,
            extra_roi=self.extra_roi,
            accepted=self.coverage_accepted(settings),
        )
