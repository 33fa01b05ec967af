"""The command palette (``ctrl+p``): the app's commands, and a search of leads, contacts, companies, deals.

The record search runs the full-text index in a thread worker with a limit, for every keystroke; nothing
is preloaded, so the palette opens as fast on a million leads as on ten.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

from crm_tui.services import search as search_service

if TYPE_CHECKING:
    from crm_tui.app import CrmApp


class CrmCommands(Provider):
    """Switch areas, add a lead, search; plus the actions of the screen underneath (screen-aware)."""

    @property
    def crm(self) -> CrmApp:
        return cast("CrmApp", self.app)

    def commands(self) -> list[tuple[str, Callable[[], Any], str]]:
        from crm_tui.app import MODE_KEYS

        app = self.crm
        items: list[tuple[str, Callable[[], Any], str]] = [
            *(
                (f"{app.t(f'mode.{mode}')}: {app.t(f'palette.{mode}')}", partial(app.switch_mode, mode), key)
                for key, mode in MODE_KEYS.items()
            ),
            (f"{app.t('app.search')}: {app.t('palette.search')}", app.action_search, "/"),
            (f"{app.t('inbox.new')}…", self._new_lead, app.t("palette.new-lead-key")),
            (f"{app.t('app.help')}: {app.t('palette.help')}", app.action_help, "?"),
            (f"{app.t('settings.title')}: {app.t('palette.settings')}", app.action_settings, "crm config"),
            (f"{app.t('import.palette')}…", self._import, app.t("import.palette-help")),
            (f"{app.t('catalogue.title')}: {app.t('palette.catalogue')}", self._catalogue, ""),
        ]
        screen = self.screen
        for key, bindings in screen._bindings.key_to_bindings.items():
            for binding in bindings:
                if binding.description and binding.show:
                    action = binding.action
                    items.append(
                        (
                            f"{binding.description} ({type(screen).__name__.removesuffix('Screen')})",
                            partial(screen.run_action, action),
                            binding.tooltip or key,
                        )
                    )
        return items

    async def _import(self) -> None:
        from crm_tui.screens.import_file import ImportScreen

        await self.crm.push_screen(ImportScreen())

    async def _catalogue(self) -> None:
        from crm_tui.screens.catalogue import CatalogueScreen

        await self.crm.push_screen(CatalogueScreen())

    async def _new_lead(self) -> None:
        app = self.crm
        await app.switch_mode("leads")
        await app.screen.run_action("new_lead")

    async def discover(self) -> Hits:
        for name, callback, help_text in self.commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, callback, help_text in self.commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)


class RecordSearch(Provider):
    """Records whose name, company, e-mail or phone contains what was typed; the chosen one opens."""

    @property
    def crm(self) -> CrmApp:
        return cast("CrmApp", self.app)

    async def search(self, query: str) -> Hits:
        text = query.strip()
        if len(text) < 2:
            return
        hits = await self.crm.run_db(search_service.search, text, limit=20)
        for rank, hit in enumerate(hits):
            label = f"{self.crm.t(f'search.kind.{hit.kind}')}: {hit.label}"
            yield Hit(
                0.9 - rank * 0.01,
                label,
                partial(self.crm.open_record, hit.kind, hit.id),
                help=hit.detail or None,
            )
