"""A tiny OpenAI-style HTTP server for the remote engine's unit tests: it answers as a test
tells it to (slowly, wrongly, in odd chunks) and records whether its client hung up."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from models.embedded import EMBEDDED_TARGET
from transformers import AutoTokenizer

TOKENIZER = AutoTokenizer.from_pretrained(EMBEDDED_TARGET)


class FakeServer:
    """`completions(handler, body)` writes the answer to /v1/completions; /v1/models and
    /tokenize answer as vLLM would for the embedded target, as "embedded"."""

    def __init__(self, completions, key: str | None = None):
        self.completions, self.key = completions, key
        self.hung_up = threading.Event()  # a streamed answer found its client gone
        self.bodies: list[dict] = []
        self.metrics: str | None = None  # /metrics' Prometheus text; None: no such route
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                self._route()

            def do_POST(self):
                self._route()

            def _route(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if fake.key and self.headers.get("Authorization") != f"Bearer {fake.key}":
                    return self.answer(401, {"error": {"message": "Unauthorized"}})
                if self.path == "/v1/models":
                    return self.answer(200, {"data": [{"id": "embedded", "max_model_len": 512}]})
                if self.path == "/tokenize":
                    ids = TOKENIZER.encode(body["prompt"], add_special_tokens=False)
                    return self.answer(200, {"tokens": ids, "count": len(ids)})
                if self.path == "/metrics" and fake.metrics is not None:
                    data = fake.metrics.encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "text/plain; version=0.0.4")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    return self.wfile.write(data)
                if self.path == "/v1/completions":
                    fake.bodies.append(body)
                    return fake.completions(self, body)
                return self.answer(404, {"error": {"message": "no such route"}})

            def answer(self, status: int, payload: dict):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def start_stream(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()

            def chunk(self, data: bytes) -> bool:
                """One chunk; False once the client has gone."""
                try:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                    self.wfile.flush()
                    return True
                except OSError:
                    fake.hung_up.set()
                    return False

            def event(self, token_ids: list[int], finish: str | None = None) -> bool:
                payload = {"choices": [{"index": 0, "text": "", "token_ids": token_ids, "finish_reason": finish}]}
                return self.chunk(b"data: " + json.dumps(payload).encode() + b"\n\n")

            def trickle(self, token: int, seconds: float) -> None:
                """One token every 20 ms for `seconds` (then the end of the answer), until the
                client hangs up."""
                self.start_stream()
                until = time.monotonic() + seconds
                while time.monotonic() < until:
                    if not self.event([token]):
                        return
                    time.sleep(0.02)
                self.event([], finish="length") and self.chunk(b"")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
