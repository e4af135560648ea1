"""End to end over stdio with the real-vocabulary stand-ins (tooling/standins): a draft with
AMD-Llama-135M's config and LLaMA-2's tokenizer, a shrunk CodeLlama-shaped target with
CodeLlama's, random weights. What the server does with them is what it would do with the
real pair: the layout it detects, the exact prompt ids it builds (read from its `-vv` log
line `prompt uri=… ids=… draftIds=…`, checked against Meta's infilling layout worked out
independently in tests/standin_reference.py), the draft's prompt cut to its 2,048
positions, greedy speculative output equal to the target's alone, a foreign draft refused
before any weights are read, and buffers that spell control tokens kept as text.

Random weights write garbage; the tests compare exact ids and exact text, never quality."""

from __future__ import annotations

import itertools
import json
import re

import pytest

from models.config import DRAFT_SOURCES
from tests.e2e.session import ServerSession
from tests.standin_reference import (BOS, EOT, MID, PRE, SUF, foreign_draft, meta_infilling_prompt,  # noqa: F401
                                     sentencepiece)

EOS, FILL_ME = 2, 32016
DRAFT_WINDOW = 2048          # AMD-Llama-135M's max_position_embeddings
MAX_NEW_TOKENS = 6
HEADROOM = 9                 # models.config.MAX_DRAFT_TOKENS + 1 (completion.service.DRAFT_HEADROOM)
LOAD_TIMEOUT = 300           # two shared cores, other workers beside us

PROMPT_LINE = re.compile(r"prompt uri=(?P<uri>\S+) offset=(?P<offset>\d+) format=(?P<format>\S+) "
                         r"ids=(?P<ids>\[[\d,]*\]) draftIds=(?P<draft>\[[\d,]*\])")


def settings(standins, **more) -> dict:
    """Deterministic completions: float32 on the CPU, no time budget, raw text (no stop
    rules or post-processing, which would cut random text to nothing)."""
    return {"draftModel": str(standins.draft), "targetModel": str(standins.target), "device": "cpu",
            "dtype": "float32", "engine": "transformers", "timeBudgetMs": 0, "maxNewTokens": MAX_NEW_TOKENS,
            "postprocess": False, "draftTokens": 3, "draftSource": "combined", "contextTokens": 1024,
            "debounceMs": 0, **more}


@pytest.fixture(scope="module")
def server_log(tmp_path_factory):
    return tmp_path_factory.mktemp("standin-logs") / "server.log"


@pytest.fixture(scope="module")
def session(standins, server_log):
    """One server for the stand-in pair; tests change only decoding and budget settings,
    which never reload the models, and put them back."""
    session = ServerSession(settings(standins), server_args=["-vv", "--log-file", str(server_log)])
    try:
        status = session.wait_loaded(LOAD_TIMEOUT)
        assert status["state"] == "ready", status
        yield session
    finally:
        session.close()


@pytest.fixture
def target_only(session):
    """For tests of the prompt alone: the target decodes by itself (the draft, which reads
    its prompt lazily, costs nothing), and the settings come back afterwards."""
    session.client.configure({"draftTokens": 0})
    yield
    session.client.configure({"draftTokens": 3})


_uris = itertools.count(1)


def complete(session: ServerSession, prefix: str, suffix: str, name: str = "buffer"):
    """Open `prefix + suffix` as a new document (a new URI: the suggestion cache never
    answers) and ask for a completion between them. (uri, offset, items, last)."""
    uri = f"file:///standins/{next(_uris)}-{name}.py"
    text = prefix + suffix
    session.client.open(uri, text)
    line = prefix.count("\n")
    character = len(prefix[prefix.rfind("\n") + 1:].encode("utf-16-le")) // 2
    items = session.complete(uri, line, character)
    return uri, len(prefix), items, status(session)["stats"]["last"]


def status(session: ServerSession) -> dict:
    return session.run(session.client.status())


