"""The completion pipeline: context → syntax → mode → prompt → generate → finish.

Each stage is a pure function of plain values; this class only runs them in order and
times them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from completion.cursor import cursor_context
from completion.generator import Generator
from completion.mode import SINGLE_LINE, decide_mode
from completion.prompt import build_prompt
from completion.stops import StopRule
from completion.syntax import syntax_at

DRAFT_HEADROOM = 16  # positions kept free for draft tokens that may be rolled back


@dataclass(frozen=True)
class CompletionOptions:
    max_new_tokens: int = 64
    context_tokens: int = 1024
    multiline: str = "auto"       # auto | always | never
    prompt_format: str = "auto"


@dataclass(frozen=True)
class CompletionRequest:
    text: str
    offset: int  # cursor, in code points, already validated against `text`
    options: CompletionOptions = CompletionOptions()


@dataclass(frozen=True)
class CompletionResult:
    text: str                 # to insert at the cursor; empty when there is nothing to show
    mode: str
    prompt_format: str
    prompt_tokens: int
    new_tokens: int
    stop_reason: str
    syntax_error: bool
    drafted: int = 0
    accepted: int = 0
    target_passes: int = 0
    stage_ms: dict[str, float] = field(default_factory=dict)

    @property
    def total_ms(self) -> float:
        return sum(self.stage_ms.values())


class CompletionService:
    def __init__(self, generator: Generator):
        self.generator = generator

    def prompt_budget(self, options: CompletionOptions, window: int | None = None) -> int:
        """Prompt tokens allowed: the setting, within what the model's window leaves (the
        draft also needs room for the tokens it drafts beyond the accepted ones)."""
        window = self.generator.context_window if window is None else window
        return max(16, min(options.context_tokens, window - options.max_new_tokens - DRAFT_HEADROOM))

    def complete(self, request: CompletionRequest,
                 is_cancelled: Callable[[], bool] = lambda: False) -> CompletionResult:
        options, stage_ms = request.options, {}
        clock = time.perf_counter()

        def lap(stage: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            stage_ms[stage] = round((now - clock) * 1000, 2)
            clock = now

        context = cursor_context(request.text, request.offset)
        syntax = syntax_at(request.text, context.prefix)
        mode = decide_mode(context, syntax, options.multiline)
        lap("context")
        prompt = build_prompt(self.generator, context, options.prompt_format, self.prompt_budget(options),
                              self.prompt_budget(options, self.generator.draft_context_window))
        rule = StopRule(mode, context)
        lap("prompt")
        # Asked for a suggestion here, "nothing" is never the answer worth showing: a weak
        # or unsure model must not end the infill before its first token.
        generation = self.generator.generate(prompt.ids, options.max_new_tokens, prompt.end_ids,
                                             rule.should_stop, is_cancelled, prompt.draft_ids,
                                             min_new_tokens=1)
        lap("generate")
        text = rule.finish(generation.text, generation.stats.stop_reason == "max-tokens")
        if mode == SINGLE_LINE:
            text = drop_line_suffix_overlap(text, context.line_suffix)
        lap("finish")
        return CompletionResult(
            text=text, mode=mode, prompt_format=prompt.format, prompt_tokens=len(prompt.ids),
            new_tokens=generation.stats.new_tokens, stop_reason=generation.stats.stop_reason,
            syntax_error=syntax.has_error, drafted=generation.stats.drafted,
            accepted=generation.stats.accepted, target_passes=generation.stats.target_passes,
            stage_ms=stage_ms,
        )


def drop_line_suffix_overlap(text: str, line_suffix: str) -> str:
    """A single-line completion that ends with the text already right of the cursor (an
    auto-closed bracket, say) must not insert it twice."""
    tail = line_suffix.strip()
    if tail and text.rstrip().endswith(tail):
        return text.rstrip()[: -len(tail)]
    return text
