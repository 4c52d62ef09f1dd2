"""FAQ answers (Telegram-safe Markdown) as Telegram HTML, split to fit a message.

HTML, not Telegram's MarkdownV2: everything not recognised as markup is escaped, so a stray
`*`, `_`, `<` or `&` in an answer, or in a customer's words quoted back, can never break a reply.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

TELEGRAM_MESSAGE_LIMIT = 4096

_INLINE = re.compile(
    r"\*\*(?P<bold2>[^\n*]+?)\*\*"
    r"|(?<![\w*])\*(?P<bold>[^\s*](?:[^\n*]*?[^\s*])?)\*(?![\w*])"
    r"|(?<!\w)_(?P<italic>[^\s_](?:[^\n_]*?[^\s_])?)_(?!\w)"
    r"|`(?P<code>[^`\n]+)`"
    r"|\[(?P<label>[^\]\n]+)\]\((?P<url>(?:https?://|tg://|mailto:)[^\s)]+)\)"
)


def escape(text: str) -> str:
    """A customer's (or anyone's) text, safe to put inside a Telegram HTML message."""
    return html.escape(text, quote=False)


def render(markdown: str) -> str:
    """Telegram HTML for an FAQ answer: *bold*, **bold**, _italic_, `code`, [label](url)."""
    parts: list[str] = []
    position = 0
    for match in _INLINE.finditer(markdown):
        parts.append(escape(markdown[position : match.start()]))
        parts.append(_markup(match))
        position = match.end()
    parts.append(escape(markdown[position:]))
    return "".join(parts)


def _markup(match: re.Match[str]) -> str:
    groups = match.groupdict()
    if groups["bold2"] is not None or groups["bold"] is not None:
        return f"<b>{escape(groups['bold2'] or groups['bold'])}</b>"
    if groups["italic"] is not None:
        return f"<i>{escape(groups['italic'])}</i>"
    if groups["code"] is not None:
        return f"<code>{escape(groups['code'])}</code>"
    return f'<a href="{html.escape(groups["url"], quote=True)}">{escape(groups["label"])}</a>'


def telegram_length(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units: an emoji can count twice)."""
    return len(text.encode("utf-16-le")) // 2


def render_messages(
    markdown: str,
    limit: int = TELEGRAM_MESSAGE_LIMIT,
    as_html: Callable[[str], str] = render,
) -> list[str]:
    """The answer rendered as one or more messages, each within the limit.

    Splits between paragraphs, then lines, then words (a word longer than a message, last of
    all); each message is rendered on its own, so no tag is ever cut in half. ``as_html=escape``
    splits a customer's plain text the same way.
    """
    messages: list[str] = []
    current = ""
    for piece, separator in _pieces(markdown.strip(), limit, as_html):
        joined = f"{current}{separator}{piece}" if current else piece
        if telegram_length(as_html(joined)) <= limit:
            current = joined
            continue
        if current:
            messages.append(as_html(current))
        current = piece
    if current:
        messages.append(as_html(current))
    return messages


def _pieces(text: str, limit: int, as_html: Callable[[str], str]) -> list[tuple[str, str]]:
    """The text cut into pieces that each render within the limit, with what joined them."""
    pieces: list[tuple[str, str]] = []
    for separator, pattern in (("\n\n", r"\n\s*\n"), ("\n", r"\n"), (" ", r" +")):
        parts = re.split(pattern, text)
        if len(parts) > 1 or separator == " ":
            for part in parts:
                if telegram_length(as_html(part)) <= limit:
                    pieces.append((part, separator))
                elif separator == " ":
                    pieces.extend((chunk, "") for chunk in _hard_split(part, limit))
                else:
                    pieces.extend(_pieces(part, limit, as_html))
            return pieces
    return [(text, "")]


def _hard_split(word: str, limit: int) -> list[str]:
    # Escaping can grow a character up to 5 times ('&' -> '&amp;'): cut small enough for that.
    size = max(1, limit // 5)
    return [word[start : start + size] for start in range(0, len(word), size)]
