"""Prompts within a token budget: fill-in-the-middle when the target has FIM tokens,
plain left context otherwise.

CodeLlama's infill layout (Meta's reference, prefix-suffix-middle, PSM):
    [BOS, PRE] + enc(prefix) + [SUF] + enc_no_leading_space(suffix) + [MID], ends at EOT.
The embedded pair uses the suffix-first variant (SPM) that CodeLlama also supports, with
its own spellings of the four tokens (its model card says why):
    [BOS, PRE, SUF] + enc(suffix) + [MID] + enc(prefix), ends at EOT.
"""

from __future__ import annotations

from dataclasses import dataclass

from completion.cursor import CursorContext
from completion.generator import Generator

# Spellings of (prefix, suffix, middle, end-of-infill) per family.
FIM_SPELLINGS = {
    "codellama": ("▁<PRE>", "▁<SUF>", "▁<MID>", "▁<EOT>"),
    "embedded": ("<PRE>", "<SUF>", "<MID>", "<EOT>"),
}
SUFFIX_FIRST = {"embedded"}  # families laid out suffix-prefix-middle (SPM)
PROMPT_FORMATS = ("auto", *FIM_SPELLINGS, "plain")
SUFFIX_SHARE = 0.25  # of the budget, at most; the prefix matters more
CHARS_PER_TOKEN_GUESS = 8  # generous, so a character window never holds too few tokens


class PromptError(ValueError):
    """The requested prompt format cannot be built with this model's vocabulary."""


@dataclass(frozen=True)
class Prompt:
    ids: tuple[int, ...]
    format: str
    end_ids: tuple[int, ...]  # tokens that end generation besides EOS
    prefix_tokens: int
    suffix_tokens: int
    # The draft's own prompt: left context only, in the shared base vocabulary (a draft
    # cannot read FIM ids, and was trained left to right).
    draft_ids: tuple[int, ...] = ()


def detect_format(generator: Generator, requested: str) -> str:
    """`auto` picks the FIM family whose tokens the vocabulary has, else plain."""
    if requested == "plain":
        return "plain"
    families = FIM_SPELLINGS if requested == "auto" else {requested: FIM_SPELLINGS[requested]}
    for family, spellings in families.items():
        if all(generator.token_id(token) is not None for token in spellings):
            return family
    if requested != "auto":
        raise PromptError(f"promptFormat '{requested}' needs tokens {FIM_SPELLINGS[requested]} "
                          "that the target's vocabulary lacks")
    return "plain"


def _encode_tail(generator: Generator, text: str, budget: int) -> list[int]:
    """The last `budget` tokens' worth of `text`, cut at a line start where possible."""
    window = text[-budget * CHARS_PER_TOKEN_GUESS:]
    if len(window) < len(text) and "\n" in window:
        window = window[window.index("\n") + 1:]
    ids = generator.encode(window)
    while len(ids) > budget and "\n" in window.rstrip("\n"):
        keep = max(1, int(len(window) * budget / len(ids)))
        window = window[-keep:]
        window = window[window.index("\n") + 1:] if "\n" in window[:-1] else window
        ids = generator.encode(window)
    return ids[-budget:] if budget > 0 else []


def _encode_head(generator: Generator, text: str, budget: int, encode=None) -> list[int]:
    """The first `budget` tokens' worth of `text`."""
    encode = encode or generator.encode
    ids = encode(text[: budget * CHARS_PER_TOKEN_GUESS])
    return ids[:budget] if budget > 0 else []


def _encode_no_leading_space(generator: Generator, text: str) -> list[int]:
    # SentencePiece prepends "▁" to a text; Meta's encode_infilling hides it behind a
    # marker character and drops the marker's ids.
    marker = "☺"
    return generator.encode(marker + text)[len(generator.encode(marker)):]


def build_prompt(generator: Generator, context: CursorContext, requested_format: str,
                 budget: int, draft_budget: int) -> Prompt:
    """Prompt ids for `context`: the target's within `budget` tokens, the draft's within
    `draft_budget`."""
    family = detect_format(generator, requested_format)
    bos = [generator.bos_id] if generator.bos_id is not None else []
    draft = tuple(bos + _encode_tail(generator, context.prefix, draft_budget - len(bos)))
    if family == "plain":
        prefix = _encode_tail(generator, context.prefix, budget - len(bos))
        return Prompt(tuple(bos + prefix), family, (), len(prefix), 0, draft)
    pre, suf, mid, eot = (generator.token_id(token) for token in FIM_SPELLINGS[family])
    room = budget - len(bos) - 3
    encode_suffix = (lambda text: _encode_no_leading_space(generator, text)) if family == "codellama" else None
    suffix = _encode_head(generator, context.suffix, int(room * SUFFIX_SHARE), encode_suffix) \
        if context.suffix.strip() else []
    prefix = _encode_tail(generator, context.prefix, room - len(suffix))
    if family in SUFFIX_FIRST:
        ids = [*bos, pre, suf, *suffix, mid, *prefix]
    else:
        ids = [*bos, pre, *prefix, suf, *suffix, mid]
    return Prompt(tuple(ids), family, (eot,), len(prefix), len(suffix), draft)
