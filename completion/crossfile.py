"""Definitions the buffer imports from other open documents, as short prompt snippets.

`from helpers import parse` or `import helpers` in the buffer, with helpers.py open in
the editor: the signature (and docstring's first line) of `parse`, or of each of the
module's top-level definitions, goes into the prompt, commented out and labelled with
its path (Tabby and Continue do the same), so the model can call it correctly.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import unquote, urlparse

from tree_sitter import Node, Tree

from completion.bounds import NEAR_CHARS

DEFINITION_TYPES = {"function_definition", "class_definition"}
# Where imports are looked for: module level, also under `if TYPE_CHECKING:` and
# `try: import x except ImportError:`, but not inside functions (walking every body of a
# 10,000-line file took 5 ms a request).
CONTAINERS = {"module", "block", "if_statement", "try_statement", "else_clause", "except_clause",
              "elif_clause", "with_statement"}
MAX_DEFINITIONS_PER_MODULE = 12  # `import module` brings in this many at most
MAX_METHODS = 8
# A definition's header (up to its body), a docstring or an assignment is read this far at
# most: work per keystroke must not grow with what another file's lines hold.
MAX_HEADER_BYTES = 4 * NEAR_CHARS
_SPACE_AFTER_OPEN = re.compile(r"\(\s+")
_SPACE_BEFORE_CLOSE = re.compile(r"(?<!\s)\s+\)")


@dataclass(frozen=True)
class Snippet:
    label: str  # "path:name"
    text: str   # comment lines, each ending in a newline


@dataclass(frozen=True)
class OpenDocument:
    uri: str
    source: bytes
    tree: Tree | None


@dataclass(frozen=True)
class Import:
    module: tuple[str, ...]   # dotted parts, after any leading dots
    level: int                # 0 absolute, 1 for ".", 2 for "..", ...
    names: tuple[str, ...]    # imported names; empty for `import module`


def document_path(uri: str) -> str:
    parsed = urlparse(uri)
    return unquote(parsed.path) if parsed.scheme in ("file", "") else uri


def _text(node: Node | None) -> str:
    return node.text.decode("utf-8", "replace") if node is not None and node.text is not None else ""


def _head(node: Node, source: bytes) -> str:
    """A node's first MAX_HEADER_BYTES, for reading its first line."""
    return source[node.start_byte:min(node.end_byte, node.start_byte + MAX_HEADER_BYTES)].decode("utf-8", "replace")


def find_imports(tree: Tree) -> list[Import]:
    """Top-level and nested import statements of a buffer."""
    found: list[tuple[int, Import]] = []
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type == "import_statement":
            for name in node.children_by_field_name("name"):
                dotted = name.child_by_field_name("name") if name.type == "aliased_import" else name
                found.append((node.start_byte, Import(tuple(_text(dotted).split(".")), 0, ())))
        elif node.type == "import_from_statement":
            module = node.child_by_field_name("module_name")
            level, parts = 0, ()
            if module is not None and module.type == "relative_import":
                prefix = next((c for c in module.children if c.type == "import_prefix"), None)
                level = len(_text(prefix))
                dotted = next((c for c in module.children if c.type == "dotted_name"), None)
                parts = tuple(_text(dotted).split(".")) if dotted is not None else ()
            elif module is not None:
                parts = tuple(_text(module).split("."))
            names = tuple(_text(n.child_by_field_name("name") if n.type == "aliased_import" else n)
                          for n in node.children_by_field_name("name"))
            found.append((node.start_byte, Import(parts, level, names)))
        elif node.type in CONTAINERS:
            stack.extend(node.named_children)
    return [imported for _, imported in sorted(found, key=lambda item: item[0])]  # in file order


def _module_paths(imported: Import, own_path: str) -> list[str]:
    """Path endings (absolute imports) or full paths (relative ones) the module may have."""
    parts = "/".join(imported.module)
    endings = [f"{parts}.py", f"{parts}/__init__.py"] if parts else []
    if imported.level == 0:
        return endings
    base = posixpath.dirname(own_path)
    for _ in range(imported.level - 1):
        base = posixpath.dirname(base)
    return [posixpath.join(base, ending) for ending in endings or ["__init__.py"]]


def _matches(path: str, candidates: Iterable[str], relative: bool) -> bool:
    return any(path == c if relative else (path == c or path.endswith("/" + c)) for c in candidates)


