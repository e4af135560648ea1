"""The loaded draft/target pair, offered to the completion layer as plain-typed methods.

The completion layer sees token ids, strings and callables only (its `Generator`
protocol); tensors stay in this package.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace

import torch

from models.acceleration import ONNX_DTYPES, Engine, accelerate
from models.adaptive import AdaptiveDraftLength, FixedDraftLength
from models.devices import resolve_placement
from models.onnx_backend import choose_providers
from models.embedded import resolve_model_dirs
from models.generation import Generation
from models.loading import LoadedModel, check_tokenizers_match, load_checkpoint
from models.prefix_cache import PrefixCache
from models.proposers import CombinedProposer, DraftModelProposer, PromptLookupProposer
from models.sampling import SamplingParams
from models.speculative import speculative_generate

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PairSpec:
    """What to load: directories as the user gave them (empty = embedded) and placement."""
    draft: str = ""
    target: str = ""
    device: str = "auto"
    dtype: str = "auto"
    engine: str = "auto"  # auto | transformers | static | onnx: see models/acceleration.py


PROPOSERS = ("draft", "lookup", "combined")


@dataclass(frozen=True)
class DecodingConfig:
    """How to decode: draft length (0 = target alone, n = fixed, "auto" = adaptive), where
    drafts come from, and sampling (temperature 0 = greedy)."""
    draft_tokens: int | str = "auto"
    proposer: str = "combined"
    temperature: float = 0.0
    top_k: int = 0
    top_p: float = 1.0
    seed: int | None = None
    max_draft_tokens: int = 8  # upper bound for "auto"


class ModelPair:
    def __init__(self, draft: LoadedModel, target: LoadedModel, decoding: DecodingConfig = DecodingConfig()):
        self.draft, self.target = draft, target
        self.decoding = decoding
        self.engines: dict[str, Engine] = {}  # how each model runs, when load() chose it
        # Acceptance and cost estimates carry over from request to request, and so do both
        # models' KV caches: the next prompt prefills only what it adds.
        self.adaptive = AdaptiveDraftLength(k_max=decoding.max_draft_tokens)
        self.target_prefix, self.draft_prefix = PrefixCache(), PrefixCache()
        tokenizer = target.tokenizer
        self._eos_id = tokenizer.eos_token_id
        self.bos_id: int | None = tokenizer.bos_token_id
        self._vocab = tokenizer.get_vocab()
        # Decoding a continuation after an anchor keeps SentencePiece's leading spaces.
        self._anchor = tokenizer.encode("a", add_special_tokens=False)
        self._anchor_text = tokenizer.decode(self._anchor)

    @classmethod
    def load(cls, spec: PairSpec, decoding: DecodingConfig = DecodingConfig()) -> "ModelPair":
        # The NPU is reached through ONNX Runtime only; its provider is checked before loading.
        engine = "onnx" if spec.device == "npu" else spec.engine
        providers = choose_providers("npu") if spec.device == "npu" else None
        placement = resolve_placement("cpu" if spec.device == "npu" else spec.device, spec.dtype)
        if engine == "onnx" and placement.dtype not in ONNX_DTYPES:
            placement = replace(placement, dtype=torch.float32,
                                reason=f"{placement.reason}; float32 for ONNX Runtime (no {placement.dtype} kernels)")
        if engine == "onnx" and providers is None:  # the provider follows the placement (CUDA's on a GPU)
            providers = choose_providers(placement.device.type)
        draft_dir, target_dir = resolve_model_dirs(spec.draft, spec.target)
        target = load_checkpoint("target", target_dir, placement)
        draft = load_checkpoint("draft", draft_dir, placement)
        check_tokenizers_match(draft, target)
        # The target's verify passes vary in length, so only the draft's loop is graphed.
        engines = {"target": accelerate(target, engine, graphs=False, providers=providers),
                   "draft": accelerate(draft, engine, providers=providers)}
        pair = cls(draft, target, decoding)
        pair.engines = engines
        return pair

    @property
    def warnings(self) -> list[str]:
        """For the user: engines asked for that could not run a model."""
        return [f"{role} model: {engine.reason}; running on transformers" for role, engine in self.engines.items()
                if engine.fell_back]

    @property
    def context_window(self) -> int:
        return self.target.context_window

    @property
    def draft_context_window(self) -> int:
        return self.draft.context_window

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
        draft_prompt_ids: Sequence[int] | None = None,
        min_new_tokens: int = 0,
    ) -> Generation:
        """Continue `prompt_ids` with the target; the draft model reads `draft_prompt_ids`
        (its own left-context prompt) when the target's prompt has ids it lacks."""
        decoding = self.decoding
        ends = set(end_ids) | ({self._eos_id} if self._eos_id is not None else set())
        if decoding.draft_tokens == "auto":
            draft_length = self.adaptive
        else:
            draft_length = FixedDraftLength(int(decoding.draft_tokens))
        params = SamplingParams(decoding.temperature, decoding.top_k, decoding.top_p)
        # On the models' device: a CUDA sampler refuses a CPU generator.
        generator = (torch.Generator(device=self.target.placement.device).manual_seed(decoding.seed)
                     if decoding.seed is not None else None)
        proposer = self._proposer(list(prompt_ids), draft_prompt_ids, max_new_tokens, params, generator)
        try:
            return speculative_generate(self.target.model, prompt_ids, proposer, draft_length, max_new_tokens,
                                        ends, self.decode, should_stop, is_cancelled, params, generator,
                                        min_new_tokens, self.target_prefix)
        except BaseException:
            self.draft_prefix.forget()
            raise
        finally:
            proposer.release()

    def warm_up(self) -> None:
        """One short generation, so the first completion does not pay one-off costs (kernel
        choice, allocator growth); the caches it leaves are dropped."""
        prompt = ([self.bos_id] if self.bos_id is not None else []) + self.encode("def main():\n    ")
        self.generate(prompt, 4)
        self.target_prefix.forget()
        self.draft_prefix.forget()

    def _proposer(self, prompt_ids: list[int], draft_prompt_ids: Sequence[int] | None, max_new_tokens: int,
                  params: SamplingParams, generator: torch.Generator | None):
        lookup = PromptLookupProposer([i for i in prompt_ids if i < self.draft.vocab_size])
        if self.decoding.proposer == "lookup":
            return lookup
        if draft_prompt_ids is None:
            draft_prompt_ids = prompt_ids
        draft_prompt = list(draft_prompt_ids)
        if any(i >= self.draft.vocab_size for i in draft_prompt):
            raise ValueError("the draft prompt holds ids outside the draft's vocabulary")
        # Stay inside the draft's positions: keep BOS and the newest context.
        room = self.draft.context_window - max_new_tokens - self.decoding.max_draft_tokens - 1
        if room < 2:  # no room for a prompt: only free lookups can help
            return lookup
        if len(draft_prompt) > room:
            head = draft_prompt[:1] if draft_prompt and draft_prompt[0] == self.bos_id else []
            draft_prompt = head + draft_prompt[len(draft_prompt) - (room - len(head)):]
        draft = DraftModelProposer(self.draft.model, draft_prompt, self.target.vocab_size, params, generator,
                                   prefix_cache=self.draft_prefix)
        return draft if self.decoding.proposer == "draft" else CombinedProposer(lookup, draft)

    def describe(self) -> dict:
        def one(model: LoadedModel) -> dict:
            engine = self.engines.get(model.role)
            return {"path": str(model.path), "vocabSize": model.vocab_size,
                    "engine": engine.describe() if engine else "transformers",
                    "contextWindow": model.context_window,
                    "parameters": sum(p.numel() for p in model.model.parameters()),
                    "loadSeconds": round(model.load_seconds, 3)}
        placement = self.target.placement
        return {"draft": one(self.draft), "target": one(self.target), "device": str(placement.device),
                "dtype": str(placement.dtype).removeprefix("torch."), "placementReason": placement.reason}

