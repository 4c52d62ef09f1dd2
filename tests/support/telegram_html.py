"""What Telegram refuses in a message's text: HTML it cannot parse, nothing visible, too long."""

from __future__ import annotations

import re
from html.parser import HTMLParser

TELEGRAM_HTML_TAGS = {
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre",
    "tg-spoiler", "span", "blockquote", "tg-emoji",
}  # fmt: skip


class _TelegramHtmlChecker(HTMLParser):
    """Rejects what Telegram rejects with "can't parse entities": unknown or unbalanced tags."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.open: list[str] = []
        self.problem: str | None = None
        self.visible: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in TELEGRAM_HTML_TAGS:
            self.problem = self.problem or f'can\'t parse entities: unsupported start tag "{tag}"'
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open.pop() != tag:
            self.problem = self.problem or f'can\'t parse entities: unmatched end tag "{tag}"'

    def handle_data(self, data: str) -> None:
        if "<" in data or ">" in data:
            self.problem = self.problem or "can't parse entities: unescaped < or >"
        self.visible.append(data)

    def handle_entityref(self, name: str) -> None:
        if name not in {"lt", "gt", "amp", "quot"}:
            self.problem = self.problem or f"can't parse entities: unsupported entity &{name};"
        self.visible.append("x")

    def handle_charref(self, name: str) -> None:
        self.visible.append("x")


def telegram_text_problem(text: str, parse_mode: str | None) -> str | None:
    """Why Telegram would refuse this message text, or None."""
    visible = text
    if parse_mode == "HTML":
        checker = _TelegramHtmlChecker()
        checker.feed(text)
        checker.close()
        if checker.problem or checker.open:
            return checker.problem or "can't parse entities: unclosed tag"
        if re.search(r"&(?!(?:lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);)", text):
            return "can't parse entities: a bare & must be written &amp;"
        visible = "".join(checker.visible)
    if not visible.strip():
        return "message text is empty"
    if len(visible.encode("utf-16-le")) // 2 > 4096:
        return "message is too long"
    return None
