"""The loaded draft/target pair, offered to the completion layer as plain-typed methods.

The completion layer sees token ids, strings and callables only (its `Generator`
protocol); tensors stay in this package.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from models.devices import resolve_placement
from models.embedded import resolve_model_dirs
from models.generation import Generation
from models.greedy import greedy_generate
from models.loading import LoadedModel, check_tokenizers_match, load_checkpoint

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PairSpec:
    """What to load: directories as the user gave them (empty = embedded) and placement."""
    draft: str = ""
    target: str = ""
    device: str = "auto"
    dtype: str = "auto"


class ModelPair:
    def __init__(self, draft: LoadedModel, target: LoadedModel):
        self.draft, self.target = draft, target
        tokenizer = target.tokenizer
        self._eos_id = tokenizer.eos_token_id
        self.bos_id: int | None = tokenizer.bos_token_id
        self._vocab = tokenizer.get_vocab()
        # Decoding a continuation after an anchor keeps SentencePiece's leading spaces.
        self._anchor = tokenizer.encode("a", add_special_tokens=False)
        self._anchor_text = tokenizer.decode(self._anchor)

    @classmethod
    def load(cls, spec: PairSpec) -> "ModelPair":
        placement = resolve_placement(spec.device, spec.dtype)
        draft_dir, target_dir = resolve_model_dirs(spec.draft, spec.target)
        target = load_checkpoint("target", target_dir, placement)
        draft = load_checkpoint("draft", draft_dir, placement)
        check_tokenizers_match(draft, target)
        return cls(draft, target)

    @property
    def context_window(self) -> int:
        return self.target.context_window

    def token_id(self, token: str) -> int | None:
        """Id of a token spelled exactly so in the target's vocabulary (e.g. a FIM token)."""
        return self._vocab.get(token)

    def encode(self, text: str) -> list[int]:
        return self.target.tokenizer.encode(text, add_special_tokens=False)

    def decode(self, ids: Sequence[int]) -> str:
        text = self.target.tokenizer.decode(list(self._anchor) + list(ids), skip_special_tokens=True)
        return text[len(self._anchor_text):]

    def generate(
        self,
        prompt_ids: Sequence[int],
        max_new_tokens: int,
        end_ids: Collection[int] = (),
        should_stop: Callable[[str], bool] = lambda text: False,
        is_cancelled: Callable[[], bool] = lambda: False,
    ) -> Generation:
        ends = set(end_ids) | ({self._eos_id} if self._eos_id is not None else set())
        return greedy_generate(self.target.model, prompt_ids, max_new_tokens, ends, self.decode,
                               should_stop, is_cancelled)

    def describe(self) -> dict:
        def one(model: LoadedModel) -> dict:
            return {"path": str(model.path), "vocabSize": model.vocab_size,
                    "contextWindow": model.context_window,
                    "parameters": sum(p.numel() for p in model.model.parameters()),
                    "loadSeconds": round(model.load_seconds, 3)}
        placement = self.target.placement
        return {"draft": one(self.draft), "target": one(self.target), "device": str(placement.device),
                "dtype": str(placement.dtype).removeprefix("torch."), "placementReason": placement.reason}

