"""Properties of document sync, against the real server in this process (its reader, its
protocol, its handlers): random full and incremental edits leave exactly the text a
reference model computes, in every position encoding; a change that does not fit never
corrupts the text; positions map both ways; no settings payload stops the server."""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lsp_server.positions import UTF8, UTF16, UTF32, PositionError, offset_at, position_of, replace_range
from lsp_server.settings import setting_fields
from tests.e2e.session import InProcessServer, no_models

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Surrogate pairs in UTF-16 (emoji), 3-byte UTF-8 (CJK), 2-byte (é), tabs and every line break.
CHARS = st.sampled_from(["a", "b", " ", "\t", "é", "中", "😀", "𝔘", "\n", "\r\n", "\r", "(", ")"])
TEXTS = st.lists(CHARS, max_size=40).map("".join)
CODECS = {UTF16: ("utf-16-le", 2), UTF8: ("utf-8", 1), UTF32: ("utf-32-le", 4)}
_uris = itertools.count()


# -- a reference model, written independently of lsp_server/positions.py ---------------------
def lines_of(text: str) -> list[str]:
    """Each line's text without its break (LSP: \\n, \\r\\n or \\r end a line)."""
    return re.split(r"\r\n|\r|\n", text)


def reference_offset(text: str, line: int, character: int, encoding: str) -> int | None:
    """The code-point offset of a position, or None when it does not lie within the text."""
    lines = lines_of(text)
    if not 0 <= line < len(lines):
        return None
    codec, width = CODECS[encoding]
    data = lines[line].encode(codec, "surrogatepass")
    if not 0 <= character * width <= len(data):
        return None
    try:
        before = data[:character * width].decode(codec)
    except UnicodeDecodeError:  # inside a character
        return None
    starts = [m.end() for m in re.finditer(r"\r\n|\r|\n", text)]
    return ([0, *starts][line]) + len(before)


def boundaries(text: str, encoding: str) -> list[tuple[int, int]]:
    """Every valid (line, character) of `text`."""
    codec, width = CODECS[encoding]
    return [(number, len(line[:i].encode(codec)) // width)
            for number, line in enumerate(lines_of(text)) for i in range(len(line) + 1)]


def invalid_position(draw, text: str, encoding: str) -> tuple[int, int]:
    lines = lines_of(text)
    codec, width = CODECS[encoding]
    inside = [(n, len(line[:i].encode(codec)) // width + 1) for n, line in enumerate(lines)
              for i, c in enumerate(line) if len(c.encode(codec)) // width > 1]
    choices = [(len(lines) + draw(st.integers(1, 3)), 0),                     # past the last line
               (draw(st.integers(0, len(lines) - 1)), 10_000)]                 # past a line's end
    choices += inside  # inside a surrogate pair / a multi-byte character
    return draw(st.sampled_from(choices))


@st.composite
def edits(draw, encoding: str):
    """(start text, notifications): each notification is a list of changes; each change is
    ("full", text) or ("range", start, end, text, valid)."""
    text = draw(TEXTS)
    model, notifications = text, []
    for _ in range(draw(st.integers(1, 8))):
        changes = []
        for _ in range(draw(st.integers(1, 3))):
            kind = draw(st.sampled_from(["range", "range", "range", "full", "invalid"]))
            new = draw(TEXTS)
            if kind == "full":
                changes.append(("full", new))
                model = new
            elif kind == "range":
                points = boundaries(model, encoding)
                a, b = sorted(draw(st.sampled_from(points)) for _ in range(2))
                start = reference_offset(model, *a, encoding)
                end = reference_offset(model, *b, encoding)
                changes.append(("range", a, b, new, True))
                model = model[:start] + new + model[end:]
            else:
                points = boundaries(model, encoding)
                if draw(st.booleans()) and len(points) > 1:  # the end before the start
                    first = draw(st.integers(0, len(points) - 2))
                    b, a = points[first], points[draw(st.integers(first + 1, len(points) - 1))]
                else:
                    a = invalid_position(draw, model, encoding)
                    b = max(a, draw(st.sampled_from(points)))
                changes.append(("range", a, b, new, False))
        notifications.append(changes)
    return text, notifications


def as_wire(change) -> dict:
    if change[0] == "full":
        return {"text": change[1]}
    _, start, end, text, _ = change
    return {"range": {"start": {"line": start[0], "character": start[1]},
                      "end": {"line": end[0], "character": end[1]}},
            "rangeLength": 999_999, "text": text}  # rangeLength is deprecated: a wrong one changes nothing


@pytest.fixture(scope="module", params=[UTF16, UTF8, UTF32])
def server(request):
    with no_models():
        server = InProcessServer(capabilities={"general": {"positionEncodings": [request.param]}})
        assert server.server.position_encoding() == request.param
        yield server
        server.stop()


def test_incremental_sync_is_offered(server):
    initialize = next(m for m in server.received if m.get("id") == 1)
    assert initialize["result"]["capabilities"]["textDocumentSync"]["change"] == 2  # Incremental


@SETTINGS
@given(data=st.data())
def test_random_edits_leave_the_reference_text_and_bad_ranges_never_corrupt_it(server, data):
    encoding = server.server.position_encoding()
    text, notifications = data.draw(edits(encoding))
    uri = f"file:///props/doc{next(_uris)}.py"
    server.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "python",
                                                            "version": 1, "text": text}})
    model, in_sync = text, True
    for version, changes in enumerate(notifications, start=2):
        for change in changes:  # the reference: a bad range stops ranges until a whole text
            if change[0] == "full":
                model, in_sync = change[1], True
            elif in_sync and change[4]:
                _, start, end, new, _ = change
                model = (model[:reference_offset(model, *start, encoding)] + new
                         + model[reference_offset(model, *end, encoding):])
            else:
                in_sync = False
        server.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": version},
                                                 "contentChanges": [as_wire(c) for c in changes]})
        document = server.server.open_document(uri)
        assert document.source == model
        assert document.version == version
        assert (server.server.refused.get(uri) is None) == in_sync
        if in_sync:  # the tree follows the text
            tree = server.server.trees.get(uri)
            assert tree.text == model and tree.tree.root_node.end_byte == len(model.encode("utf-8"))
    answer = server.request("textDocument/inlineCompletion", {
        "textDocument": {"uri": uri}, "position": {"line": 0, "character": 0}, "context": {"triggerKind": 2}})
    assert "result" in answer or "error" in answer
    if not in_sync:  # refused, and said so
        assert answer["result"] == {"items": []}
        assert any("is out of sync" in m and f"doc{uri.rsplit('doc', 1)[1]}" in m for m in server.messages())
    server.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    assert server.server.open_document(uri) is None and uri not in server.server.refused


