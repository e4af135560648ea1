"""What tree-sitter-python says about the cursor's surroundings."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import tree_sitter_python
from tree_sitter import Language, Node, Parser

STRING_TYPES = {"string", "string_content", "concatenated_string"}


@dataclass(frozen=True)
class SyntaxAtCursor:
    in_string: bool
    in_comment: bool
    has_error: bool  # the buffer does not parse cleanly (common while typing)


@lru_cache(maxsize=1)
def _parser() -> Parser:
    return Parser(Language(tree_sitter_python.language()))


def _ancestors(node: Node | None):
    while node is not None:
        yield node
        node = node.parent


def syntax_at(text: str, prefix: str) -> SyntaxAtCursor:
    """Parse `text` and classify the cursor, which sits right after `prefix`."""
    source = text.encode("utf-8")
    cursor = len(prefix.encode("utf-8"))
    tree = _parser().parse(source)
    node = tree.root_node.descendant_for_byte_range(max(cursor - 1, 0), cursor)
    in_string = any(n.type in STRING_TYPES and n.start_byte < cursor < n.end_byte for n in _ancestors(node))
    in_comment = any(n.type == "comment" and n.start_byte < cursor <= n.end_byte for n in _ancestors(node))
    return SyntaxAtCursor(in_string, in_comment, tree.root_node.has_error)
