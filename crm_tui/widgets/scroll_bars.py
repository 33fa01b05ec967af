"""Scroll bars decided before a widget's first layout.

Left to Textual (``overflow: auto``), a scroll bar appears in the layout that finds the content too big
for the widget, and that lays the screen out once more; and the bar's own widget, made during a layout,
is made hidden and then shown, which is one layout more again. Where a widget knows beforehand whether it
will need its bar (a table always, a footer always, the kanban's board when its columns overflow), it
says so here, and the first layout is the last.
"""

from __future__ import annotations

from textual.widget import Widget


def settle_scroll_bar(widget: Widget, *, vertical: bool, shown: bool) -> None:
    """Show (``overflow: scroll``) or hide (``hidden``) ``widget``'s vertical or horizontal scroll bar.

    Call it before the widget is mounted, which sets what its first layout reads, and again once it is
    mounted (``on_mount``), which makes the bar's widget as it should be."""
    overflow = "scroll" if shown else "hidden"
    if vertical:
        widget.styles.overflow_y = overflow
        widget.set_reactive(Widget.show_vertical_scrollbar, shown)
    else:
        widget.styles.overflow_x = overflow
        widget.set_reactive(Widget.show_horizontal_scrollbar, shown)
    if widget.is_attached:
        (widget.vertical_scrollbar if vertical else widget.horizontal_scrollbar).display = shown