# -- positions both ways -----------------------------------------------------------------------
@st.composite
def text_and_offset(draw):
    text = draw(TEXTS)
    # An offset between \r and \n is not a position: it has none.
    offsets = [i for i in range(len(text) + 1) if not (0 < i < len(text) and text[i - 1:i + 1] == "\r\n")]
    return text, draw(st.sampled_from(offsets))


@settings(max_examples=100, deadline=None)
@given(text_and_offset(), st.sampled_from([UTF16, UTF8, UTF32]))
def test_positions_map_both_ways(case, encoding):
    text, offset = case
    line, character = position_of(text, offset, encoding)
    assert offset_at(text, line, character, encoding) == offset
    assert reference_offset(text, line, character, encoding) == offset
    codec, width = CODECS[encoding]
    line_start = max([0, *(m.end() for m in re.finditer(r"\r\n|\r|\n", text) if m.end() <= offset)])
    assert len(text[line_start:offset].encode(codec)) == character * width
    assert replace_range(text, (line, character), (line, character), "X", encoding) == text[:offset] + "X" + text[offset:]


@settings(max_examples=100, deadline=None)
@given(TEXTS)
def test_utf16_positions_between_characters_are_exact_and_inside_a_surrogate_pair_refused(text):
    text += "😀"
    for line, character in boundaries(text, UTF16):
        assert replace_range(text, (line, character), (line, character), "", UTF16) == text
        assert position_of(text, offset_at(text, line, character), UTF16) == (line, character)
    lines = lines_of(text)
    inside = (len(lines) - 1, len(lines[-1].encode("utf-16-le")) // 2 - 1)  # between the emoji's halves
    with pytest.raises(PositionError, match="inside a character"):
        replace_range(text, inside, inside, "x", UTF16)


# -- settings payloads ------------------------------------------------------------------------
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-10**30, max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12)
KNOWN = sorted(setting_fields())
PAYLOADS = st.one_of(
    JSON,
    st.dictionaries(st.sampled_from(KNOWN) | st.text(max_size=12), JSON, max_size=6),
    st.dictionaries(st.sampled_from(KNOWN) | st.text(max_size=12), JSON, max_size=6).map(lambda d: {"tandem": d}),
)


@pytest.fixture(scope="module")
def settings_server():
    with no_models():
        server = InProcessServer()
        uri = "file:///props/settings.py"
        server.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "python",
                                                                "version": 1, "text": "import os\nos.\n"}})
        yield server
        server.stop()


@SETTINGS
@given(PAYLOADS)
def test_no_settings_payload_stops_the_server_from_answering(settings_server, payload):
    settings_server.notify("workspace/didChangeConfiguration", {"settings": payload})
    status = settings_server.request("tandem/status", {})
    assert isinstance(status["result"]["settings"], dict)
    answer = settings_server.request("textDocument/inlineCompletion", {
        "textDocument": {"uri": "file:///props/settings.py"}, "position": {"line": 1, "character": 3},
        "context": {"triggerKind": 2}})
    assert answer.get("result") is not None
