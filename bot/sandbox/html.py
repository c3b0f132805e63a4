"""Telegram's HTML parse mode and the entities a client marks in typed text, as Telegram does."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from bot.sandbox.types import JSON

__all__ = [
    "ParsedText",
    "TelegramHtmlError",
    "auto_entities",
    "parse_telegram_html",
    "trimmed",
    "u16",
]


@dataclass(frozen=True)
class ParsedText:
    """A formatted text as Telegram stores it: the visible text and its entities."""

    text: str
    entities: tuple[JSON, ...]


class TelegramHtmlError(ValueError):
    """Telegram would refuse this HTML; the message is Telegram's own wording."""


_AUTO_ENTITY_RE: Final = re.compile(
    r"(?P<bot_command>(?<!\S)/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![A-Za-z0-9_@]))"
    r"|(?P<mention>(?<![A-Za-z0-9_@])@[A-Za-z0-9_]{4,32}(?![A-Za-z0-9_]))"
    r"|(?P<hashtag>(?<![\w#])#\w+)"
    r"|(?P<url>\bhttps?://[^\s<>\"]+[^\s<>\".,;:!?)\]])"
)
_HTML_TAGS: Final = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_NAMED_ENTITIES: Final = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_TRIMMED: Final = " \t\r\n"


@dataclass
class _OpenTag:
    name: str
    start: int
    attrs: dict[str, str]
    language: str | None = None


def u16(text: str) -> int:
    """Return the length of a text in UTF-16 code units, as Telegram counts offsets."""
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(source: str, index: int) -> int:
    """Return the UTF-8 byte offset of ``source[index]``, as Telegram reports errors."""
    return len(source[:index].encode("utf-8"))


def _decode_entity(source: str, i: int) -> tuple[str, int] | None:
    """Decode the HTML entity at ``source[i] == "&"``: (character, index after it) or None."""
    end = source.find(";", i + 1, i + 12)
    if end < 0:
        return None
    name = source[i + 1 : end]
    if name in _NAMED_ENTITIES:
        return _NAMED_ENTITIES[name], end + 1
    code: int | None = None
    if re.fullmatch(r"#[0-9]{1,8}", name):
        code = int(name[1:])
    elif re.fullmatch(r"#[xX][0-9a-fA-F]{1,6}", name):
        code = int(name[2:], 16)
    if code is None or not 0 < code <= 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code), end + 1


def parse_telegram_html(source: str) -> ParsedText:
    """Parse text with ``parse_mode=HTML`` as Telegram does, or raise TelegramHtmlError."""
    out: list[str] = []
    pos = 0  # UTF-16 length of the visible text so far: Telegram counts offsets that way
    stack: list[_OpenTag] = []
    entities: list[JSON] = []
    i, n = 0, len(source)
    while i < n:
        c = source[i]
        if c == "&":
            decoded = _decode_entity(source, i)
            if decoded is not None:
                out.append(decoded[0])
                pos += u16(decoded[0])
                i = decoded[1]
                continue
        if c != "<":
            out.append(c)
            pos += 2 if ord(c) > 0xFFFF else 1
            i += 1
            continue
        begin = i
        offset = _byte_offset(source, begin)
        if i + 1 < n and source[i + 1] == "/":
            j = i + 2
            while j < n and not source[j].isspace() and source[j] != ">":
                j += 1
            name = source[i + 2 : j].lower()
            while j < n and source[j].isspace():
                j += 1
            if j >= n or source[j] != ">":
                raise TelegramHtmlError(f"Unclosed end tag at byte offset {offset}")
            if not stack:
                raise TelegramHtmlError(f"Unexpected end tag at byte offset {offset}")
            top = stack.pop()
            if name and name != top.name:
                raise TelegramHtmlError(
                    f'Unmatched end tag at byte offset {offset}, expected "</{top.name}>", '
                    f'found "</{name}>"'
                )
            _close_tag(top, pos, stack, entities)
            i = j + 1
            continue
        j = i + 1
        while j < n and not source[j].isspace() and source[j] != ">":
            j += 1
        if j >= n:
            raise TelegramHtmlError(f"Unclosed start tag at byte offset {offset}")
        name = source[i + 1 : j].lower()
        if name not in _HTML_TAGS:
            raise TelegramHtmlError(f'Unsupported start tag "{name}" at byte offset {offset}')
        attrs, j = _parse_attributes(source, j, name, offset)
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise TelegramHtmlError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {offset}'
            )
        stack.append(_OpenTag(name, pos, attrs))
        i = j + 1
    if stack:
        raise TelegramHtmlError(
            f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"'
        )
    return trimmed("".join(out), entities)


