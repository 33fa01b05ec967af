"""What the benchmarks share: the moments an app hands finished frames to its driver."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.segment import ControlType


class Screen:
    """What a terminal would show: each cell's character and style, as the app's updates leave them."""

    def __init__(self) -> None:
        self.cells: dict[tuple[int, int], tuple[str, object]] = {}
        self.console = Console(width=1000, height=1000, force_terminal=True, color_system="truecolor")

    def apply(self, renderable: Any) -> bool:
        """Write an update (Textual's layout or chops update) here; True when any cell changed."""
        changed = False
        x = y = 0
        cells = self.cells
        for segment in self.console.render(renderable):
            if segment.control:
                for control in segment.control:
                    if control[0] == ControlType.CURSOR_MOVE_TO:
                        x, y = int(control[1]), int(control[2])
                continue
            text, style = segment.text, segment.style
            if text == "\n":
                x, y = 0, y + 1
                continue
            for char in text:
                cell = (char, style)
                if cells.get((x, y)) != cell:
                    cells[(x, y)] = cell
                    changed = True
                x += 1
        return changed


def record_frames(app: Any, *, changes_only: bool = False) -> list[float]:
    """Start noting when ``app`` draws a frame (``time.perf_counter()`` each); returns the live list.

    With ``changes_only``, a frame that leaves every cell of the terminal as it was is not noted: Textual
    lays a new screen out again on its own once or twice after its first layout (a resize message, the
    end of the mount), and those frames draw the same picture again, so the user sees nothing of them.
    Comparing costs a few milliseconds per frame, after the frame's time is taken."""
    drawn: list[float] = []
    display = app._display
    screen = Screen()

    def timed_display(target: Any, renderable: Any) -> None:
        if renderable is not None:
            at = time.perf_counter()
            if not changes_only or screen.apply(renderable):
                drawn.append(at)
        display(target, renderable)

    app._display = timed_display
    return drawn


async def forget_mode(app: Any, mode: str) -> None:
    """Put ``mode`` back as it was before its first opening (its screen gone), so the next switch to it
    makes its screen anew, as a user's first switch in a session does. ``app`` must be on another mode."""
    await app.remove_mode(mode)
    app.add_mode(mode, app.MODES[mode])
    app.opened_modes.discard(mode)
