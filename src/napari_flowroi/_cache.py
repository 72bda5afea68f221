"""The project's one in-memory cache: a small, thread-safe, least-recently-used mapping.

Written here rather than taken from `functools.lru_cache` or `cachetools` because the callers
need what those do not give together: keys computed by the caller (a settings key plus a frame),
explicit `put` of a result computed elsewhere (a worker thread), `clear` on demand, and a lock
that is NOT held while a value is computed (a flow takes tens of milliseconds; holding the lock
would serialise the preview's parallel codings). Two threads asking for the same missing key at
once may both compute it; the last one stored wins, and both values are equal.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any


class LRUCache:
    """At most `size` entries; the least recently used is dropped first.

    Parameters
    ----------
    size : int
        Entries kept (at least 1).
    """

    def __init__(self, size: int):
        self.size = max(1, int(size))
        self._data: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, default: Any = None) -> Any:
        """The value stored under `key` (now the most recently used), else `default`."""
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                return self._data[key]
        return default

    def put(self, key: Hashable, value: Any) -> Any:
        """Store `value` under `key` and return it (so `return cache.put(k, v)` reads naturally)."""
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)
        return value

    def get_or_compute(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """The value under `key`, computed by `compute()` (outside the lock) and stored if missing."""
        missing = object()
        found = self.get(key, missing)
        return self.put(key, compute()) if found is missing else found

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._data

    def __len__(self) -> int:
        with self._lock:
            return len(self._data)

    def clear(self) -> None:
        """Drop every entry now."""
        with self._lock:
            self._data.clear()
