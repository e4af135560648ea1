"""completion/crossfile.py: what the buffer imports from other open documents, as snippets."""

import pytest

from completion.crossfile import (
    MAX_DEFINITIONS_PER_MODULE, MAX_METHODS, Import, OpenDocument, document_path, find_imports,
    imported_snippets,
)
from completion.syntax import parse


def tree(text):
    return parse(text.encode("utf-8"))


def document(uri, text):
    source = text.encode("utf-8")
    return OpenDocument(uri, source, parse(source))


def snippets(buffer, others, uri="file:///proj/pkg/main.py"):
    return imported_snippets(tree(buffer), uri, others)


def lines(snippet):
    assert snippet.text.endswith("\n")
    out = snippet.text.split("\n")[:-1]
    assert all(line.startswith("#") for line in out)  # commented out: never code
    return out


HELPERS = '''"""Helpers."""
import re

LIMIT = 10
NAME: str = "x"
TABLE = {
    "a": 1,
}

def parse(text: str, *, strict: bool = False) -> list[str]:
    """Split text into tokens.

    More detail that the snippet leaves out.
    """
    return text.split()

@cache
def cached(n):
    return n

class Parser:
    """A parser."""

    def __init__(self, text):
        self.text = text

    def run(self):
        return 1

async def fetch(url):
    pass
'''

HELPERS_URI = "file:///proj/pkg/helpers.py"


# --- find_imports -------------------------------------------------------------------------

@pytest.mark.parametrize("source, expected", [
    ("import os", [Import(("os",), 0, ())]),
    ("import os.path", [Import(("os", "path"), 0, ())]),
    ("import numpy as np", [Import(("numpy",), 0, ())]),
    ("import a.b as ab, json", [Import(("a", "b"), 0, ()), Import(("json",), 0, ())]),
    ("from x.y import z", [Import(("x", "y"), 0, ("z",))]),
    ("from x.y import z as zz, w", [Import(("x", "y"), 0, ("z", "w"))]),   # real names, not aliases
    ("from x import (\n    a,\n    b as c,\n)", [Import(("x",), 0, ("a", "b"))]),
    ("from . import helpers", [Import((), 1, ("helpers",))]),
    ("from .. import up", [Import((), 2, ("up",))]),
    ("from .helpers import parse, Thing as T", [Import(("helpers",), 1, ("parse", "Thing"))]),
    ("from ..pkg.mod import thing", [Import(("pkg", "mod"), 2, ("thing",))]),
    ("from . import (one, two)", [Import((), 1, ("one", "two"))]),
])
def test_find_imports_reads_each_form(source, expected):
    assert sorted(find_imports(tree(source + "\n")), key=repr) == sorted(expected, key=repr)


def test_find_imports_looks_inside_try_if_and_else():
    source = ("try:\n    import ujson as json\nexcept ImportError:\n    import json\n"
              "if TYPE_CHECKING:\n    from typing_extensions import Self\nelif OTHER:\n    import other\n"
              "else:\n    from fallback import thing\n")
    modules = {i.module for i in find_imports(tree(source))}
    assert modules == {("ujson",), ("json",), ("typing_extensions",), ("other",), ("fallback",)}


def test_find_imports_of_a_buffer_without_imports_is_empty():
    assert find_imports(tree("x = 1\ndef f():\n    return x\n")) == []


# --- imported_snippets --------------------------------------------------------------------

def test_from_module_import_name_gives_its_signature_and_docstring_first_line():
    [snippet] = snippets("from helpers import parse\n", [document(HELPERS_URI, HELPERS)])
    assert snippet.label == "helpers.py:parse"
    assert lines(snippet) == [
        "# helpers.py",
        "# def parse(text: str, *, strict: bool = False) -> list[str]:",
        '#     """Split text into tokens."""',
    ]


def test_docstring_words_starting_or_ending_with_r_b_u_are_kept():
    helpers = 'def total(xs):\n    """Return the sum of a tabular"""\n    return sum(xs)\n'
    [snippet] = snippets("from helpers import total\n", [document(HELPERS_URI, helpers)])
    assert lines(snippet)[-1] == '#     """Return the sum of a tabular"""'


def test_import_module_gives_every_top_level_definition_in_order():
    found = snippets("import pkg.helpers\n", [document(HELPERS_URI, HELPERS)])
    assert [s.label for s in found] == ["helpers.py:parse", "helpers.py:cached", "helpers.py:Parser",
                                        "helpers.py:fetch"]
    text = "".join(s.text for s in found)
    assert "return text.split()" not in text and "More detail" not in text  # no bodies
    assert "LIMIT" not in text and "import re" not in text                     # only definitions


def test_import_module_is_capped():
    many = "".join(f"def f{i}(x):\n    return x\n\n" for i in range(MAX_DEFINITIONS_PER_MODULE + 8))
    found = snippets("import helpers\n", [document(HELPERS_URI, many)])
    assert [s.label for s in found] == [f"helpers.py:f{i}" for i in range(MAX_DEFINITIONS_PER_MODULE)]


def test_aliased_and_star_imports_bring_the_module():
    for buffer in ("import pkg.helpers as h\n", "from helpers import *\n"):
        found = snippets(buffer, [document(HELPERS_URI, HELPERS)])
        assert "helpers.py:parse" in [s.label for s in found]


def test_import_from_package_import_module():
    found = snippets("from pkg import helpers\n", [document(HELPERS_URI, HELPERS)])
    assert [s.label for s in found][:2] == ["helpers.py:parse", "helpers.py:cached"]


