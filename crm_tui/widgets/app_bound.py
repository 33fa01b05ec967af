"""What every screen, dialog and widget of the desk shares: the typed app, and key labels in its language."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, cast

from textual import events
from textual.binding import Binding
from textual.dom import DOMNode
from textual.screen import Screen

from crm_tui.i18n import t as translate

if TYPE_CHECKING:
    from crm_tui.app import CrmApp


PALETTE_KEY = "app.palette"
"""The i18n key of Textual's own command-palette binding (``ctrl+p``), which has no id."""


def translate_binding(binding: Binding, lang: str) -> Binding:
    """``binding`` in ``lang``: its id ``x`` names the label (i18n key ``x``) and the tooltip (``x.tip``)."""
    key = binding.id or (PALETTE_KEY if binding.action == "command_palette" else None)
    if not key:
        return binding
    label = translate(key, lang)
    tip_key = f"{key}.tip"
    tip = translate(tip_key, lang)
    description = label if label != key else binding.description
    tooltip = tip if binding.tooltip and tip != tip_key else binding.tooltip
    if (description, tooltip) == (binding.description, binding.tooltip):
        return binding
    return replace(binding, description=description, tooltip=tooltip)


def translate_bindings(node: DOMNode, lang: str) -> None:
    """Show binding descriptions in ``lang``: a binding with id ``x`` takes the text of i18n key ``x``."""
    if lang == "en":
        return
    for key, bindings in node._bindings.key_to_bindings.items():
        node._bindings.key_to_bindings[key] = [translate_binding(b, lang) for b in bindings]


class AppBound:
    """Mix into a Screen or Widget of the desk (before the Textual class).

    ``self.crm`` is the running :class:`CrmApp`, typed; on mount the node's key labels (the footer, the
    help screen) switch to the app's language. Textual runs this ``on_mount`` as well as the class's own.
    """

    @property
    def crm(self) -> CrmApp:
        return cast("CrmApp", cast(DOMNode, self).app)

    def on_mount(self) -> None:
        if self.crm.lang != "en":
            node = cast(DOMNode, self)
            translate_bindings(node, self.crm.lang)
            node.refresh_bindings()

    def _on_screen_resume(self, event: events.ScreenResume) -> None:
        """Keep a screen's rendered rows when it comes back (keys ``1``-``5``).

        Textual restyles every widget of a resumed screen, which also throws away every table's and
        list's rendered lines, so each switch redrew all of them from scratch. The app already
        re-applies its CSS to a screen when the CSS changed while the screen was away (a new theme),
        so the restyle is skipped when nothing changed. Runs before Textual's own handler.
        """
        if isinstance(self, Screen) and self._css_update_count == self.app._css_update_count:
            event.refresh_styles = False