def logged_prompt(server_log, uri: str, offset: int) -> tuple[str, list[int], list[int]]:
    """(format, ids, draft ids) the server built for this request, from its debug log
    (the newest line for the position: a background warm-up may have logged before)."""
    found = [m for m in map(PROMPT_LINE.search, server_log.read_text(encoding="utf-8").splitlines())
             if m and m["uri"] == uri and int(m["offset"]) == offset]
    assert found, f"no prompt logged for {uri} at {offset}"
    last = found[-1]
    return last["format"], json.loads(last["ids"]), json.loads(last["draft"])


def text_of(items) -> str:
    assert len(items) <= 1
    if not items:
        return ""
    text = items[0].insert_text
    return text if isinstance(text, str) else text.value


def log_problems(server_log) -> list[str]:
    return [line for line in server_log.read_text(encoding="utf-8").splitlines()
            if " ERROR " in line or (" WARNING " in line and "position" in line.lower())]


# -- 1. the layout ---------------------------------------------------------------------------
def test_the_server_detects_codellamas_infilling_layout(session, server_log, target_only):
    uri, offset, _, last = complete(session, "def area(r):\n    ", "\n")
    assert last["promptFormat"] == "codellama"
    assert logged_prompt(server_log, uri, offset)[0] == "codellama"
    models = status(session)["models"]
    assert (models["target"]["vocabSize"], models["target"]["contextWindow"]) == (32016, 16384)
    assert (models["draft"]["vocabSize"], models["draft"]["contextWindow"]) == (32000, DRAFT_WINDOW)


# -- 2. the prompt ids -------------------------------------------------------------------------
@pytest.mark.parametrize(("prefix", "suffix"), [
    ("def area(r):\n    r2 = r * r\n    ", "\n    return 3.14 * r2\n"),          # indentation before the cursor
    ("class Point:\n    def norm(self):\n        return ", "\n\n    x = 1\n"),
    ("def f(x):\n\tif x:\n\t\t", "\n\treturn x\n"),                             # tabs
])
def test_the_prompt_ids_are_metas_infilling_layout(session, server_log, sentencepiece, target_only, prefix,
                                                    suffix):
    uri, offset, _, last = complete(session, prefix, suffix)
    _, ids, draft_ids = logged_prompt(server_log, uri, offset)
    assert ids == meta_infilling_prompt(sentencepiece, prefix, suffix)
    assert draft_ids == [BOS, *sentencepiece(prefix)]  # the draft reads the same left context
    assert last["promptTokens"] == len(ids) and last["snippets"] == []


# -- 3. a long buffer and the draft's positions -----------------------------------------------
def test_the_drafts_prompt_stays_within_its_2048_positions_in_a_3000_line_file(session, server_log):
    # The cursor ends the text (no trailing space), where didOpen's warm-up prefills: what it
    # reads of the target's prompt before the request cancels it is reused.
    prefix = "".join(f"def f{i}(x):\n    return x + {i}\n\n" for i in range(1000)) + "def last(x):\n    return ("
    assert prefix.count("\n") >= 3000
    session.client.configure({"contextTokens": 2304, "draftSource": "model"})
    try:
        uri, offset, items, last = complete(session, prefix, "", name="long")
    finally:
        session.client.configure({"contextTokens": 1024, "draftSource": "combined"})
    _, ids, draft_ids = logged_prompt(server_log, uri, offset)
    assert len(ids) > DRAFT_WINDOW  # the target reads more than the draft could
    left = ids[2:ids.index(SUF)]
    room = DRAFT_WINDOW - MAX_NEW_TOKENS - HEADROOM
    assert len(draft_ids) == room and draft_ids[0] == BOS and draft_ids[1:] == left[-(room - 1):]
    assert items and last["newTokens"] > 0 and last["stopReason"] != "error"
    assert last["draftSteps"] > 0 and last["drafted"] > 0  # the draft model ran on its cut prompt
    now = status(session)
    assert now["error"] is None and now["stats"]["failed"] == 0
    assert log_problems(server_log) == []
    assert not [m for m in session.client.messages if "position" in m.lower()]


# -- 4. greedy speculative decoding is the target's own greedy output -------------------------
CURSORS = [
    ("def area(r):\n    ", "\n\nprint(area(2))\n"),
    ("import os\n\n\ndef read(path):\n    with open(path) as f:\n        data = ", "\n    return data\n"),
]  # two: each model-drafted completion costs seconds on two shared cores


