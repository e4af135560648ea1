"""`tandem complete FILE --line N --character C`: one completion through the real server
over stdio, printed with its stats."""

from __future__ import annotations

import argparse
import json
import sys
import time

from pygls.exceptions import JsonRpcException

from lsp_server.client import TandemClient


def _fail(message: str, code: int = 2) -> int:
    print(f"tandem complete: {message}", file=sys.stderr)
    return code


def _request_line(last: dict) -> str:
    """What the request did, from the server's per-request record."""
    if last["mode"] == "none":
        return f"no completion here: {last['reason']}"
    generate_ms = last["stageMs"].get("generate", 0.0)
    tokens_per_s = last["newTokens"] / (generate_ms / 1000) if generate_ms else 0
    return (f"{last['mode']}, {last['promptFormat']} prompt of {last['promptTokens']} tokens, "
            f"{last['newTokens']} new tokens ({tokens_per_s:.0f}/s), stop: {last['stopReason']}; "
            f"drafts accepted {last['accepted']}/{last['drafted']}, "
            f"{last['newTokens'] / max(1, last['targetPasses']):.2f} tokens per target pass")


async def run_complete(args: argparse.Namespace, settings: dict) -> int:
    path = args.file
    if not path.is_file():
        return _fail(f"{path} is not a file")
    try:
        text = path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError) as error:
        return _fail(f"cannot read {path} as UTF-8: {error}")
    server_args = ["-v"] * args.verbose + (["--log-file", str(args.log_file)] if args.log_file else [])
    client = TandemClient(server_args, echo_stderr=bool(args.verbose))
    started = time.perf_counter()
    await client.start(settings)
    uri = path.resolve().as_uri()
    client.open(uri, text)
    try:
        items = await client.inline_completion(uri, args.line, args.character)
        error = None
    except JsonRpcException as exc:
        items, error = [], exc.message
    status = await client.status()
    await client.stop()
    wall = time.perf_counter() - started
    for message in client.messages:
        print(message, file=sys.stderr)
    if error:
        return _fail(error)
    if status["state"] == "error":
        return 1 if client.messages else _fail(status["error"] or "models failed to load", 1)
    completion = items[0].insert_text if items else ""
    completion = completion if isinstance(completion, str) else completion.value
    last, models = status["stats"]["last"] or {}, status["models"]
    if args.json:
        print(json.dumps({"completion": completion, "request": last, "models": models,
                          "wallSeconds": round(wall, 3)}, indent=2))
        return 0
    print(f"--- completion at {path}:{args.line}:{args.character} ---")
    print(completion or _why_nothing(last))
    print("---")
    if last:
        print(_request_line(last))
        stages = ", ".join(f"{k} {v:.1f}" for k, v in last["stageMs"].items())
        print(f"request {last['latencyMs']:.0f} ms ({stages} ms)")
    print(_models_line(models) + f"; whole command {wall:.2f} s")

    return 0


def _models_line(models: dict) -> str:
    if models.get("engine") == "remote":  # the team's server decodes (models/remote/)
        remote = models["remote"]
        return f"remote {remote['url']} serving {remote['model']}; tokenizer {models['target']['path']}"
    return (f"target {models['target']['path']} ({models['target']['parameters']:,} params) on "
            f"{models['device']}/{models['dtype']}; load "
            f"{models['target']['loadSeconds'] + models['draft']['loadSeconds']:.2f} s")


def _why_nothing(last: dict) -> str:
    """What the server did when it shows nothing: a model's text that was not valid Python
    is dropped (a missing suggestion costs the user nothing, a broken one their trust)."""
    if last.get("guarded") and last.get("newTokens"):
        candidates = last.get("candidates", 1)
        tried = f" in {candidates} candidates" if candidates > 1 else ""
        return (f"(nothing to suggest here: the model wrote {last['newTokens']} tokens{tried} that did not "
                "leave valid Python, so the server showed nothing)")
    return "(nothing to suggest here)"
