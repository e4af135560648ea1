"""The `tandem` settings section: one typed, fully defaulted model, camelCase on the wire.

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
from models.pair import DecodingConfig

DEVICE_PATTERN = r"auto|cpu|cuda|cuda:\d+|mps|npu"


class TandemSettings(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True,
                              extra="ignore")

    draft_model: str = Field("", description="Draft checkpoint directory; empty = embedded draft")
    target_model: str = Field("", description="Target checkpoint directory; empty = embedded target")
    device: str = "auto"
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    engine: Literal["auto", "transformers", "static", "onnx"] = "auto"
    prompt_format: str = "auto"
    max_new_tokens: int = Field(64, ge=1, le=2048)
    draft_tokens: int | Literal["auto"] = "auto"
    draft_source: Literal["model", "lookup", "combined"] = "combined"
    temperature: float = Field(0.0, ge=0.0, le=5.0)
    top_k: int = Field(0, ge=0)
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    multiline: Literal["auto", "always", "never"] = "auto"
    context_tokens: int = Field(1024, ge=64, le=131072)
    debounce_ms: int = Field(0, ge=0, le=5000)
    time_budget_ms: int = Field(1000, ge=0, le=60000)
    # Off shows the model's text as generated, up to its end token or maxNewTokens, with no
    # stop rules, post-processing or syntax guard: the evaluation's ablation, not for daily use.
    postprocess: bool = True
    seed: int | None = Field(None, ge=0, description="sampling seed per request; empty = fresh randomness")

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
        if isinstance(value, int) and not 0 <= value <= 32:
            raise ValueError("must be 'auto' or a number from 0 to 32")
        return value

    def decoding_config(self) -> DecodingConfig:
        return DecodingConfig(draft_tokens=self.draft_tokens,
                              proposer="draft" if self.draft_source == "model" else self.draft_source,
                              temperature=self.temperature, top_k=self.top_k, top_p=self.top_p,
                              seed=self.seed)

    def completion_options(self) -> CompletionOptions:
        return CompletionOptions(max_new_tokens=self.max_new_tokens, context_tokens=self.context_tokens,
                                 multiline=self.multiline, prompt_format=self.prompt_format,
                                 time_budget_ms=self.time_budget_ms, postprocess=self.postprocess)


def parse_settings(raw: Any, previous: TandemSettings | None = None) -> tuple[TandemSettings, list[str]]:
    """Settings from a client payload; problems come back as messages, never exceptions.

    `raw` may be the `tandem` section itself or an object holding it under "tandem".
    """
    base = previous or TandemSettings()
    if raw is None:
        return base, []
    if isinstance(raw, dict) and isinstance(raw.get("tandem"), dict):
        raw = raw["tandem"]
    if not isinstance(raw, dict):
        return base, [f"settings must be an object, got {type(raw).__name__}; keeping the previous settings"]
    values, problems = base.model_dump(), []
    aliases = {field.alias: name for name, field in TandemSettings.model_fields.items()}
    for key, value in raw.items():
        name = aliases.get(key, key if key in TandemSettings.model_fields else None)
        if name is None:
            problems.append(f"unknown setting tandem.{key} ignored")
            continue
        try:
            checked = TandemSettings.model_validate({**base.model_dump(), name: value})
        except ValidationError as error:
            reason = error.errors()[0]["msg"]
            problems.append(f"tandem.{TandemSettings.model_fields[name].alias} = {value!r} "
                            f"is invalid ({reason}); keeping {getattr(base, name)!r}")
            continue
        values[name] = getattr(checked, name)
    return TandemSettings(**values), problems
