"""Two editors on one `tandem serve --tcp` each get exactly their own settings.

Before requests carried their own decoding, client B's `temperature: 5` turned client A's
greedy completions into random text while A's own status still said temperature 0, B's
`targetModel` replaced A's models, and B's load error showed in A's status.
"""

import subprocess
import sys

from tests.conftest import ROOT
from tests.e2e.session import ServerSession
from tests.e2e.test_tcp_server import connect, free_port

SOURCE = """import os


def read_config(path):
    with open(path) as handle:
        return 


def join_paths(base, name):
    return os.path.


class Cache:
    def __init__(self, size):
        """
URI_A, URI_B = "file:///virtual/editor_a.py", "file:///virtual/editor_b.py"
CURSORS = [(5, 15), (9, 19), (14, 8)]  # after a return, after an attribute dot, in an empty body
# No time budget, so a busy machine cannot shorten an answer. A decodes greedily; B samples
# hot, seeded (so its answers repeat), with a fixed draft length, on models of its own
# (another dtype).
# Both take the models' raw text (postprocess off): the comparison is of decoding, and B's hot
# samples are never valid Python, which the server would rightly not show.
A_SETTINGS = {"timeBudgetMs": 0, "postprocess": False}
B_SETTINGS = {"timeBudgetMs": 0, "temperature": 5.0, "seed": 7, "dtype": "bfloat16", "draftTokens": 3,
              "postprocess": False}


def answers(session: ServerSession, uri: str) -> list[str]:
    out = []
    for line, character in CURSORS:
        items = session.complete(uri, line, character)
        out.append(items[0].insert_text if items else "")
    return out


def attach(server, port: int, settings: dict, uri: str) -> ServerSession:
    session = connect(server, port, settings)
    status = session.wait_loaded()
    assert status["state"] == "ready", status
    session.client.open(uri, SOURCE)
    return session


def test_two_editors_on_one_server_each_get_exactly_their_own_settings_and_models():
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "lsp_server", "serve", "--tcp", "--port", str(port),
                               "--dtype", "float32"],
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        alone_a = attach(server, port, A_SETTINGS, URI_A)
        expected_a = answers(alone_a, URI_A)
        alone_a.close()
        alone_b = attach(server, port, B_SETTINGS, URI_B)
        expected_b = answers(alone_b, URI_B)
        alone_b.close()
        assert all(expected_a) and all(expected_b) and expected_a != expected_b

        a = attach(server, port, A_SETTINGS, URI_A)
        b = attach(server, port, B_SETTINGS, URI_B)
        try:
            together_a, together_b = [], []
            for line, character in CURSORS:  # interleaved, request by request
                for session, uri, out in ((b, URI_B, together_b), (a, URI_A, together_a)):
                    items = session.complete(uri, line, character)
                    out.append(items[0].insert_text if items else "")
            assert together_a == expected_a  # greedy, untouched by B's temperature
            assert together_b == expected_b  # B's own seeded sampling, on its own models

            status_a, status_b = (s.run(s.client.status()) for s in (a, b))
            assert status_a["settings"]["temperature"] == 0 and status_b["settings"]["temperature"] == 5
            assert status_a["models"]["dtype"] == "float32" and status_b["models"]["dtype"] == "bfloat16"

            # B asks for models that do not exist: B is told, and keeps its own; A sees nothing of it.
            b.client.configure({"targetModel": str(ROOT / "no such model")})
            b.wait_message("no such model", timeout=60)
            status_a, status_b = (s.run(s.client.status()) for s in (a, b))
            assert status_a["state"] == "ready" and status_a["error"] is None
            assert "no such model" in status_b["error"] and status_b["state"] == "ready"
            assert not any("no such model" in m for m in a.client.messages)
            assert answers(a, URI_A) == expected_a

            # A third editor with A's settings shares A's models: no second load.
            c = attach(server, port, A_SETTINGS, URI_A)
            try:
                status_c = c.run(c.client.status())
                assert status_c["models"]["target"]["loadSeconds"] == status_a["models"]["target"]["loadSeconds"]
                assert status_c["sharedWith"] == 1
                assert answers(c, URI_A) == expected_a
            finally:
                c.close()
        finally:
            a.close()
            b.close()
        assert server.poll() is None
    finally:
        server.kill()
        server.wait()