def _signature(node: Node, source: bytes, indent: str = "") -> list[str]:
    """A definition's header lines and its docstring's first line."""
    body = node.child_by_field_name("body")
    end = body.start_byte if body is not None else node.end_byte
    if end - node.start_byte > MAX_HEADER_BYTES:
        return []  # a generated monster: no use in a prompt, and not worth reading
    header = one_line(source[node.start_byte:end].decode("utf-8", "replace").rstrip())
    lines = [indent + header]
    if body is not None and body.named_child_count:
        first = body.named_children[0]
        if first.type == "expression_statement" and first.named_children and first.named_children[0].type == "string":
            doc = _docstring_first_line(_head(first.named_children[0], source))
            if doc:
                lines.append(f'{indent}    """{doc}"""')
    if node.type == "class_definition" and body is not None:
        methods = [m for m in _definitions(body) if m.type == "function_definition"][:MAX_METHODS]
        for method in methods:
            lines.extend(_signature(method, source, indent + "    ")[:1])
    return lines


def one_line(header: str) -> str:
    """A header on one line, however its parameters were wrapped. Each regex can start only
    at the first character of a run of whitespace, so none backtracks over a long run
    (`\\s+\\)` tried from every space of a 40,000-space header took 15 s)."""
    header = " ".join(line.strip() for line in header.split("\n") if line.strip())
    return _SPACE_BEFORE_CLOSE.sub(")", _SPACE_AFTER_OPEN.sub("(", header))


def _docstring_first_line(literal: str) -> str:
    """The first line of a string literal's text: its prefix letters and quotes removed."""
    match = re.match(r"[rRbBuUfF]*(\"\"\"|\'\'\'|\"|\')", literal)
    if match is None:
        return ""
    quote = match.group(1)
    body = literal[match.end():]
    body = body[: -len(quote)] if body.endswith(quote) else body
    return body.strip().partition("\n")[0].strip()


def _definitions(parent: Node) -> list[Node]:
    found = []
    for child in parent.named_children:
        if child.type == "decorated_definition":
            child = child.child_by_field_name("definition") or child
        if child.type in DEFINITION_TYPES:
            found.append(child)
    return found


def _assignment(parent: Node, name: str, source: bytes) -> str | None:
    """A top-level `NAME = ...` line, for imported constants."""
    for child in parent.named_children:
        if child.type == "expression_statement" and child.named_children \
                and child.named_children[0].type == "assignment" \
                and _text(child.named_children[0].child_by_field_name("left")) == name:
            return _head(child, source).partition("\n")[0]
    return None


def _snippets_from(document: OpenDocument, names: Sequence[str], path: str) -> list[Snippet]:
    root = document.tree.root_node
    definitions = {_text(d.child_by_field_name("name")): d for d in _definitions(root)}
    if names:
        wanted = [(n, definitions.get(n)) for n in names]
    else:
        wanted = list(definitions.items())[:MAX_DEFINITIONS_PER_MODULE]
    snippets = []
    for name, node in wanted:
        lines = _signature(node, document.source) if node is not None else \
            [line for line in [_assignment(root, name, document.source)] if line]
        if lines:
            text = f"# {path}\n" + "".join(f"# {line}\n" for line in lines)
            snippets.append(Snippet(f"{posixpath.basename(path)}:{name}", text))
    return snippets


def imported_snippets(tree: Tree, uri: str, others: Sequence[OpenDocument]) -> list[Snippet]:
    """Snippets for what the buffer (`tree`, at `uri`) imports from `others`, in import order."""
    own_path = document_path(uri)
    parsed = [(document_path(d.uri), d) for d in others if d.tree is not None and d.uri != uri]
    snippets: list[Snippet] = []
    defined_here = _defined_names(tree.root_node)
    for imported in find_imports(tree):
        relative = imported.level > 0
        module_files = _module_paths(imported, own_path)
        for path, document in parsed:
            if _matches(path, module_files, relative):
                snippets.extend(_snippets_from(document, imported.names, _short(path, own_path)))
            elif imported.names:  # `from package import module`
                for name in imported.names:
                    sub = Import((*imported.module, name), imported.level, ())
                    if _matches(path, _module_paths(sub, own_path), relative):
                        snippets.extend(_snippets_from(document, (), _short(path, own_path)))
    # The buffer's own definition of a name (a fallback under `except ImportError:`, say)
    # is already in the prompt, or near it.
    return [s for s in snippets if s.label.rsplit(":", 1)[1] not in defined_here]


def _defined_names(root: Node) -> set[str]:
    """Names the buffer defines at module level, under if/try blocks included."""
    names, stack = set(), [root]
    while stack:
        node = stack.pop()
        for child in _definitions(node):
            names.add(_text(child.child_by_field_name("name")))
        stack.extend(c for c in node.named_children if c.type in CONTAINERS)
    return names


def _short(path: str, own_path: str) -> str:
    """The other document's path relative to the buffer's directory, when shorter."""
    relative = posixpath.relpath(path, posixpath.dirname(own_path) or "/")
    return relative if len(relative) < len(path) else path
