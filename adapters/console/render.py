"""Pure rendering of a Reply for the terminal: plain lines for scripts, rich renderables for people."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from bot.kernel.types import Button, Card, Reply, Style
from bot.kernel.untrusted import plain as unmark

# The console opens no dialogs: a Reply's Form is said in its cards (how to type the answer), so this
# line points there instead of drawing the form's fields a second time.
FORM_NOTE = "On Discord and Slack this opens a form; here, type your answer as the card shows."
_RICH_STYLE = {Style.NEUTRAL: "white", Style.PRIMARY: "cyan", Style.SUCCESS: "green", Style.DANGER: "red"}


def button_bar(buttons: tuple[Button, ...]) -> str:
    """Numbered buttons, pressed with `:click N`."""
    return "  ".join(f"[{i}] {unmark(b.label)}" for i, b in enumerate(buttons, 1))


def card_lines(card: Card) -> list[str]:
    lines = [f"== {unmark(card.title)} =="]
    if card.url:
        lines.append(card.url)
    if card.body:
        lines.extend(unmark(card.body).splitlines())
    for field in card.fields:
        value = unmark(field.value).splitlines() or [""]
        lines.append(f"  {unmark(field.name)}: {value[0]}")
        lines.extend(f"    {v}" for v in value[1:])
    if card.footer:
        lines.append(f"  -- {unmark(card.footer)}")
    return lines


def plain(reply: Reply, files: list[str]) -> list[str]:
    """The reply as plain text lines; `files` are the paths its images and attachments were written to."""
    lines: list[str] = []
    if reply.text:
        lines.extend(unmark(reply.text).splitlines())
    for card in reply.cards:
        lines.extend(card_lines(card))
    if reply.buttons:
        lines.append("Buttons: " + button_bar(reply.buttons) + "  (press with :click N)")
    if reply.form is not None:
        lines.append(FORM_NOTE)
    lines.extend(f"Saved {path}" for path in files)
    return lines


def _card_panel(card: Card) -> Panel:
    # Every string goes in as Text: rich reads a bare str as markup, and a name like "[blink]" is not.
    parts: list[RenderableType] = []
    if card.body:
        parts.append(Text(unmark(card.body)))
    if card.fields:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold")
        table.add_column()
        for field in card.fields:
            table.add_row(Text(unmark(field.name)), Text(unmark(field.value)))
        parts.append(table)
    if card.url:
        parts.append(Text(card.url, style="underline blue"))
    return Panel(
        Group(*parts),
        title=Text(unmark(card.title), style="bold"),
        title_align="left",
        subtitle=Text(unmark(card.footer)) if card.footer else None,
        subtitle_align="left",
        border_style=_RICH_STYLE[card.style],
    )


def rich(reply: Reply, files: list[str]) -> list[RenderableType]:
    """The reply as rich renderables for an interactive terminal."""
    out: list[RenderableType] = []
    if reply.text:
        out.append(Text(unmark(reply.text), style="red" if reply.error else ""))
    out.extend(_card_panel(card) for card in reply.cards)
    if reply.buttons:
        out.append(Text(button_bar(reply.buttons) + "   (:click N)", style="bold cyan"))
    if reply.form is not None:
        out.append(Text(FORM_NOTE, style="dim"))
    out.extend(Text(f"Saved {path}", style="dim") for path in files)
    return out
