"""The loaded draft/target pair, offered to the completion layer as plain-typed methods.

The completion layer sees token ids, strings and callables only (its `Generator`
protocol); tensors stay in this package. The pair holds what every request shares
(weights, KV prefix caches, step-cost and acceptance estimates); how a request decodes
travels with the call (`generate(..., decoding=...)`). All calls come from the one model
worker thread, so nothing here is locked.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence

from models.config import MAX_DRAFT_TOKENS, DecodingConfig, PairSpec
from models.decoding.adaptive import AdaptiveDraftLength, FixedDraftLength, StepCosts
from models.decoding.generation import Generation, Stops, never
from models.decoding.prefix_cache import PrefixCache
from models.decoding.proposers import CombinedProposer, DraftModelProposer, PromptLookupProposer, Proposer
from models.decoding.sampling import Sampler, SamplingParams
from models.decoding.speculative import speculative_generate
from models.embedded import resolve_model_dirs
from models.engines.acceleration import Engine, accelerate
from models.engines.llamacpp_loading import load_llamacpp
from models.loading import LoadedModel, load_checkpoint
from models.plan import LoadPlan, plan_load
from models.preflight import preflight_plan
from models.target_text import TargetText

log = logging.getLogger(__name__)


class ModelPair(TargetText):
    def __init__(self, draft: LoadedModel, target: LoadedModel):
        self.draft, self.target = draft, target
        self.plan: LoadPlan | None = None     # what load() decided, when it loaded the pair
        self.engines: dict[str, Engine] = {}  # how each model runs, when load() chose it
        # Both models' KV caches carry over from request to request: the next prompt
        # prefills only what it adds.
        self.target_prefix, self.draft_prefix = PrefixCache(), PrefixCache()
        # Step costs describe the models on this hardware: one estimate for all requests.
        # Acceptance is kept per kind of decoding (draft_length): see there.
        self.step_costs = StepCosts()
        self._adaptive: dict[tuple[str, bool], AdaptiveDraftLength] = {}
        TargetText.__init__(self, target.tokenizer)

    @classmethod
    def load(cls, spec: PairSpec) -> "ModelPair":
        plan = plan_load(spec)  # device, dtype, engines, providers: checked before loading
        draft_dir, target_dir = resolve_model_dirs(spec.draft, spec.target)
        # Directories, tokenizer compatibility and memory, before any weights are read.
        checked = preflight_plan(draft_dir, target_dir, plan)
        checked.raise_first()
        parameters = {need.role: need.parameters for need in checked.memory.needs}

        def load(role: str, path, tokenizer) -> tuple[LoadedModel, Engine]:
            if plan.engine(role) == "llamacpp":  # GGUF in llama.cpp: the torch weights are never read
                return load_llamacpp(role, path, plan.placement, tokenizer, parameters[role], plan.weight_type)
            loaded = load_checkpoint(role, path, plan.placement, tokenizer)
            return loaded, accelerate(loaded, plan.engine(role), plan.providers)

        target, target_engine = load("target", target_dir, checked.target_tokenizer)
        draft, draft_engine = load("draft", draft_dir, checked.draft_tokenizer)
        pair = cls(draft, target)
        pair.plan = plan
        pair.engines = {"target": target_engine, "draft": draft_engine}
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

    def generate(
        self,
        prompt_ids: Sequence[int],
        max_new_tokens: int,
        end_ids: Collection[int] = (),
        should_stop: Callable[[str], bool] = never,
        is_cancelled: Callable[[], bool] = lambda: False,
        draft_prompt_ids: Sequence[int] | None = None,
        min_new_tokens: int = 0,
        decoding: DecodingConfig = DecodingConfig(),
        deadline: float | None = None,
        banned_first_ids: Collection[int] = (),
    ) -> Generation:
        """Continue `prompt_ids` with the target as `decoding` says; the draft model reads
        `draft_prompt_ids` (its own left-context prompt) when the target's prompt has ids it
        lacks. A seed repeats a sampled continuation under a fixed draft length; under
        "auto" the schedule follows measured times, and another k draws other tokens from
        the same distribution. `deadline` (time.perf_counter() seconds; None: none) ends
        generation, prefills included, with what it has by then. The first new token is never
        one of `banned_first_ids`."""
        ends = set(end_ids) | ({self._eos_id} if self._eos_id is not None else set())
        stops = Stops(max_new_tokens, ends, min_new_tokens, should_stop, is_cancelled, deadline, banned_first_ids)
        # On the device the target's logits come back on (ONNX Runtime's: the CPU).
        sampler = Sampler.seeded(SamplingParams(decoding.temperature, decoding.top_k, decoding.top_p),
                                 decoding.seed, self.target.model.get_input_embeddings().weight.device)
        proposer = self._proposer(list(prompt_ids), draft_prompt_ids, max_new_tokens, decoding.source, sampler,
                                  stops)
        try:
            return speculative_generate(self.target.model, prompt_ids, proposer, self.draft_length(decoding),
                                        stops, self.decode, sampler, self.target_prefix)
        except BaseException:
            self.draft_prefix.forget()
            raise
        finally:
            proposer.release()

    def draft_length(self, decoding: DecodingConfig) -> FixedDraftLength | AdaptiveDraftLength:
        """A fixed k as asked, or the adaptive schedule of this kind of decoding.

        Adaptive estimates are kept per (draft source, greedy or sampled), over the one
        shared StepCosts: acceptance under sampling is Σ min(p, q), not greedy's top-1
        agreement, and a combined source asks the model only where lookup found nothing,
        so one kind's α would mislead another's k when editors attached to one server
        decode differently. The step costs are the hardware's and are shared. Temperature,
        top-k and top-p are not part of the key: per-user choices that rarely change, and
        the estimate adapts within a few rounds (DECAY)."""
        if decoding.draft_tokens != "auto":
            return FixedDraftLength(int(decoding.draft_tokens))
        kind = (decoding.source, decoding.temperature <= 0.0)
        if kind not in self._adaptive:
            self._adaptive[kind] = AdaptiveDraftLength(costs=self.step_costs)
        return self._adaptive[kind]

    def warm_up(self) -> None:
        """One short generation, so the first completion does not pay one-off costs (kernel
        choice, allocator growth); the caches it leaves are dropped."""
        prompt = ([self.bos_id] if self.bos_id is not None else []) + self.encode("def main():\n    ")
        self.generate(prompt, 4)
        self.target_prefix.forget()
        self.draft_prefix.forget()

    def _proposer(self, prompt_ids: list[int], draft_prompt_ids: Sequence[int] | None, max_new_tokens: int,
                  source: str, sampler: Sampler, stops: Stops = Stops(0)) -> Proposer:
        lookup = PromptLookupProposer([i for i in prompt_ids if i < self.draft.vocab_size])
        if source == "lookup":
            return lookup
        if draft_prompt_ids is None:
            draft_prompt_ids = prompt_ids
        draft_prompt = list(draft_prompt_ids)
        if any(i >= self.draft.vocab_size for i in draft_prompt):
            raise ValueError("the draft prompt holds ids outside the draft's vocabulary")
        # Stay inside the draft's positions: keep BOS and the newest context, with room for
        # the new tokens and the longest draft after them.
        room = self.draft.context_window - max_new_tokens - MAX_DRAFT_TOKENS - 1
        if room < 2:  # no room for a prompt: only free lookups can help
            return lookup
        if len(draft_prompt) > room:
            head = draft_prompt[:1] if draft_prompt and draft_prompt[0] == self.bos_id else []
            draft_prompt = head + draft_prompt[len(draft_prompt) - (room - len(head)):]
        draft = DraftModelProposer(self.draft.model, draft_prompt, self.target.vocab_size, sampler,
                                   prefix_cache=self.draft_prefix, stops=stops)
        return draft if source == "model" else CombinedProposer(lookup, draft)

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
                "dtype": str(placement.dtype).removeprefix("torch."), "placementReason": placement.reason,
                # llama.cpp's GGUF type of the target (its dtype is only how the checkpoint was read)
                **({"weights": self.target.model.weight_type} if hasattr(self.target.model, "weight_type") else {})}