def _parse_attributes(source: str, j: int, tag: str, offset: int) -> tuple[dict[str, str], int]:
    """Read a start tag's attributes from ``j``; return them and the index of the closing ``>``."""
    attrs: dict[str, str] = {}
    n = len(source)
    while True:
        while j < n and source[j].isspace():
            j += 1
        if j >= n:
            raise TelegramHtmlError(f"Unclosed start tag at byte offset {offset}")
        if source[j] == ">":
            return attrs, j
        k = j
        while k < n and not source[k].isspace() and source[k] not in "=>":
            k += 1
        attr = source[j:k].lower()
        if not attr:
            raise TelegramHtmlError(
                f'Empty attribute name in the tag "{tag}" at byte offset {offset}'
            )
        while k < n and source[k].isspace():
            k += 1
        if k >= n or source[k] != "=":
            # A bare attribute, as in <blockquote expandable>.
            attrs[attr] = ""
            j = k
            continue
        k += 1
        while k < n and source[k].isspace():
            k += 1
        if k < n and source[k] in "\"'":
            quote = source[k]
            k += 1
            value: list[str] = []
            while k < n and source[k] != quote:
                if source[k] == "&":
                    decoded = _decode_entity(source, k)
                    if decoded is not None:
                        value.append(decoded[0])
                        k = decoded[1]
                        continue
                value.append(source[k])
                k += 1
            if k >= n:
                raise TelegramHtmlError(f"Unclosed start tag at byte offset {offset}")
            attrs[attr] = "".join(value)
            j = k + 1
        else:
            start = k
            while k < n and (source[k].isalnum() or source[k] in ".-"):
                k += 1
            if k < n and not source[k].isspace() and source[k] != ">":
                raise TelegramHtmlError(
                    f"Unexpected end of name token at byte offset {_byte_offset(source, start)}"
                )
            attrs[attr] = source[start:k].lower()
            j = k


def _close_tag(tag: _OpenTag, pos: int, stack: list[_OpenTag], entities: list[JSON]) -> None:
    """Turn a closed tag into its entity (or merge a code language into its pre)."""
    length = pos - tag.start
    kind = _HTML_TAGS[tag.name]
    language = tag.attrs.get("class", "")
    if tag.name == "code" and language.startswith("language-") and stack:
        parent = stack[-1]
        if parent.name == "pre" and parent.language is None:
            # <pre><code class="language-x"> is one pre entity with a language.
            parent.language = language.removeprefix("language-")
            return
    if length <= 0:
        return
    entity: JSON = {"type": kind, "offset": tag.start, "length": length}
    if tag.name == "a":
        href = tag.attrs.get("href", "")
        if not href:
            return
        entity["url"] = href
    elif tag.name == "pre" and tag.language:
        entity["language"] = tag.language
    elif tag.name == "blockquote" and "expandable" in tag.attrs:
        entity["type"] = "expandable_blockquote"
    elif tag.name == "tg-emoji":
        entity["custom_emoji_id"] = tag.attrs.get("emoji-id", "")
    entities.append(entity)


def trimmed(text: str, entities: list[JSON]) -> ParsedText:
    """Strip surrounding whitespace as Telegram does and shift the entities to match."""
    stripped = text.strip(_TRIMMED)
    lead = u16(text[: len(text) - len(text.lstrip(_TRIMMED))])
    total = u16(stripped)
    kept: list[JSON] = []
    for entity in entities:
        start = max(0, entity["offset"] - lead)
        end = min(total, entity["offset"] + entity["length"] - lead)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    kept.sort(key=lambda e: (e["offset"], -e["length"]))
    return ParsedText(stripped, tuple(kept))


# ---------------------------------------------------------------------------------------------
# Internals


def auto_entities(text: str) -> list[JSON]:
    """Detect the entities a Telegram client marks in typed text: commands, mentions, links."""
    entities: list[JSON] = []
    for match in _AUTO_ENTITY_RE.finditer(text):
        kind = match.lastgroup or "url"
        start, end = match.span()
        entities.append(
            {"type": kind, "offset": u16(text[:start]), "length": u16(text[start:end])}
        )
    return entities
