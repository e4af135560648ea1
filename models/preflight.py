"""Before any weights are read: will this pair load, and does it fit?

`ModelPair.load` runs `preflight` and refuses on its first problem; `tandem doctor` runs
the same function and prints every line of it, so what the doctor says is what loading
will check. It reads only small files: config.json, the safetensors headers (a few KB per
file) and the two tokenizers. Torch is touched only to ask a GPU how much memory is free.

Memory needed = weights + KV cache + working memory, at the dtype of the load plan:
- weights: the parameters counted from the safetensors headers (config.json when there
  are none), floating-point tensors at the plan's dtype, others (quantized) as stored;
  on the llama.cpp engine, the parameters at its GGUF weight type's bytes per weight;
- KV cache: what each model's cache holds at its longest, 2 (keys and values) × layers ×
  kv heads × head dim × positions × dtype size. The static and llama.cpp engines
  preallocate min(context window, STATIC_WINDOW) positions (llama.cpp's in float16); the
  growing DynamicCache is counted at KV_TOKENS positions;
- working memory (WORKSPACE_*): a prefill's activations, logits, the loader's staging
  buffers and the allocator's slack.
Free memory is MemAvailable or, in a container, its cgroup's limit minus what it uses
(page cache excluded), whichever is smaller; on a GPU, what the device reports free.
"""

from __future__ import annotations

import json
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path

from models.config import GGUF_BYTES_PER_WEIGHT
from models.errors import ModelError, ModelLoadError, NotEnoughMemoryError, TokenizerMismatchError

GiB = 2**30
BYTES_PER_PARAMETER = {"float32": 4, "bfloat16": 2, "float16": 2}
# safetensors' dtype names and sizes; the floating ones are converted to the load dtype.
SAFETENSORS_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "F8_E4M3": 1, "F8_E5M2": 1,
                     "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}
FLOATING = {"F64", "F32", "F16", "BF16"}
# Positions a growing (DynamicCache) KV cache is counted at: a prompt of twice the default
# contextTokens (1024), its continuation and a draft. A larger budget grows past it.
KV_TOKENS = 2048
# Working memory: 5 % of the weights, at least 512 MiB. A 1k-token prefill of CodeLlama-7B
# in float32 holds ~0.5 GiB of activations (MLP intermediates, attention scores, logits);
# the loader converts one tensor at a time and the allocator keeps some slack.
WORKSPACE_FRACTION = 0.05
WORKSPACE_MIN = 512 * 2**20
# Code that both tokenizers must split into the same ids (indentation, an f-string,
# non-ASCII text and digits: where merges and normalizers differ).
PROBE = 'def greet(name: str) -> str:\n    """Say hello."""\n    return f"héllo, {name}! 42"\n\n\nclass Café:\n\tpass\n'


def gib(n: int) -> str:
    """Bytes for people: GiB with one decimal, MiB below one GiB."""
    return f"{n / GiB:.1f} GiB" if n >= GiB else f"{n / 2**20:.0f} MiB"


@dataclass(frozen=True)
class ModelNeed:
    """What one model needs loaded at one dtype."""
    role: str
    parameters: int
    weights: int   # bytes
    kv_cache: int  # bytes at kv_tokens positions
    kv_tokens: int
    counted_from: str  # "safetensors headers" or "config.json"


@dataclass(frozen=True)
class MemoryCheck:
    device: str  # "cpu", "cuda:0", ...
    dtype: str   # "float32", ...
    needs: tuple[ModelNeed, ...]
    free: int | None  # bytes; None where it cannot be told
    free_source: str
    problem: str | None = None  # why it does not fit and what to do; None when it fits

    @property
    def weights(self) -> int:
        return sum(need.weights for need in self.needs)

    @property
    def kv_cache(self) -> int:
        return sum(need.kv_cache for need in self.needs)

    @property
    def workspace(self) -> int:
        return workspace_bytes(self.weights)

    @property
    def total(self) -> int:
        return self.weights + self.kv_cache + self.workspace

    def describe(self) -> str:
        """One line: what is needed, of what, and what is free."""
        parts = ", ".join(f"{need.role} {gib(need.weights)}" for need in self.needs)
        free = f"{gib(self.free)} free ({self.free_source})" if self.free is not None else \
            f"free memory unknown ({self.free_source})"
        return (f"needs about {gib(self.total)} at {self.dtype} on {self.device} (weights: {parts}; "
                f"KV cache {gib(self.kv_cache)}; working memory {gib(self.workspace)}); {free}")