def completions_with(session, decoding: dict) -> list[tuple[str, dict]]:
    session.client.configure(decoding)
    try:
        return [(text_of(items), last) for _, _, items, last in
                (complete(session, prefix, suffix, name="greedy") for prefix, suffix in CURSORS)]
    finally:
        session.client.configure({"draftTokens": 3, "draftSource": "combined"})


@pytest.fixture(scope="module")
def target_alone(session):
    alone = completions_with(session, {"draftTokens": 0})
    assert all(last["drafted"] == 0 for _, last in alone)
    return alone


@pytest.mark.parametrize("draft_tokens", [3, "auto"])
@pytest.mark.parametrize("source", DRAFT_SOURCES)
def test_greedy_speculative_text_equals_the_target_alone(session, target_alone, source, draft_tokens):
    speculative = completions_with(session, {"draftTokens": draft_tokens, "draftSource": source})
    assert [text for text, _ in speculative] == [text for text, _ in target_alone]
    assert [last["newTokens"] for _, last in speculative] == [last["newTokens"] for _, last in target_alone]
    assert all(last["newTokens"] > 0 for _, last in speculative)
    if (source, draft_tokens) == ("model", 3):  # a fixed k with the model drafts every round
        assert all(last["drafted"] > 0 and last["draftSteps"] > 0 for _, last in speculative)


# -- 5. a foreign draft ------------------------------------------------------------------------
def test_a_foreign_draft_is_refused_at_its_first_differing_id_before_weights_are_read(standins, tmp_path):
    foreign = foreign_draft(standins, tmp_path / "foreign", (5000, 5001))
    vocab = json.loads((standins.target / "tokenizer.json").read_text(encoding="utf-8"))["model"]["vocab"]
    piece = {index: p for p, index in vocab.items()}
    log = tmp_path / "server.log"
    session = ServerSession(settings(standins, draftModel=str(foreign)), server_args=["-v", "--log-file", str(log)])
    try:
        now = session.wait_loaded(LOAD_TIMEOUT)
        message = session.wait_message("does not match the target's")
    finally:
        session.close()
    named = f"id 5000 is {piece[5001]!r} for the draft but {piece[5000]!r} for the target"
    assert now["state"] == "error" and named in now["error"] and named in message
    assert str(foreign) in now["error"]
    # The corrupt weights were never opened (they would fail "… failed to load: …"), nor the target's.
    assert "failed to load" not in now["error"] and now["models"] is None
    assert "loaded target model" not in log.read_text(encoding="utf-8")


# -- 6. buffers that spell control tokens ------------------------------------------------------
SPELLED = ["▁<PRE>", "<PRE>", "<s>", "</s>", "<FILL_ME>", "<EOT>"]


def test_a_buffer_that_spells_control_tokens_completes_and_keeps_them_as_text(session, server_log, sentencepiece):
    prefix = "".join(f'marker{n} = "{token}"  # {token}\n' for n, token in enumerate(SPELLED))
    prefix += "# <s>▁<PRE> x <FILL_ME>\ntokens = '<PRE><s>' + "
    suffix = "  # </s> <FILL_ME> <EOT> ▁<PRE>\nprint('<EOT>', \"</s>\")\n"
    failed = status(session)["stats"]["failed"]
    uri, offset, items, last = complete(session, prefix, suffix, name="spelled")
    assert text_of(items) and last["newTokens"] > 0 and last["stopReason"] != "error"
    now = status(session)
    assert now["error"] is None and now["stats"]["failed"] == failed
    _, ids, draft_ids = logged_prompt(server_log, uri, offset)
    assert ids == meta_infilling_prompt(sentencepiece, prefix, suffix)
    assert [i for i in ids if i >= 32000 or i in (0, 1, 2)] == [BOS, PRE, SUF, MID]  # none from the text
    assert EOT not in ids and FILL_ME not in ids and EOS not in ids
    assert draft_ids == [BOS, *sentencepiece(prefix)] and max(draft_ids) < 32000
