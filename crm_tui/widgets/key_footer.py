"""The footer of every screen: Textual's, rebuilt only when the keys it shows change."""

from __future__ import annotations

from typing import Any

from textual.screen import Screen
from textual.widgets import Footer


class KeyFooter(Footer):
    """Textual's Footer rebuilds all its keys (some thirty widgets, each styled anew) whenever the
    screen's bindings may have changed: on every focus move and every return to the screen, even when
    the same keys come back. This one compares what it would show with what it shows, and rebuilds
    only on a difference."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.shown: tuple[object, ...] | None = None

    def keys_of(self, screen: Screen[Any]) -> tuple[object, ...]:
        """What the footer draws from: every active binding's key, label, state and tooltip, in order."""
        return tuple(
            (binding.key, binding.action, binding.description, binding.group, enabled, tooltip, binding.show)
            for _node, binding, enabled, tooltip in screen.active_bindings.values()
        )

    def bindings_changed(self, screen: Screen[Any]) -> None:
        if self.is_attached and screen is self.screen and screen.app.app_focus:
            keys = self.keys_of(screen)
            if keys == self.shown and self._bindings_ready:
                return
            self.shown = keys
        super().bindings_changed(screen)