@dataclass
class Preflight:
    """Everything checked before loading; `problems` in the order loading refuses them."""
    tokenizers: str | None = None  # what the tokenizer check found, when it passed
    target_tokenizer: object | None = None  # kept for the doctor's prompt-family check and for loading
    draft_tokenizer: object | None = None
    memory: MemoryCheck | None = None
    problems: list[ModelError] = field(default_factory=list)

    def raise_first(self) -> None:
        if self.problems:
            raise self.problems[0]


def workspace_bytes(weights: int) -> int:
    return max(WORKSPACE_MIN, int(weights * WORKSPACE_FRACTION))


def preflight(draft_dir: Path, target_dir: Path, device: str, dtype: str, engine: str,
              free: int | None = None, weight_type=None) -> Preflight:
    """Check a pair without reading its weights: checkpoint directories, tokenizer
    compatibility, memory. `free` (bytes) replaces the measured free memory (tests)."""
    from models.loading import check_checkpoint_dir

    result = Preflight()
    usable = True
    for role, path in (("target", target_dir), ("draft", draft_dir)):
        try:
            check_checkpoint_dir(role, path)
        except ModelError as error:
            result.problems.append(error)
            usable = False
    if not usable:
        return result
    try:
        result.target_tokenizer = load_tokenizer("target", target_dir)
        result.draft_tokenizer = load_tokenizer("draft", draft_dir)
        result.tokenizers = check_tokenizers(result.draft_tokenizer, result.target_tokenizer, draft_dir, target_dir)
    except ModelError as error:
        result.problems.append(error)
    result.memory = check_memory(draft_dir, target_dir, device, dtype, engine, free, weight_type)
    if result.memory.problem:
        result.problems.append(NotEnoughMemoryError(result.memory.problem))
    return result


def preflight_plan(draft_dir: Path, target_dir: Path, plan, free: int | None = None) -> Preflight:
    """`preflight` at the device, dtype and engine of a `models.plan.LoadPlan`."""
    placement = plan.placement
    return preflight(draft_dir, target_dir, str(placement.device), str(placement.dtype).removeprefix("torch."),
                     plan.target_engine, free, plan.weight_type)


