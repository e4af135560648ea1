"""`tandem bench <suite>`: benchmark commands that print tables (never timed tests)."""

from __future__ import annotations

import argparse
import sys


def run_bench(args: argparse.Namespace, settings: dict) -> int:
    if args.suite == "gpu":  # random weights with the real shapes: no checkpoints needed
        from models.benchmarks.gpu import main
        return main(settings.get("dtype") or "bfloat16")
    if args.suite == "eval":  # through its own server (or --direct): the models load there
        from lsp_server.evaluation.command import run_eval
        return run_eval(args, settings)
    if args.suite == "latency":  # the server under test loads the models itself
        import asyncio
        from pathlib import Path

        from lsp_server.latency_bench import run
        server_args = [arg for option, value in (("--draft-model", settings.get("draftModel")),
                                                 ("--target-model", settings.get("targetModel")),
                                                 ("--device", settings.get("device")),
                                                 ("--dtype", settings.get("dtype")),
                                                 ("--engine", settings.get("engine"))) if value
                       for arg in (option, value)]
        return asyncio.run(run(server_args, {}, args.functions, args.seed, Path(args.png)))
    import torch

    from models.errors import ModelError
    from models.pair import ModelPair, PairSpec

    from transformers.utils import logging as transformers_logging

    transformers_logging.set_verbosity_error()  # deprecation chatter would bury the table
    if args.threads:
        torch.set_num_threads(args.threads)
    engine = settings.get("engine", "auto")
    if args.suite == "engine":  # its baselines are transformers' generate(): both sides on that engine
        if engine not in ("auto", "transformers"):
            print(f"tandem bench engine compares against transformers' generate() and runs on the transformers "
                  f"engine; --engine {engine} is measured by `tandem bench latency --engine {engine}`", file=sys.stderr)
            return 2
        engine = "transformers"
    spec = PairSpec(settings.get("draftModel", ""), settings.get("targetModel", ""),
                    settings.get("device", "auto"), settings.get("dtype", "float32"), engine)
    try:
        pair = ModelPair.load(spec)
    except ModelError as error:
        print(f"tandem bench: {error}", file=sys.stderr)
        return 2
    if args.suite == "engine":
        from models.benchmarks.engine import main
        return main(pair, args.prompts, args.new_tokens, args.k)
    if args.suite == "context":
        from completion.benchmarks.context import main
        return main(pair, args.samples)
    return 2
