"""Golden cases: each file in tests/data/completion/ is a buffer with a cursor `█` and a
header of `#: key: value` lines (values are JSON), run through the real CompletionService
with a FakeGenerator whose "model" writes the header's `model` text.

  mode, reason (substring), options (CompletionOptions fields; camelCase is accepted),
  model, text, replace (default 0 when text is given), guarded, snippets, uri,
  prompt-contains / prompt-lacks (repeatable), format (CompletionResult.prompt_format),
  warning (substring of one warning; without it there must be none), xfail (reason),
  other "path": "text"  (another open document, file:///proj/<path>)

The fake writes one token per character, so a model text of realistic length needs more
new tokens than the service's default 64: cases run with max_new_tokens 256 unless their
options say otherwise.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from completion.crossfile import OpenDocument
from completion.service import CompletionOptions, CompletionRequest, CompletionService
from completion.syntax import parse
from tests.completion.fakes import FIM, FakeGenerator

CASES = Path(__file__).resolve().parent.parent / "data" / "completion"
CURSOR, HEADER = "█", "#: "
REPEATABLE = ("prompt-contains", "prompt-lacks")
KEYS = {"mode", "reason", "options", "model", "text", "replace", "guarded", "snippets", "uri",
        "format", "warning", "xfail", "other", *REPEATABLE}
FIM_NAMES = {i: name for name, i in FIM.items()}


def load(path: Path) -> tuple[dict, list[tuple[str, str]], str]:
    """(expectations, other documents, buffer text with the cursor marker)."""
    body = path.read_bytes().decode("utf-8")
    expect: dict = {key: [] for key in REPEATABLE}
    others: list[tuple[str, str]] = []
    while body.startswith(HEADER):
        line, _, body = body.partition("\n")
        key, rest = re.match(r"([\w-]+)\s*(.*)", line[len(HEADER):].rstrip("\r"), re.S).groups()
        assert key in KEYS, f"{path.name}: unknown header key {key!r}"
        if key == "other":
            name, end = json.JSONDecoder().raw_decode(rest)
            others.append((name, json.loads(rest[end:].lstrip().removeprefix(":"))))
        elif key in REPEATABLE:
            expect[key].append(json.loads(rest.removeprefix(":")))
        else:
            expect[key] = json.loads(rest.removeprefix(":"))
    return expect, others, body


def decode(ids) -> str:
    return "".join(FIM_NAMES.get(i, chr(i - 10) if i >= 10 else "") for i in ids)


def found(needle: str, texts) -> str | list[str]:
    """`needle` when one of `texts` contains it, else all of them (for the failure diff)."""
    return needle if any(needle in text for text in texts) else list(texts)


def snake(key: str) -> str:
    return re.sub(r"[A-Z]", lambda m: "_" + m.group().lower(), key)


def params() -> list:
    return [pytest.param(path, id=path.name, marks=[pytest.mark.xfail(strict=True, reason=xfail)] if xfail else [])
            for path in sorted(CASES.glob("*.py")) for xfail in [load(path)[0].get("xfail")]]


def test_corpus_is_large_enough():
    assert len(list(CASES.glob("*.py"))) >= 70


@pytest.mark.parametrize("path", params())
def test_golden(path: Path):
    expect, others, body = load(path)
    assert body.count(CURSOR) == 1, "exactly one cursor marker"
    offset, text = body.index(CURSOR), body.replace(CURSOR, "")
    options = CompletionOptions(**{"max_new_tokens": 256,
                                   **{snake(k): v for k, v in expect.get("options", {}).items()}})
    documents = [OpenDocument(f"file:///proj/{name}", source, parse(source))
                 for name, other in others for source in [other.encode("utf-8")]]
    generator = FakeGenerator(continuation=expect.get("model", ""))
    request = CompletionRequest(text, offset, options, uri=expect.get("uri", f"file:///proj/{path.name}"),
                                others=documents)
    result = CompletionService(generator).complete(request)
    prompt = decode(generator.prompts[0]) if generator.prompts else ""

    got, want = {"mode": result.mode}, {"mode": expect["mode"]}
    if "reason" in expect:  # a substring: shown whole when it is missing
        got["reason"], want["reason"] = found(expect["reason"], [result.reason]), expect["reason"]
    if result.mode == "none" or "text" in expect:
        got.update(text=result.text, replace=result.replace_chars)
        want.update(text=expect.get("text", ""), replace=expect.get("replace", 0))
    if "guarded" in expect:
        got["guarded"], want["guarded"] = result.guarded, expect["guarded"]
    if "snippets" in expect:
        got["snippets"], want["snippets"] = list(result.snippets), expect["snippets"]
    if "format" in expect:
        got["format"], want["format"] = result.prompt_format, expect["format"]
    if "warning" in expect:
        got["warning"], want["warning"] = found(expect["warning"], result.warnings), expect["warning"]
    else:
        got["warnings"], want["warnings"] = list(result.warnings), []
    got["prompt-contains"] = [s for s in expect["prompt-contains"] if s in prompt]
    got["prompt-lacks"] = [s for s in expect["prompt-lacks"] if s not in prompt]
    want.update({key: expect[key] for key in REPEATABLE})
    assert got == want, f"prompt was {prompt!r}"