# -- tokenizers ----------------------------------------------------------------------------
def load_tokenizer(role: str, path: Path):
    """The tokenizer alone (no weights), offline and without remote code."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(path, local_files_only=True, trust_remote_code=False)
    except Exception as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ModelLoadError(f"{role} tokenizer in '{path}' failed to load: {first_line}") from error


def check_tokenizers(draft, target, draft_path: Path, target_path: Path) -> str:
    """The draft must tokenize like the target on every id it has, since both models share
    the continuation's ids: each draft token has the target's id, the draft's embedding has
    no more rows than the target's, code text splits into the same ids, and BOS/EOS agree.
    Returns a one-line summary; raises TokenizerMismatchError naming the first difference."""
    where = f"draft tokenizer ('{draft_path}') does not match the target's ('{target_path}')"
    draft_vocab, target_vocab = draft.get_vocab(), target.get_vocab()
    if len(draft_vocab) > len(target_vocab):
        raise TokenizerMismatchError(
            f"draft tokenizer has {len(draft_vocab)} tokens, more than the target's {len(target_vocab)}; "
            "the draft must share the target's vocabulary")
    by_id = {index: token for token, index in target_vocab.items()}
    # In id order, so that the error names the lowest id that differs (get_vocab()'s order
    # is the backend's hash order, which changes from one load to the next).
    for token, index in sorted(draft_vocab.items(), key=lambda item: item[1]):
        if target_vocab.get(token) != index:
            raise TokenizerMismatchError(f"{where}: id {index} is {token!r} for the draft but "
                                         f"{by_id.get(index)!r} for the target")
    draft_rows, target_rows = _config_vocab(draft_path), _config_vocab(target_path)
    if draft_rows and target_rows and draft_rows > target_rows:
        raise TokenizerMismatchError(f"{where}: the draft's embedding has {draft_rows} rows, more than the "
                                     f"target's {target_rows}")
    draft_ids = draft.encode(PROBE, add_special_tokens=False)
    target_ids = target.encode(PROBE, add_special_tokens=False)
    if draft_ids != target_ids:
        at = next((i for i, (a, b) in enumerate(zip(draft_ids, target_ids)) if a != b),
                  min(len(draft_ids), len(target_ids)))
        raise TokenizerMismatchError(f"{where}: the same code splits differently from token {at} on "
                                     f"(draft {draft_ids[at:at + 4]}, target {target_ids[at:at + 4]})")
    for name in ("bos_token_id", "eos_token_id"):
        ours, theirs = getattr(draft, name, None), getattr(target, name, None)
        if ours is not None and theirs is not None and ours != theirs:
            raise TokenizerMismatchError(f"{where}: {name.removesuffix('_id').upper()} is id {ours} for the "
                                         f"draft but {theirs} for the target")
    return (f"draft matches the target: its {len(draft_vocab)} ids have the target's spellings "
            f"(target {len(target_vocab)}), code splits alike, BOS {target.bos_token_id} / EOS {target.eos_token_id}")


def _config(path: Path) -> dict:
    try:
        return json.loads((path / "config.json").read_text())
    except (OSError, ValueError):
        return {}


def _config_vocab(path: Path) -> int | None:
    value = _text_config(_config(path)).get("vocab_size")
    return int(value) if value else None


def _text_config(config: dict) -> dict:
    return config.get("text_config") or config  # multimodal configs nest the language model's


# -- memory -------------------------------------------------------------------------------
def model_need(role: str, path: Path, dtype: str, engine: str = "transformers",
               weight_type=None) -> ModelNeed:
    """Parameters, weight bytes and KV bytes of the checkpoint in `path` loaded at `dtype`
    (on the llama.cpp engine: at the GGUF type `weight_type(parameters)` names)."""
    size = BYTES_PER_PARAMETER[dtype]
    counted = _count_safetensors(path, size)
    config = _text_config(_config(path))
    if counted is not None:
        parameters, weights, source = *counted, "safetensors headers"
    else:
        parameters, source = _count_from_config(config), "config.json"
        weights = parameters * size
    tokens = kv_tokens(config, engine)
    if engine == "llamacpp" and weight_type is not None:
        weights = int(parameters * GGUF_BYTES_PER_WEIGHT[weight_type(parameters)])
        size = BYTES_PER_PARAMETER["float16"]  # llama.cpp's KV cache
    return ModelNeed(role, parameters, weights, _kv_bytes(config, tokens, size), tokens, source)


def kv_tokens(config: dict, engine: str) -> int:
    window = int(config.get("max_position_embeddings") or KV_TOKENS)
    if engine.startswith("static") or engine == "llamacpp":
        from models.engines.acceleration import STATIC_WINDOW
        return min(window, STATIC_WINDOW)
    return min(window, KV_TOKENS)


def check_memory(draft_dir: Path, target_dir: Path, device: str, dtype: str, engine: str = "transformers",
                 free: int | None = None, weight_type=None) -> MemoryCheck:
    """Whether the pair fits where the plan puts it; when not, what would. `engine` is the
    target's engine of the plan (it decides the KV cache's size); `weight_type` the plan's
    GGUF type for a parameter count, on the llama.cpp engine."""
    needs = (model_need("target", target_dir, dtype, engine, weight_type),
             model_need("draft", draft_dir, dtype, engine, weight_type))
    measured, source = (free, "given") if free is not None else free_memory(device)
    if engine == "llamacpp" and weight_type is not None:
        dtype = "/".join(dict.fromkeys(f"{weight_type(need.parameters)} GGUF" for need in needs))
    check = MemoryCheck(device, dtype, needs, measured, source)
    problem = None
    if measured is not None and check.total > measured:
        problem = _does_not_fit(check, draft_dir, target_dir, engine, weight_type)
    elif device.startswith("cuda") and free is None:
        # Weights are read into host memory, then moved: the larger model passes through it.
        host, host_source = free_memory("cpu")
        largest = max(need.weights for need in needs)
        if host is not None and largest > host:
            problem = (f"the pair's larger model passes through host memory while loading and needs about "
                       f"{gib(largest)} there, {gib(host)} free ({host_source}): close other programs or set "
                       "dtype bfloat16")
    return MemoryCheck(device, dtype, needs, measured, source, problem)


def _does_not_fit(check: MemoryCheck, draft_dir: Path, target_dir: Path, engine: str, weight_type=None) -> str:
    advice = []
    if engine == "llamacpp" and weight_type is not None:
        target = next(need for need in check.needs if need.role == "target")
        for smaller in ("q8_0", "q4_k_m"):  # smaller than what the target has now
            if GGUF_BYTES_PER_WEIGHT[smaller] < GGUF_BYTES_PER_WEIGHT[weight_type(target.parameters)]:
                other = check_memory(draft_dir, target_dir, check.device, "float32", engine, check.free,
                                     lambda parameters, kind=smaller: kind)
                advice.append(f"set weights {smaller} (needs about {gib(other.total)}"
                              f"{', which fits' if other.total <= check.free else ', still too much'})")
    for smaller in ("bfloat16", "float16") if check.dtype == "float32" else ():
        if smaller == "float16" and not check.device.startswith(("cuda", "mps")):
            continue  # on a CPU float16 is no smaller than bfloat16, and slower
        other = check_memory(draft_dir, target_dir, check.device, smaller, engine, free=check.free)
        advice.append(f"set dtype {smaller} (needs about {gib(other.total)}"
                      f"{', which fits' if other.total <= check.free else ', still too much'})")
    draft = next(need.weights for need in check.needs if need.role == "draft")
    advice += [f"use a smaller or quantized target model (the draft alone needs {gib(draft)})",
               "free memory (close other programs, or models other editors loaded)"]
    return (f"the models would not fit, so they are not loaded: the pair (target '{target_dir}', draft "
            f"'{draft_dir}') {check.describe()}. Instead: {'; or '.join(advice)}")


def _count_safetensors(path: Path, size: int) -> tuple[int, int] | None:
    """(parameters, bytes at `size` per floating parameter) from the safetensors headers;
    None when a file cannot be read (config.json counts instead)."""
    parameters = weights = 0
    files = sorted(path.glob("*.safetensors"))
    if not files:
        return None
    for file in files:
        try:
            with file.open("rb") as handle:
                (length,) = struct.unpack("<Q", handle.read(8))
                if not 2 <= length <= 100 * 2**20:
                    return None
                header = json.loads(handle.read(length))
        except (OSError, ValueError, struct.error):
            return None
        for name, tensor in header.items():
            if name == "__metadata__" or not isinstance(tensor, dict):
                continue
            count = 1
            for dim in tensor.get("shape", ()):
                count *= int(dim)
            kind = tensor.get("dtype", "F32")
            parameters += count
            weights += count * (size if kind in FLOATING else SAFETENSORS_BYTES.get(kind, 4))
    return parameters, weights


def _count_from_config(config: dict) -> int:
    """A Llama-family decoder's parameters from its dimensions (0 when they are missing)."""
    try:
        hidden, layers = int(config["hidden_size"]), int(config["num_hidden_layers"])
        vocab, ffn = int(config["vocab_size"]), int(config["intermediate_size"])
    except (KeyError, TypeError, ValueError):
        return 0
    heads = int(config.get("num_attention_heads") or 1)
    head_dim = int(config.get("head_dim") or hidden // heads)
    kv = int(config.get("num_key_value_heads") or heads) * head_dim
    attention = hidden * heads * head_dim * 2 + hidden * kv * 2  # q, o; k, v
    per_layer = attention + 3 * hidden * ffn + 2 * hidden  # + gate/up/down, two norms
    embeddings = vocab * hidden * (1 if config.get("tie_word_embeddings") else 2)
    return embeddings + layers * per_layer + hidden


def _kv_bytes(config: dict, tokens: int, size: int) -> int:
    try:
        hidden, layers = int(config["hidden_size"]), int(config["num_hidden_layers"])
    except (KeyError, TypeError, ValueError):
        return 0
    heads = int(config.get("num_attention_heads") or 1)
    head_dim = int(config.get("head_dim") or hidden // heads)
    kv_heads = int(config.get("num_key_value_heads") or heads)
    return 2 * layers * kv_heads * head_dim * tokens * size


# -- free memory ----------------------------------------------------------------------------
def free_memory(device: str) -> tuple[int | None, str]:
    """(bytes free on `device`, where that number comes from); None when it cannot be told."""
    if device.startswith("cuda"):
        import torch
        free, _ = torch.cuda.mem_get_info(torch.device(device))
        return free, f"{device} free memory"
    return host_free_memory()


def host_free_memory(meminfo: Path = Path("/proc/meminfo"),
                     cgroup: Path = Path("/sys/fs/cgroup")) -> tuple[int | None, str]:
    """The smaller of the kernel's MemAvailable and the room left under the cgroup memory
    limit (a container's), page cache counted as free in both."""
    found: list[tuple[int, str]] = []
    info = _read_keyed(meminfo)
    if "MemAvailable" in info:
        found.append((info["MemAvailable"] * 1024, "MemAvailable"))
    room = _cgroup_room(cgroup)
    if room is not None:
        found.append(room)
    if not found:
        try:
            return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"), "free pages"
        except (ValueError, OSError, AttributeError):
            return None, "not reported on this system"
    return min(found)


def _cgroup_room(v2: Path) -> tuple[int, str] | None:
    """Limit minus usage (v2's memory.max, else v1's memory.limit_in_bytes), inactive page
    cache not counted as used; None where no limit is set."""
    candidates = [(v2 / "memory.max", v2 / "memory.current", v2 / "memory.stat", "inactive_file", "cgroup memory.max"),
                  (v2 / "memory" / "memory.limit_in_bytes", v2 / "memory" / "memory.usage_in_bytes",
                   v2 / "memory" / "memory.stat", "total_inactive_file", "cgroup memory.limit_in_bytes")]
    for limit_file, usage_file, stat_file, inactive_key, name in candidates:
        try:
            limit_text = limit_file.read_text().strip()
            usage = int(usage_file.read_text().strip())
        except (OSError, ValueError):
            continue
        if limit_text == "max" or int(limit_text) >= 2**60:  # no limit set
            continue
        inactive = _read_keyed(stat_file).get(inactive_key, 0)
        return max(0, int(limit_text) - (usage - inactive)), name
    return None


def _read_keyed(path: Path) -> dict[str, int]:
    """`key value` or `key: value kB` lines as ints (kB left as the number given)."""
    values = {}
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return values
    for line in lines:
        parts = line.replace(":", " ").split()
        if len(parts) >= 2 and parts[1].isdigit():
            values[parts[0]] = int(parts[1])
    return values
