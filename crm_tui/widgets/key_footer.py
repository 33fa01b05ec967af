"""The footer of every screen: Textual's, rebuilt only when the keys it shows change."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer

from crm_tui.widgets.scroll_bars import settle_scroll_bar


class KeyFooter(Footer):
    """Textual's Footer rebuilds all its keys (some thirty widgets, each styled anew) whenever the
    screen's bindings may have changed: on every focus move and every return to the screen, even when
    the same keys come back. This one compares what it would show with what it shows, and rebuilds
    only on a difference.

    It also draws its keys with the screen's first layout. Textual's footer starts empty and fills in a
    frame of its own once the screen reports its bindings; that is a second layout of a new screen, and
    a third when the focus then lands on a widget whose keys are not shown anyway.

    Its horizontal scroll bar (of no size: the wheel scrolls keys that do not fit) is always on, for the
    same reason: Textual's footer turns it on after its first layout whenever its keys are wider than
    the screen, and lays the screen out again (see ``widgets/scroll_bars.py``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.shown: tuple[object, ...] | None = None
        self.set_reactive(Footer._bindings_ready, True)
        settle_scroll_bar(self, vertical=False, shown=True)

    def on_mount(self) -> None:
        settle_scroll_bar(self, vertical=False, shown=True)

    def compose(self) -> ComposeResult:
        self.focus_first()
        self.shown = self.keys_of(self.screen)
        yield from super().compose()

    def focus_first(self) -> None:
        """Give a new screen's first focus now, as Textual would once the screen is mounted (its
        ``AUTO_FOCUS``), so the keys drawn are those of the focused widget, not the screen's alone:
        drawn from the screen's, the footer was drawn again a frame later."""
        screen = self.screen
        if screen.focused is not None or not screen.app.app_focus:
            return
        auto_focus = screen.app.AUTO_FOCUS if screen.AUTO_FOCUS is None else screen.AUTO_FOCUS
        if auto_focus:
            for widget in screen.query(auto_focus):
                if widget.focusable:
                    screen.set_focus(widget, scroll_visible=False)
                    return

    def keys_of(self, screen: Screen[Any]) -> tuple[object, ...]:
        """What the footer draws: every shown binding's key, label, state and tooltip, in order (the
        command palette's key is drawn whether it is shown or not)."""
        palette = screen.app.COMMAND_PALETTE_BINDING
        return tuple(
            (binding.key, binding.action, binding.description, binding.group, enabled, tooltip)
            for _node, binding, enabled, tooltip in screen.active_bindings.values()
            if binding.show or binding.key == palette
        )

    def bindings_changed(self, screen: Screen[Any]) -> None:
        if self.is_attached and screen is self.screen and screen.app.app_focus:
            keys = self.keys_of(screen)
            if keys == self.shown and self._bindings_ready:
                return
            self.shown = keys
        super().bindings_changed(screen)
