"""The prompt ids: a context window laid out in the target family's format, and the
draft's own left-context prompt.

The window's pieces were encoded once, within the budget, by completion/context.py; here
they are only arranged (formats.layout) and checked against the budget.
"""

from __future__ import annotations

from dataclasses import dataclass

from completion.context import ContextWindow
from completion.formats import FormatChoice, layout


@dataclass(frozen=True)
class Prompt:
    ids: tuple[int, ...]
    format: str
    end_ids: tuple[int, ...]  # tokens that end generation besides EOS
    prefix_tokens: int        # preamble and prefix window
    suffix_tokens: int
    # The draft's own prompt: left context only, in the shared base vocabulary (a draft
    # cannot read FIM ids, and was trained left to right).
    draft_ids: tuple[int, ...] = ()


def build_prompt(choice: FormatChoice, window: ContextWindow, draft_budget: int) -> Prompt:
    """Target prompt from `window`; the draft reads the newest `draft_budget` tokens of
    the same left context (BOS kept)."""
    left = [*window.preamble_ids, *window.prefix_ids]
    suffix = list(window.suffix_ids) if choice.is_fim else []
    ids = layout(choice, left, suffix)
    bos = choice.bos
    room = max(0, draft_budget - len(bos))
    draft = (*bos, *left[len(left) - room:]) if room else tuple(bos)
    return Prompt(tuple(ids), choice.name, choice.end_ids, len(left), len(suffix), tuple(draft))
