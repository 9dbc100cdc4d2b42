"""tqdm.auto progress bar for a run: rows done, hits and credits spent (switchable off)."""

from __future__ import annotations

import logging
import time


class Progress:
    """A thin wrapper so the engine never checks ``enabled`` itself.

    Postfix updates are throttled (every 0.2 s) so a 20,000-row run does not spend its time
    redrawing the bar.
    """

    def __init__(self, total: int, *, enabled: bool, desc: str = "waterfall") -> None:
        self.enabled = enabled
        self.hits = 0
        self.done = 0
        self.credits = 0.0
        self._bar = None
        self._last = 0.0
        if enabled:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, desc=desc, unit="row", dynamic_ncols=True)

    def row_done(self, *, hit: bool, credits: float) -> None:
        self.done += 1
        self.hits += int(hit)
        self.credits = credits
        if self._bar is None:
            return
        self._bar.update(1)
        now = time.monotonic()
        if now - self._last > 0.2:
            self._last = now
            self._bar.set_postfix(hits=self.hits, credits=f"{credits:g}", refresh=False)

    def rows_done(self, n: int) -> None:
        self.done += n
        if self._bar is not None and n:
            self._bar.update(n)

    def note(self, message: str) -> None:
        """Tell the person running it (above the bar), and the ``gtmkit.waterfall`` logger."""
        logging.getLogger("gtmkit.waterfall").info(message)
        if self._bar is not None:
            self._bar.write(message)

    def close(self) -> None:
        if self._bar is not None:
            # the throttled postfix may lag; the bar left on screen must show the final counts
            self._bar.set_postfix(hits=self.hits, credits=f"{self.credits:g}", refresh=False)
            self._bar.close()
