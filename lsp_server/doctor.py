"""`tandem doctor`: what this machine offers, which models would be used, and why.

Placement, engines and providers are printed from `models.plan.plan_load`, the plan that
loading follows, and the tokenizers' compatibility and the memory needed from
`models.preflight`, the checks loading runs before reading any weights: the doctor never
works them out on its own, and it exits non-zero where loading would refuse. The prompt
family is the one `completion.formats.choose_format` finds in the target's vocabulary.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path


def _line(label: str, value: str) -> None:
    print(f"{label:<18} {value}")


def run_doctor(settings: dict) -> int:
    import torch

    from models.config import PairSpec
    from models.embedded import resolve_model_dirs
    from models.engines.onnx_backend import NPU_PROVIDER, available_providers
    from models.errors import ModelError
    from models.loading import check_checkpoint_dir
    from models.plan import plan_load

    _line("python", platform.python_version())
    _line("torch", f"{torch.__version__} (CUDA {torch.version.cuda}, ROCm {torch.version.hip})")
    _line("cuda devices", ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
          or "none")
    mps = getattr(torch.backends, "mps", None)
    _line("mps", "available" if mps is not None and mps.is_available() else "not available")
    providers = available_providers()
    if providers:
        import onnxruntime
        _line("onnxruntime", f"{onnxruntime.__version__}: {', '.join(providers)}"
              + ("" if NPU_PROVIDER in providers else f" (no {NPU_PROVIDER}: the Ryzen AI NPU is not usable)"))
    else:
        _line("onnxruntime", "not installed (needed for engine onnx and the Ryzen AI NPU: "
              "pip install 'tandem-code[onnx]', or AMD's Ryzen AI software for the NPU)")
    ok = True
    plan = None
    _line("llama.cpp", _llamacpp_version() or "not installed (needed for engine llamacpp: pip install "
          "'tandem-code[llamacpp]' or `make llamacpp`, which compile llama.cpp)")
    spec = PairSpec(settings.get("draftModel", ""), settings.get("targetModel", ""), settings.get("device", "auto"),
                    settings.get("dtype", "auto"), settings.get("engine", "auto"), settings.get("weights", "auto"),
                    settings.get("remoteUrl", ""), settings.get("remoteModel", ""), settings.get("remoteKeyFile", ""))
    if spec.remote_url:
        return _check_remote(spec)
    try:
        plan = plan_load(spec)
        if plan.providers is not None:
            chosen, why = plan.providers
            _line("onnx providers", f"{', '.join(chosen)} ({why})")
        placement = plan.placement
        _line("placement", f"{placement.device} / {str(placement.dtype).removeprefix('torch.')} ({placement.reason})")
        _line("engine", f"{plan.describe_engines()} ({plan.engine_reason})")
    except ModelError as error:  # DeviceError included: a device or provider that is missing
        ok = False
        _line("placement", f"unusable: {error}")
    draft, target = resolve_model_dirs(spec.draft, spec.target)
    found = True
    for role, path in (("draft", draft), ("target", target)):
        try:
            check_checkpoint_dir(role, path)
            _line(f"{role} model", f"{path} (looks like a checkpoint)")
        except ModelError as error:
            ok = found = False
            _line(f"{role} model", str(error))
    if not found:
        return 1
    return 0 if _check_pair(draft, target, plan, settings) and ok else 1


def _check_remote(spec) -> int:
    """The remote engine: what loading it asks the server, one line each (the key never shown)."""
    from models.errors import ModelError
    from models.remote.engine import KEY_VARIABLE, RemotePair

    _line("engine", f"remote: {spec.remote_url} decodes; this side keeps prompts, stop rules and the editors")
    _line("api key", f"from {spec.remote_key_file}" if spec.remote_key_file else
          f"from ${KEY_VARIABLE}" if os.environ.get(KEY_VARIABLE) else f"none (${KEY_VARIABLE} is not set)")
    try:
        remote = RemotePair.load(spec)
    except ModelError as error:
        _line("remote server", str(error))
        return 1
    _line("remote model", f"{remote.facts.model}, {remote.context_window} positions")
    _line("tokenizer", f"{remote.tokenizer_dir}" + (f" ({'; '.join(remote.warnings)})" if remote.warnings
                                                     else " (splits text as the server does)"))
    return 0


def _llamacpp_version() -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    from models.engines.llamacpp_backend import available
    if not available():
        return None
    try:
        return f"llama-cpp-python {version('llama_cpp_python')}"
    except PackageNotFoundError:
        return "llama_cpp (version unknown)"


def _check_pair(draft, target, plan, settings: dict) -> bool:
    """What ModelPair.load checks before reading weights (models.preflight), plus the prompt
    family; one line each. False when any fails."""
    from models.errors import ModelError, NotEnoughMemoryError
    from models.preflight import check_tokenizers, load_tokenizer, preflight_plan

    ok, memory, summary = True, None, "draft matches the target"
    if plan is not None:
        checked = preflight_plan(draft, target, plan)
        tokenizer, failures, memory = checked.target_tokenizer, checked.problems, checked.memory
        summary = checked.tokenizers
    else:  # no placement to size memory for; the tokenizers can still be compared
        failures, tokenizer = [], None
        try:
            tokenizer = load_tokenizer("target", target)
            check_tokenizers(load_tokenizer("draft", draft), tokenizer, draft, target)
        except ModelError as error:
            failures.append(error)
    failure = next((f for f in failures if not isinstance(f, NotEnoughMemoryError)), None)
    if failure is not None:
        ok = False
        _line("tokenizers", f"FAIL: {failure}")
    else:
        _line("tokenizers", f"ok: {summary}")
    if tokenizer is not None:
        try:
            _line("prompt family", _family(tokenizer, settings.get("promptFormat", "auto")))
        except ValueError as error:
            ok = False
            _line("prompt family", f"FAIL: {error}")
    if memory is not None:
        ok = ok and memory.problem is None
        _line("memory", f"FAIL: {memory.problem}" if memory.problem else f"ok: {memory.describe()}")
    return ok


def _as_the_server_sees_it(tokenizer):
    """The target's tokenizer behind the server's own `ModelPair` (its token_id, bos_id and
    encode, which `completion.formats` calls), without weights: the family and any text the
    doctor encodes go through exactly the server's path. The pair also keeps a buffer that
    spells a tokenizer's fill token (CodeLlama's "<FILL_ME>") as text, where the raw
    tokenizer would split it into an infilling prompt."""
    from models.loading import LoadedModel
    from models.pair import ModelPair

    rows = len(tokenizer)
    target = LoadedModel("target", Path(getattr(tokenizer, "name_or_path", "") or "."), model=None,
                         tokenizer=tokenizer, placement=None, vocab_size=rows, context_window=0, load_seconds=0.0)
    return ModelPair(target, target)


def _family(tokenizer, requested: str) -> str:
    """The prompt family the server will use, and why; ValueError for an unknown name."""
    from completion.formats import choose_format

    choice = choose_format(_as_the_server_sees_it(tokenizer), requested)
    how = f"promptFormat {requested}"
    if choice.warning:
        return f"{choice.name} ({how}: {choice.warning})"
    if not choice.is_fim:
        found = "" if requested == "plain" else ": the target's vocabulary has no fill-in-the-middle tokens"
        return f"plain left context ({how}{found})"
    tokens = ", ".join(choice.family.fim_tokens)
    layout = "suffix first" if choice.family.suffix_first else "prefix, suffix, middle"
    return f"{choice.name} ({how}: the target has {tokens}; {layout})"
