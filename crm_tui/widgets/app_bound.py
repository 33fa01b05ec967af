"""What every screen, dialog and widget of the desk shares: the typed app, and key labels in its language."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, cast

from textual.dom import DOMNode

from crm_tui.i18n import t as translate

if TYPE_CHECKING:
    from crm_tui.app import CrmApp


def translate_bindings(node: DOMNode, lang: str) -> None:
    """Show binding descriptions in ``lang``: a binding with id ``x`` takes the text of i18n key ``x``."""
    if lang == "en":
        return
    for key, bindings in node._bindings.key_to_bindings.items():
        node._bindings.key_to_bindings[key] = [
            replace(b, description=translate(b.id, lang)) if b.id and translate(b.id, lang) != b.id else b
            for b in bindings
        ]


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
