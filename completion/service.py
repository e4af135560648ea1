"""The completion pipeline, in named stages:

  parse     the document's tree (the server's incremental one, or a fresh parse)
  decide    complete here? the rest of the line or a block?
  context   suffix, cross-file snippets, prefix window within the token budget
  prompt    the target family's layout, and the draft's left-context prompt
  generate  the model, with the stop rule called as tokens arrive
  finish    stop-rule cut, post-processing, validity (CPython's parser, then tree-sitter's)

Each stage is a function of plain values; this class runs them in order and times them.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from completion.crossfile import OpenDocument, imported_snippets
from completion.brackets import open_quote
from completion.context import build_context
from completion.cursor import cursor_context
from completion.decide import Mode, decide
from completion.documents import DocumentTree, byte_offset, encode_source
from completion.formats import choose_format, encode_suffix
from completion.guard import guard
from completion.postprocess import indent_unit, postprocess
from completion.prompt import build_prompt
from completion.stops import StopRule
from completion.syntax import parse, syntax_at_tree
from completion.validity import keep_valid
from models.config import MAX_DRAFT_TOKENS, DecodingConfig
from models.records import DecodeStats, StopReason

# Positions kept free beyond the new tokens: the longest draft, which may be rolled back,
# and the token it is verified with.
DRAFT_HEADROOM = MAX_DRAFT_TOKENS + 1
# Generations per request at most: when nothing of one can be shown (invalid Python, a loop,
# the suffix again), the next starts with another first token. Each costs a generation.
MAX_CANDIDATES = 3

log = logging.getLogger(__name__)


class TimeBudget:
    """A stop rule with a deadline: generation ends at the first token after it. The model
    gets the same deadline and also checks it between the chunks of its prefills."""

    def __init__(self, deadline: float | None, should_stop: Callable[[str], bool]):
        self.deadline = deadline  # time.perf_counter() seconds; None: no budget
        self._should_stop = should_stop
        self.expired = False

    def should_stop(self, text: str) -> bool:
        if self._should_stop(text):
            return True
        if self.deadline is not None and time.perf_counter() >= self.deadline:
            self.expired = True
        return self.expired


@dataclass(frozen=True)
class CompletionOptions:
    max_new_tokens: int = 64
    context_tokens: int = 1024
    multiline: str = "auto"       # auto | always | never
    prompt_format: str = "auto"
    time_budget_ms: int = 0       # 0 = none; else the whole request's: it stops then and shows whole lines
    postprocess: bool = True      # False: the raw generation (no stop rules, no finish stage)
    decoding: DecodingConfig = DecodingConfig()  # this request's own: never another editor's


@dataclass(frozen=True)
class CompletionRequest:
    text: str
    offset: int  # cursor, in code points, already validated against `text`
    options: CompletionOptions = CompletionOptions()
    uri: str = ""
    document: DocumentTree | None = None       # the server's snapshot of `text`, with its tree
    others: Sequence[OpenDocument] = ()        # other open documents, for cross-file context


@dataclass(frozen=True)
class CompletionResult:
    text: str                 # to insert at the cursor; empty when there is nothing to show
    mode: Mode
    reason: str               # why this mode (or why no completion)
    decode: DecodeStats = DecodeStats()  # the model's counters; all 0 when it did not run
    prompt_format: str = ""
    syntax_error: bool = False
    replace_chars: int = 0    # code points right of the cursor the text replaces
    snippets: tuple[str, ...] = ()  # cross-file definitions in the prompt
    guarded: bool = False           # the validity checks cut the text shorter, or dropped it all
    candidates: int = 0             # generations run (more than one when earlier ones showed nothing)
    warnings: tuple[str, ...] = ()  # for the user (e.g. a promptFormat this model cannot do)
    stage_ms: dict[str, float] = field(default_factory=dict)

    @property
    def stop_reason(self) -> StopReason:
        return self.decode.stop_reason

    @property
    def total_ms(self) -> float:
        return sum(self.stage_ms.values())

    def summary(self) -> dict:
        """The one camelCase record of this request: the log line, `tandem/status`'s `last`,
        `tandem complete` and the evaluation all read it."""
        return {"mode": str(self.mode), "reason": self.reason, "promptFormat": self.prompt_format,
                **self.decode.summary(), "syntaxError": self.syntax_error, "snippets": list(self.snippets),
                "guarded": self.guarded, "candidates": self.candidates, "stageMs": dict(self.stage_ms)}


class CompletionService:
    def __init__(self, generator):
        self.generator = generator  # completion.generator.Generator

    def prompt_budget(self, options: CompletionOptions, window: int | None = None) -> int:
        """Prompt tokens allowed: the setting, within what the model's window leaves (the
        draft also needs room for the tokens it drafts beyond the accepted ones)."""
        window = self.generator.context_window if window is None else window
        return max(16, min(options.context_tokens, window - options.max_new_tokens - DRAFT_HEADROOM))

    def complete(self, request: CompletionRequest,
                 is_cancelled: Callable[[], bool] = lambda: False) -> CompletionResult:
        options, stage_ms = request.options, {}
        clock = time.perf_counter()
        # The budget is the request's, every stage counted: parsing and context building
        # too, and the model's prefills (which check it between chunks).
        deadline = clock + options.time_budget_ms / 1000 if options.time_budget_ms else None

        def lap(stage: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            stage_ms[stage] = round(stage_ms.get(stage, 0) + (now - clock) * 1000, 2)  # summed over candidates
            clock = now

        document = request.document
        if document is not None and document.skipped_reason:
            return CompletionResult("", Mode.NONE, document.skipped_reason, stage_ms=stage_ms)
        if document is not None and document.text == request.text and document.tree is not None:
            source, tree = document.source, document.tree
        else:
            source = encode_source(request.text)
            tree = parse(source)
        lap("parse")

        context = cursor_context(request.text, request.offset)
        cursor = byte_offset(request.text, request.offset)
        syntax = syntax_at_tree(tree, source, cursor)
        decision = decide(context, syntax, options.multiline)
        lap("decide")
        if not decision.complete:
            return CompletionResult("", Mode.NONE, decision.reason, syntax_error=syntax.has_error,
                                    stage_ms=stage_ms)

        generator = self.generator
        choice = choose_format(generator, options.prompt_format)
        continuation = lambda text: encode_suffix(choice, generator, text)  # noqa: E731
        snippets = imported_snippets(tree, request.uri, request.others) if request.others else []
        header_offsets = [len(source[:h.start_byte].decode("utf-8", "surrogatepass")) for h in syntax.enclosing]
        window = build_context(context.prefix, context.suffix, self.prompt_budget(options) - choice.reserved,
                               generator.encode, continuation, syntax.enclosing, header_offsets, snippets,
                               use_suffix=choice.is_fim)
        lap("context")
        draft_budget = self.prompt_budget(options, generator.draft_context_window)
        prompt = build_prompt(choice, window, draft_budget)
        if log.isEnabledFor(logging.DEBUG):  # -vv: the exact ids each model reads, for checking layouts
            log.debug("prompt uri=%s offset=%d format=%s ids=%s draftIds=%s", request.uri, request.offset,
                      prompt.format, json.dumps(prompt.ids, separators=(",", ":")),
                      json.dumps(prompt.draft_ids, separators=(",", ":")))
        rule = StopRule(decision.mode, context, header_body=options.multiline != "never")
        budget = TimeBudget(deadline, rule.should_stop if options.postprocess else lambda text: False)
        lap("prompt")
        prose = syntax.in_string or syntax.in_comment or bool(open_quote(context.line_prefix))
        stats, banned, candidates, dropped = DecodeStats(), [], 0, False
        while True:
            candidates += 1
            # Asked for a suggestion here, "nothing" is never the answer worth showing: a weak
            # or unsure model must not end the infill before its first token. Without a budget
            # or a ban the call is as before, for generators written before them.
            extra = {"deadline": deadline} if deadline is not None else {}
            if banned:
                extra["banned_first_ids"] = tuple(banned)
            generation = generator.generate(prompt.ids, options.max_new_tokens, prompt.end_ids,
                                            budget.should_stop, is_cancelled, prompt.draft_ids, min_new_tokens=1,
                                            decoding=options.decoding, **extra)
            lap("generate")
            # Work adds up over candidates; the prompt is one, read once (the next candidate
            # finds it in the prefix cache).
            stats = generation.stats if candidates == 1 else replace(
                stats + generation.stats, prompt_tokens=stats.prompt_tokens,
                reused_prompt_tokens=stats.reused_prompt_tokens)
            if budget.expired:
                stats = replace(stats, stop_reason=StopReason.TIME_BUDGET)
            text, replace_chars, guarded = generation.text, 0, False
            if options.postprocess:
                text, replace_chars, guarded = self._finish(text, stats, rule, context, decision.mode, prose,
                                                            tree, source, cursor)
            lap("finish")
            # Nothing left to show of this candidate: the model's next one starts with another
            # first token (greedy stays the target's own choice under that ban, so speculative
            # and target-alone decoding still agree), while time and MAX_CANDIDATES allow.
            if not options.postprocess or text or not generation.token_ids or candidates >= MAX_CANDIDATES \
                    or stats.stop_reason in (StopReason.CANCELLED, StopReason.TIME_BUDGET, StopReason.ERROR) \
                    or is_cancelled() or (deadline is not None and time.perf_counter() >= deadline):
                break
            banned.append(generation.token_ids[0])
            dropped = dropped or guarded
        guarded = guarded or (dropped and not text)  # nothing shown: say if the checks dropped some
        return CompletionResult(
            text=text, mode=decision.mode, reason=decision.reason, decode=stats, prompt_format=prompt.format,
            syntax_error=syntax.has_error, replace_chars=replace_chars, snippets=window.snippets,
            guarded=guarded, warnings=(choice.warning,) if choice.warning else (), stage_ms=stage_ms,
            candidates=candidates,
        )

    @staticmethod
    def _finish(text: str, stats: DecodeStats, rule: StopRule, context, mode: Mode, prose: bool,
                tree, source: bytes, cursor: int) -> tuple[str, int, bool]:
        """The finish stage for one candidate: (text to show, suffix chars it replaces,
        whether the validity checks cut or dropped it)."""
        # Cut short (tokens or time), a block shows its whole lines only.
        text = rule.finish(text, stats.stop_reason.cut_short)
        suggestion = postprocess(text, context, mode == Mode.SINGLE_LINE, indent_unit(context.prefix[-8000:]),
                                 rule.open_brackets)
        text, replace_chars = suggestion.text, suggestion.replace_chars
        if not text or prose:  # prose (a docstring or comment continued) is not judged by the parser
            return text, replace_chars, False
        # Shown only if the file is no worse for it: cut to the longest valid prefix, or
        # dropped (text "") when none is valid.
        text, cut_by_python = keep_valid(text, context, replace_chars)
        replaced = len(context.line_suffix[:replace_chars].encode("utf-8", "surrogatepass"))
        text, cut_by_tree = guard(tree, source, cursor, replaced, text) if text else ("", False)
        return text, replace_chars if text else 0, cut_by_python or cut_by_tree
