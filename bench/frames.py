"""What the benchmarks share: the moments an app hands finished frames to its driver."""

from __future__ import annotations

import time
from typing import Any


def record_frames(app: Any) -> list[float]:
    """Start noting when ``app`` draws a frame (``time.perf_counter()`` each); returns the live list."""
    drawn: list[float] = []
    display = app._display

    def timed_display(screen: Any, renderable: Any) -> None:
        if renderable is not None:
            drawn.append(time.perf_counter())
        display(screen, renderable)

    app._display = timed_display
    return drawn
