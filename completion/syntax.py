"""What tree-sitter-python says about the cursor's surroundings."""

from __future__ import annotations

from dataclasses import dataclass
import threading

import tree_sitter_python
from tree_sitter import Language, Node, Parser, Tree

from completion.bounds import NEAR_CHARS

STRING_TYPES = {"string", "concatenated_string"}
SCOPE_TYPES = {"function_definition": "def", "class_definition": "class"}
WHITESPACE = b" \t\r\n\f\v"


@dataclass(frozen=True)
class Header:
    """The header of a def or class the cursor sits in: its lines up to the colon."""
    kind: str        # "def" | "class"
    start_byte: int  # of the header's first line
    text: str        # with the line's own indentation


@dataclass(frozen=True)
class SyntaxAtCursor:
    in_string: bool
    in_comment: bool
    has_error: bool  # the buffer does not parse cleanly (common while typing)
    in_docstring: bool = False  # a string that is the first statement of a body
    enclosing: tuple[Header, ...] = ()  # outermost first
    comment_before_cursor: str = ""  # the comment's text from its `#` to the cursor
    in_interpolation: bool = False   # inside an f-string's {expression}: code


_LANGUAGE = Language(tree_sitter_python.language())
_local = threading.local()


def _parser() -> Parser:
    """One parser per thread: documents are updated on the server's event loop while the
    model worker checks completions, and a tree-sitter parser is not thread-safe."""
    if not hasattr(_local, "parser"):
        _local.parser = Parser(_LANGUAGE)
    return _local.parser


def parse(source: bytes, old_tree: Tree | None = None) -> Tree:
    return _parser().parse(source, old_tree) if old_tree is not None else _parser().parse(source)


def _ancestors(node: Node | None):
    while node is not None:
        yield node
        node = node.parent


def _is_docstring(string: Node) -> bool:
    statement = string.parent
    if statement is None or statement.type != "expression_statement" or statement.named_child_count != 1:
        return False
    body = statement.parent
    if body is None or body.named_children[0] != statement:
        return False
    return body.type == "module" or (body.type == "block" and body.parent is not None
                                     and body.parent.type in SCOPE_TYPES)


def _header(node: Node, source: bytes) -> Header:
    body = node.child_by_field_name("body")
    line_start = source.rfind(b"\n", 0, node.start_byte) + 1
    end = body.start_byte if body is not None else node.end_byte
    text = source[line_start:end].decode("utf-8", "replace").rstrip()
    return Header(SCOPE_TYPES[node.type], line_start, text)


def syntax_at_tree(tree: Tree, source: bytes, cursor: int) -> SyntaxAtCursor:
    """Classify the cursor at byte `cursor` of `source`, which `tree` is the parse of."""
    node = tree.root_node.descendant_for_byte_range(max(cursor - 1, 0), cursor)
    in_string = in_docstring = in_interpolation = False
    comment = ""
    for ancestor in _ancestors(node):
        if ancestor.type == "interpolation" and ancestor.start_byte < cursor < ancestor.end_byte:
            in_interpolation = True  # an f-string's {expression} is code
            break
        if ancestor.type in STRING_TYPES and ancestor.start_byte < cursor < ancestor.end_byte:
            in_string, in_docstring = True, _is_docstring(ancestor)
            break
        if ancestor.type == "comment" and ancestor.start_byte < cursor <= ancestor.end_byte:
            # Its last NEAR_CHARS bytes at most: decide splits it into words.
            comment = source[max(ancestor.start_byte, cursor - NEAR_CHARS):cursor].decode("utf-8", "replace")
            break
    return SyntaxAtCursor(in_string, bool(comment), tree.root_node.has_error, in_docstring,
                          _enclosing(tree, source, cursor), comment, in_interpolation)


def _enclosing(tree: Tree, source: bytes, cursor: int) -> tuple[Header, ...]:
    """Headers of the defs and classes the cursor is in. Trailing whitespace belongs to no
    node, so look from the last code before the cursor, and keep only the scopes its line's
    indentation is inside of (a blank line after a method may be back in the class)."""
    line_start = source.rfind(b"\n", 0, cursor) + 1
    line = source[max(line_start, cursor - NEAR_CHARS):cursor]  # an indentation deeper is deep enough
    depth = len(line[: len(line) - len(line.lstrip(b" \t"))].expandtabs(4))
    # Back over whitespace, NEAR_CHARS at most (a loop per byte took 300 ms after 900,000 spaces).
    start = max(0, cursor - NEAR_CHARS)
    anchor = start + len(source[start:cursor].rstrip(WHITESPACE))
    node = tree.root_node.descendant_for_byte_range(max(anchor - 1, 0), anchor)
    headers = []
    for scope in _ancestors(node):
        body = scope.child_by_field_name("body") if scope.type in SCOPE_TYPES else None
        if body is None or body.start_byte > cursor:
            continue
        column = len(source[source.rfind(b"\n", 0, scope.start_byte) + 1:scope.start_byte].expandtabs(4))
        if (column < depth or line.strip()) and body.start_byte - scope.start_byte <= NEAR_CHARS:
            headers.append(_header(scope, source))  # a longer one could never fit a prompt
    return tuple(reversed(headers))


def syntax_at(text: str, prefix: str) -> SyntaxAtCursor:
    """Parse `text` from scratch and classify the cursor, which sits right after `prefix`."""
    source = text.encode("utf-8", "surrogatepass")
    return syntax_at_tree(parse(source), source, len(prefix.encode("utf-8", "surrogatepass")))


def count_errors(node: Node) -> int:
    """ERROR and MISSING nodes under `node`, descending only where errors are."""
    if not node.has_error:
        return 0
    count = int(node.is_error or node.is_missing)
    return count + sum(count_errors(child) for child in node.children)
