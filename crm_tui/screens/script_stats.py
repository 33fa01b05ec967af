"""Script analytics: for each call script, where calls went, where the script had no answer, who succeeds."""

from __future__ import annotations

from datetime import datetime

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Header, OptionList, Static
from textual.widgets.option_list import Option

from crm_tui.i18n import t
from crm_tui.services import scripts
from crm_tui.services.scripts import ScriptInfo, ScriptStats
from crm_tui.widgets.app_bound import AppBound
from crm_tui.widgets.key_footer import KeyFooter


def _percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.0f}%"


def stats_text(st: ScriptStats, lang: str = "en") -> str:
    """The analytics of one script as the screen shows them (plain text, one block per node)."""
    lines = [
        st.title,
        t("script-stats.calls", lang).format(
            calls=st.calls, successes=st.successes, rate=_percent(st.success_rate), early=st.ended_early
        ),
        "",
        t("script-stats.outcomes", lang),
        *[f"  {label:<32} {n:>6}" for _oid, label, n in st.outcomes],
        "",
        t("script-stats.nodes", lang),
    ]
    for node in st.nodes:
        lines.append(
            f"  {node.node:<20} {node.reached:>6} · {_percent(node.success_rate):>4} · {node.no_answer:>4}"
        )
        lines += [f"      {i}. {text:<36} {n:>6}" for i, (text, n) in enumerate(node.answers, 1)]
        lines += [f'      0. "{said}"' for said in node.no_answer_said]
    lines += ["", t("script-stats.operators", lang)]
    lines += [
        f"  {(o.name or o.login or '-'):<28} {o.calls:>6} · {o.successes:>6} · {_percent(o.success_rate):>4}"
        for o in st.operators
    ]
    return "\n".join(lines)


def _load(now: datetime) -> list[ScriptInfo]:
    scripts.ensure_defaults(now=now)
    return scripts.list_all()


class ScriptStatsScreen(AppBound, Screen[None]):
    """Scripts on the left; the chosen one's counts on the right."""

    DEFAULT_CSS = """
    ScriptStatsScreen #scripts { width: 40; height: 1fr; }
    ScriptStatsScreen #stats-scroll { width: 1fr; height: 1fr; padding: 0 1; }
    """
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="script-stats.back", tooltip="Close"),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            yield OptionList(id="scripts")
            with VerticalScroll(id="stats-scroll"):
                yield Static("", id="stats")
        yield KeyFooter()

    async def on_mount(self) -> None:
        infos = await self.crm.run_db(_load, self.crm.now())
        listing = self.query_one("#scripts", OptionList)
        label = self.crm.t("script-stats.script")
        listing.set_options([Option(label.format(name=i.name, calls=i.calls), id=i.name) for i in infos])
        if infos:
            listing.highlighted = 0
            await self.show(infos[0].name)

    @on(OptionList.OptionHighlighted, "#scripts")
    async def highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id:
            await self.show(event.option.id)

    async def show(self, name: str) -> None:
        st = await self.crm.run_db(scripts.stats, name)
        self.query_one("#stats", Static).update(Content(stats_text(st, self.crm.lang)))
