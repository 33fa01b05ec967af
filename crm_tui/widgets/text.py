"""Text cut to a width for the screens: what does not fit ends in ``…``."""

from __future__ import annotations


def clip(text: str, width: int) -> str:
    """``text`` in at most ``width`` characters, its last one ``…`` when it was cut."""
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"
