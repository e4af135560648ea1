"""End to end: what typing does to requests — type-through answers, floods of changes,
cancellations and closes mid-generation — against the real server over stdio."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from lsprotocol import types

from tests.e2e.session import ServerSession

BODY = "def total(values):\n    result = 0\n    for value in values:\n        result += value\n    return "


@pytest.fixture(scope="module")
def session():
    session = ServerSession()
    assert session.wait_loaded()["state"] == "ready"
    yield session
    session.close()


def stats(session: ServerSession) -> dict:
    return session.run(session.client.status())["stats"]


def rss_kb(session: ServerSession) -> int:
    status = Path(f"/proc/{session.client.client._server.pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS")))


def test_typing_the_shown_suggestion_is_answered_without_the_models(session):
    uri = "file:///sched/through.py"
    session.client.open(uri, BODY)
    line = BODY.count("\n")
    shown = session.complete(uri, line, len("    return "))[0].insert_text
    assert len(shown) > 1
    before = stats(session)["typeThrough"]
    session.client.change(uri, BODY + shown[0], version=2)
    rest = session.complete(uri, line, len("    return ") + 1)
    assert [item.insert_text for item in rest] == [shown[1:]]
    assert stats(session)["typeThrough"] == before + 1


def test_a_flood_of_changes_answers_only_the_newest_version_and_stays_bounded(session):
    uri = "file:///sched/flood.py"
    text = "import os\n\n\ndef main():\n    path = os.path.join("
    session.client.open(uri, text)
    memory_before = rss_kb(session)
    before = stats(session)

    async def flood():
        requests = []
        for version in range(2, 1002):
            typed = text + "x" * (version % 7)
            session.client.change(uri, typed, version)
            requests.append(asyncio.ensure_future(session.client.inline_completion(
                uri, 4, len("    path = os.path.join(") + version % 7)))
            if version % 50 == 0:
                await asyncio.sleep(0.05)  # 1,000 changes and requests in about one second
        return await asyncio.gather(*requests, return_exceptions=True)

    answers = session.run(flood())
    assert not [a for a in answers if isinstance(a, BaseException)]
    after = stats(session)
    # The models finish at most the newest request before each of the 20 pauses, and the
    # last one: every other request was superseded. A superseded request may still be
    # answered from the suggestion cache (instantly, and right for the text it sees, since
    # the document cycles through the same seven texts), never by the models.
    delta = {key: after[key] - before[key] for key in ("requests", "typeThrough", "cancelled", "stale")}
    assert delta["requests"] + delta["cancelled"] + delta["stale"] == 1000  # each one accounted for
    assert delta["requests"] - delta["typeThrough"] + delta["stale"] <= 21  # finished by the models
    assert sum(bool(a) for a in answers) <= delta["requests"]
    assert session.run(session.client.status())["state"] == "ready"  # still answering
    assert rss_kb(session) - memory_before < 200_000


def test_cancel_for_an_unknown_request_id_is_ignored(session):
    session.client.client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=987654))
    assert session.run(session.client.status())["state"] == "ready"


def test_closing_a_document_during_its_generation_answers_nothing(session):
    uri = "file:///sched/closing.py"
    session.client.open(uri, BODY)

    async def close_while_generating():
        request = asyncio.ensure_future(session.client.inline_completion(uri, BODY.count("\n"), len("    return ")))
        await asyncio.sleep(0.01)
        session.client.client.text_document_did_close(types.DidCloseTextDocumentParams(
            types.TextDocumentIdentifier(uri)))
        return await asyncio.gather(request, return_exceptions=True)

    (answer,) = session.run(close_while_generating())
    assert answer == [] or "is not open" in str(answer)
    assert session.run(session.client.status())["state"] == "ready"
