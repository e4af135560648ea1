"""The `tandem` settings section: the one schema of every setting, camelCase on the wire.

`TandemSettings` is the single source. The VS Code extension's `contributes.configuration`
and the keys it forwards, the CLI's setting flags, the Neovim help's list, the README's
table and the dev-container entrypoint's variables are generated from it or checked
against it by `tests/lsp_server/test_settings_schema.py`.

Parsed at `initialize` and on `workspace/didChangeConfiguration`. Each field is checked on
its own, so one bad value is reported and replaced by the previous (or default) value
without throwing away the good ones.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.alias_generators import to_camel

from completion.formats import PROMPT_FORMATS
from completion.service import CompletionOptions
from models.config import MAX_DRAFT_TOKENS, DecodingConfig, PairSpec

DEVICE_PATTERN = r"auto|cpu|cuda|cuda:\d+|mps|npu"

MAX_NAMED_UNKNOWN = 5  # unknown keys named in the one message about them

# Which settings choose the models: connections share loaded models only when these are equal.
MODEL_SETTINGS = ("draft_model", "target_model", "device", "dtype", "engine", "weights", "remote_url",
                  "remote_model", "remote_key_file")


class TandemSettings(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True,
                              extra="ignore")

    draft_model: str = Field("", description="draft checkpoint directory; empty = the embedded draft")
    target_model: str = Field("", description="target checkpoint directory; empty = the embedded target")
    device: str = Field("auto", description="`auto`, `cpu`, `cuda`, `cuda:N`, `mps`, `npu`",
                        json_schema_extra={"pattern": f"^({DEVICE_PATTERN})$"})
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field(
        "auto", description="weights' dtype; `auto` = bfloat16/float16 on a GPU, float32 on a CPU")
    engine: Literal["auto", "transformers", "static", "onnx", "llamacpp"] = Field(
        "auto", description="how the models run: `auto` (static KV caches and the draft's CUDA graphs on a GPU, "
                            "llama.cpp on a CPU where llama-cpp-python is installed and dtype is `auto`/`float32`, "
                            "else transformers), "
                            "`transformers`, `static`, `onnx` (ONNX Runtime; "
                            "`device: npu` implies it), `llamacpp` (llama.cpp on the CPU, GGUF weights; needs "
                            "llama-cpp-python); see the README's \"Accelerators\"")
    weights: Literal["auto", "f32", "f16", "q8_0", "q4_0", "q4_k_m"] = Field(
        "auto", description="the llama.cpp engine's weight type: `auto` = `f32` below 1B parameters, `q8_0` "
                            "above; `q4_0`/`q4_k_m` take a quarter of f16's memory, at some quality cost")
    remote_url: str = Field(
        "", description="an OpenAI-compatible server (vLLM) that decodes instead of local models, e.g. "
                        "`http://gpu-box:8000`; empty = local models. `targetModel` then names the served "
                        "model's tokenizer folder; see the README's \"Team server\"",
        json_schema_extra={"pattern": r"^(|https?://\S+)$"})
    remote_model: str = Field("", description="the served model's name on `remoteUrl`; empty = the only one it serves")
    remote_key_file: str = Field(
        "", description="a file holding `remoteUrl`'s API key; empty = the TANDEM_REMOTE_KEY environment variable "
                        "(the key itself is never a setting, and never logged or shown)")
    prompt_format: str = Field(
        "auto", description="fill-in-the-middle layout: `auto` (from the tokenizer's special tokens) or a family; "
                            "one the tokenizer cannot do falls back to `plain` with a message",
        json_schema_extra={"enum": list(PROMPT_FORMATS)})
    max_new_tokens: int = Field(64, ge=1, le=2048, description="tokens generated at most per completion")
    draft_tokens: int | Literal["auto"] = Field(
        "auto", description=f"draft length per round: `0` = target alone, `1`..`{MAX_DRAFT_TOKENS}` = fixed, "
                            "`auto` = chosen each round from measured acceptance and cost")
    draft_source: Literal["model", "lookup", "combined"] = Field(
        "combined", description="where drafts come from: `model` (the draft model), `lookup` (n-gram match in "
                                "the prompt), `combined` (lookup when it matches, else the model)")
    temperature: float = Field(0.0, ge=0.0, le=5.0,
                               description="0 = greedy; above 0, sampling with the target's exact distribution")
    top_k: int = Field(0, ge=0, description="sampling filter, applied alike to target and draft (0 = off)")
    top_p: float = Field(1.0, gt=0.0, le=1.0, description="sampling filter, applied alike to target and draft (1 = off)")
    multiline: Literal["auto", "always", "never"] = Field(
        "auto", description="`auto` (a block on an empty line, the rest of the line mid-statement), "
                            "`always`, `never`")
    context_tokens: int = Field(1024, ge=64, le=131072,
                                description="prompt budget in tokens (also capped by the target's window minus "
                                            "`maxNewTokens`)")
    debounce_ms: int = Field(0, ge=0, le=5000,
                             description="wait before generating; a newer request for the document wins")
    time_budget_ms: int = Field(1000, ge=0, le=60000,
                                description="generation stops then and shows what is complete; 0 = no limit")
    seed: int | None = Field(None, ge=0, description="sampling seed for every request; null = fresh randomness. "
                                                     "A sampled completion repeats exactly with a fixed "
                                                     "`draftTokens` (under `auto` the draft length follows "
                                                     "measured times, and another length draws other tokens "
                                                     "from the same distribution)")
    postprocess: bool = Field(True, description="`false` shows the model's raw text up to its end token or "
                                                "`maxNewTokens`, with no stop rules, post-processing or syntax "
                                                "guard: for evaluation, not daily use")

    @field_validator("prompt_format")
    @classmethod
    def _known_format(cls, value: str) -> str:
        if value not in PROMPT_FORMATS:
            raise ValueError(f"must be one of {', '.join(PROMPT_FORMATS)}")
        return value

    @field_validator("device")
    @classmethod
    def _known_device(cls, value: str) -> str:
        if not re.fullmatch(DEVICE_PATTERN, value):
            raise ValueError("must be auto, cpu, cuda, cuda:N, mps or npu")
        return value

    @field_validator("draft_tokens")
    @classmethod
    def _draft_range(cls, value: int | str) -> int | str:
        if isinstance(value, int) and not 0 <= value <= MAX_DRAFT_TOKENS:
            raise ValueError(f"must be 'auto' or a number from 0 to {MAX_DRAFT_TOKENS}")
        return value

    @field_validator("remote_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if value and not re.fullmatch(r"https?://\S+", value):
            raise ValueError("must be empty or an http:// or https:// address, e.g. http://gpu-box:8000")
        return value

    def pair_spec(self) -> PairSpec:
        return PairSpec(self.draft_model, self.target_model, self.device, self.dtype, self.engine, self.weights,
                        self.remote_url, self.remote_model, self.remote_key_file)

    def decoding_config(self) -> DecodingConfig:
        return DecodingConfig(draft_tokens=self.draft_tokens, source=self.draft_source,
                              temperature=self.temperature, top_k=self.top_k, top_p=self.top_p, seed=self.seed)

    def completion_options(self) -> CompletionOptions:
        return CompletionOptions(max_new_tokens=self.max_new_tokens, context_tokens=self.context_tokens,
                                 multiline=self.multiline, prompt_format=self.prompt_format,
                                 time_budget_ms=self.time_budget_ms, postprocess=self.postprocess,
                                 decoding=self.decoding_config())


def setting_fields() -> dict[str, dict]:
    """Every setting's wire name → its JSON schema (type, default, enum, bounds, description):
    what generated files and documentation are built from."""
    schema = TandemSettings.model_json_schema(by_alias=True)["properties"]
    return {TandemSettings.model_fields[name].alias: schema[TandemSettings.model_fields[name].alias]
            for name in TandemSettings.model_fields}


def parse_settings(raw: Any, previous: TandemSettings | None = None,
                   starting: TandemSettings | None = None) -> tuple[TandemSettings, list[str]]:
    """Settings from a client payload; problems come back as messages, never exceptions.

    `raw` may be the `tandem` section itself or an object holding it under "tandem". A key
    given as null is one the editor leaves unset: it takes the server's `starting` value
    (its command-line flags, e.g. a dev container's TANDEM_* variables; else the default),
    so an editor that sends every key it declares does not undo the server's own choices.
    """
    base = previous or TandemSettings()
    reset = starting or TandemSettings()
    if raw is None:
        return base, []
    if isinstance(raw, dict) and isinstance(raw.get("tandem"), dict):
        raw = raw["tandem"]
    if not isinstance(raw, dict):
        return base, [f"settings must be an object, got {type(raw).__name__}; keeping the previous settings"]
    values, problems, unknown = base.model_dump(), [], []
    aliases = {field.alias: name for name, field in TandemSettings.model_fields.items()}
    for key, value in raw.items():
        name = aliases.get(key, key if key in TandemSettings.model_fields else None)
        if name is None:
            unknown.append(key)
            continue
        if value is None:
            values[name] = getattr(reset, name)
            continue
        try:
            checked = TandemSettings.model_validate({**base.model_dump(), name: value})
        except ValidationError as error:
            reason = error.errors()[0]["msg"]
            problems.append(f"tandem.{TandemSettings.model_fields[name].alias} = {value!r} "
                            f"is invalid ({reason}); keeping {getattr(base, name)!r}")
            continue
        values[name] = getattr(checked, name)
    if unknown:  # one message however many: a client that sends its whole config is told once
        shown = ", ".join(f"tandem.{key}" for key in unknown[:MAX_NAMED_UNKNOWN])
        more = f" and {len(unknown) - MAX_NAMED_UNKNOWN} more" if len(unknown) > MAX_NAMED_UNKNOWN else ""
        problems.insert(0, f"unknown setting{'s' if len(unknown) > 1 else ''} {shown}{more} ignored")
    return TandemSettings(**values), problems
