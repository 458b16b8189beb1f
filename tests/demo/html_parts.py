"""Read back what a browser would show of the preview: each element's tag, classes and text."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

_VOID = {"br", "hr", "meta", "img", "input", "link"}


@dataclass
class Element:
    tag: str
    classes: frozenset[str]
    attrs: dict[str, str | None]
    text: str = ""
    children: list[Element] = field(default_factory=list)

    def find(self, cls: str) -> list[Element]:
        """Descendants with this class, in document order."""
        found = []
        for child in self.children:
            if cls in child.classes:
                found.append(child)
            found.extend(child.find(cls))
        return found

    def tags(self, tag: str) -> list[Element]:
        found = []
        for child in self.children:
            if child.tag == tag:
                found.append(child)
            found.extend(child.tags(tag))
        return found


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", frozenset(), {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        element = Element(tag, frozenset((values.get("class") or "").split()), values)
        self.stack[-1].children.append(element)
        if tag not in _VOID:
            self.stack.append(element)

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID:
            return
        assert self.stack[-1].tag == tag, f"</{tag}> closes <{self.stack[-1].tag}>: the markup is broken"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        for element in self.stack:
            element.text += data


def parse(page: str) -> Element:
    parser = _Parser()
    parser.feed(page)
    parser.close()
    assert [e.tag for e in parser.stack] == ["#document"], "unclosed elements"
    return parser.root