def test_from_dot_import_module_resolves_next_to_the_buffer():
    here = document(HELPERS_URI, HELPERS)
    elsewhere = document("file:///other/helpers.py", "def elsewhere():\n    pass\n")
    found = snippets("from . import helpers\n", [elsewhere, here])
    labels = [s.label for s in found]
    assert "helpers.py:parse" in labels and "helpers.py:elsewhere" not in labels


def test_from_dot_module_import_name_resolves_the_relative_path():
    here = document(HELPERS_URI, HELPERS)
    parent = document("file:///proj/helpers.py", "def parse(other):\n    pass\n")
    [snippet] = snippets("from .helpers import parse\n", [parent, here])
    assert "def parse(text: str" in snippet.text


def test_from_dot_dot_subpackage_module_import_name():
    util = document("file:///proj/pkg/util/helpers.py", "def load(path):\n    pass\n")
    decoy = document("file:///proj/pkg/sub/util/helpers.py", "def load(wrong):\n    pass\n")
    [snippet] = snippets("from ..util.helpers import load\n", [decoy, util], uri="file:///proj/pkg/sub/main.py")
    assert lines(snippet) == ["# ../util/helpers.py", "# def load(path):"]


def test_absolute_import_does_not_match_a_file_of_another_name():
    others = [document("file:///proj/pkg/myhelpers.py", "def parse(x):\n    pass\n"),
              document("file:///proj/other/helpers.py", "def parse(x):\n    pass\n")]
    assert snippets("import pkg.helpers\n", others) == []


def test_a_class_shows_its_docstring_and_method_signatures():
    [snippet] = snippets("from helpers import Parser\n", [document(HELPERS_URI, HELPERS)])
    assert lines(snippet) == [
        "# helpers.py",
        "# class Parser:",
        '#     """A parser."""',
        "#     def __init__(self, text):",
        "#     def run(self):",
    ]


def test_a_class_shows_at_most_max_methods():
    methods = "".join(f"    def m{i}(self):\n        pass\n" for i in range(MAX_METHODS + 4))
    [snippet] = snippets("from helpers import Big\n", [document(HELPERS_URI, "class Big:\n" + methods)])
    shown = [line for line in lines(snippet) if "def m" in line]
    assert shown == [f"#     def m{i}(self):" for i in range(MAX_METHODS)]


def test_a_multi_line_method_signature_keeps_its_parameters():
    helpers = ("class Model:\n    def __init__(\n        self,\n        name: str,\n        size: int = 3,\n"
               "    ) -> None:\n        pass\n")
    [snippet] = snippets("from helpers import Model\n", [document(HELPERS_URI, helpers)])
    assert "name: str" in snippet.text and "size: int = 3" in snippet.text


def test_a_decorated_function_is_found():
    [snippet] = snippets("from helpers import cached\n", [document(HELPERS_URI, HELPERS)])
    assert snippet.label == "helpers.py:cached"
    assert "# def cached(n):" in lines(snippet)


def test_an_imported_constant_shows_its_assignment_line():
    found = snippets("from helpers import LIMIT, NAME, TABLE\n", [document(HELPERS_URI, HELPERS)])
    assert [lines(s)[1:] for s in found] == [["# LIMIT = 10"], ['# NAME: str = "x"'], ["# TABLE = {"]]


def test_a_name_the_module_does_not_define_gives_no_snippet():
    found = snippets("from helpers import missing, parse\n", [document(HELPERS_URI, HELPERS)])
    assert [s.label for s in found] == ["helpers.py:parse"]


def test_no_snippet_without_the_open_document():
    assert snippets("from helpers import parse\nimport os\n", []) == []
    assert snippets("from helpers import parse\n", [document("file:///proj/pkg/utils.py", HELPERS)]) == []
    no_tree = OpenDocument(HELPERS_URI, HELPERS.encode(), None)
    assert snippets("from helpers import parse\n", [no_tree]) == []


def test_the_buffer_itself_is_not_a_source():
    buffer = "from main import parse\n"
    me = document("file:///proj/pkg/main.py", buffer + "def parse(x):\n    pass\n")
    assert snippets(buffer, [me]) == []


def test_percent_encoded_uris():
    helpers = document("file:///my%20proj/pkg/helpers.py", HELPERS)
    [snippet] = snippets("from .helpers import parse\n", [helpers], uri="file:///my%20proj/pkg/main.py")
    assert snippet.label == "helpers.py:parse"
    far = document("file:///my%20lib/helpers.py", "def far(x):\n    pass\n")
    [snippet] = snippets("import helpers\n", [far], uri="file:///home/u/a/b/c/d/main.py")
    assert lines(snippet)[0] == "# /my lib/helpers.py"
    assert "%20" not in snippet.text


def test_document_path():
    assert document_path("file:///my%20proj/a%2Bb.py") == "/my proj/a+b.py"
    assert document_path("untitled:Untitled-1") == "untitled:Untitled-1"


def test_snippets_come_in_import_order():
    others = [document("file:///p/helpers.py", "def parse(x):\n    pass\n"),
              document("file:///p/utils.py", "def load(x):\n    pass\n")]
    found = imported_snippets(tree("from helpers import parse\nfrom utils import load\n"), "file:///p/main.py",
                              others)
    assert [s.label for s in found] == ["helpers.py:parse", "utils.py:load"]
