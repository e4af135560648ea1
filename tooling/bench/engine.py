"""`tandem bench engine`: the speculative engine against target-only greedy and transformers'
assisted generation, on the same models and held-out prompts, side by side in one run.

Every row decodes greedily to EOS or --new-tokens; "identical" compares each prompt's
tokens with target-only greedy, and the lines under the table give each row's divergence
rate (prompts whose tokens differ / prompts) under the run's dtype: float32 is
token-identical (tested), bfloat16 not always (a verify pass of k+1 tokens and a one-token
step round differently), so a bfloat16 run says how often. speedup = tokens/s against
target-only, prefill included.
The model columns describe the decode phase (the prefill is the same work in every row):
α = accepted / drafted; E = tokens per verify pass; k̄ = drafted tokens per round;
c = one draft-model token's time / one target step's time (the target-only row's own
steps, in the same run); theory = E / (1 + m̄·c), with
m̄ the draft model's steady one-token forwards per round (DecodeStats.draft_steps: lookup
tokens cost nothing, and a catch-up after rounds without the draft is left out); effic. = decode-phase
speedup / theory. The theory prices a verify pass of k+1 tokens like a one-token step;
v = measured verify pass time / target step time shows what it really costs on this
device, and "engine" = decode-phase speedup / (E / (v + m̄·c)) is then the share of the
attainable speedup the decode loop delivers (1.0 = no overhead of its own).
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field

import torch

from bench.prompts import held_out_prompts
from models.decoding.adaptive import AdaptiveDraftLength, FixedDraftLength
from models.decoding.generation import Stops
from models.decoding.greedy import greedy_generate
from models.decoding.proposers import CombinedProposer, DraftModelProposer, PromptLookupProposer
from models.decoding.speculative import speculative_generate
from models.pair import ModelPair


@dataclass
class Row:
    name: str
    seconds: list[float] = field(default_factory=list)
    tokens: list[int] = field(default_factory=list)
    outputs: list[tuple[int, ...]] = field(default_factory=list)
    drafted: int = 0
    accepted: int = 0
    rounds: int = 0
    draft_steps: int = 0
    draft_step_seconds: float = 0.0
    decode_tokens: int = 0        # Tandem rows only: tokens after the first ...
    decode_seconds: float = 0.0   # ... the time they took ...
    verify_seconds: float = 0.0   # ... and the target's share of it

    @property
    def tokens_per_second(self) -> float:
        return sum(self.tokens) / sum(self.seconds)


def _hf_generate(model, prompt: list[int], new_tokens: int, eos: int, **kwargs) -> tuple[int, ...]:
    inputs = torch.tensor([prompt], device=model.device)
    out = model.generate(inputs, attention_mask=torch.ones_like(inputs), max_new_tokens=new_tokens,
                         do_sample=False, eos_token_id=eos, pad_token_id=eos, **kwargs)[0, len(prompt):].tolist()
    return tuple(out[: out.index(eos)] if eos in out else out)


def _padded_draft(pair: ModelPair):
    """The draft with its vocabulary padded to the target's, so transformers takes its plain
    assisted path instead of the re-tokenising one; the padding rows are zero, so the draft
    never prefers them."""
    draft = copy.deepcopy(pair.draft.model)
    old = draft.get_input_embeddings().num_embeddings
    draft.resize_token_embeddings(pair.target.vocab_size, mean_resizing=False)
    with torch.no_grad():
        draft.get_input_embeddings().weight[old:] = 0
        draft.get_output_embeddings().weight[old:] = 0
    return draft


def tandem_generate(pair: ModelPair, prompt: list[int], proposer_kind: str, policy, new_tokens: int, eos: int):
    """Tandem's speculative decoding of `prompt` with drafts from `proposer_kind` (draft,
    lookup or combined) and draft lengths from `policy`, greedy, to EOS or `new_tokens`."""
    lookup = PromptLookupProposer(prompt)
    draft = DraftModelProposer(pair.draft.model, [i for i in prompt if i < pair.draft.vocab_size],
                               pair.target.vocab_size)
    proposer = {"draft": draft, "lookup": lookup, "combined": CombinedProposer(lookup, draft)}[proposer_kind]
    return speculative_generate(pair.target.model, prompt, proposer, policy, Stops(new_tokens, {eos}), pair.decode)


def run(pair: ModelPair, prompt_count: int, new_tokens: int, k: int, seed: int = 0) -> list[Row]:
    target, tokenizer = pair.target.model, pair.target.tokenizer
    eos = tokenizer.eos_token_id
    prompts = held_out_prompts(tokenizer, prompt_count, 200, seed)
    decode = pair.decode
    adaptive = AdaptiveDraftLength()
    padded = _padded_draft(pair)
    for assistant in (pair.draft.model, padded):
        assistant.generation_config.num_assistant_tokens = 5
        assistant.generation_config.num_assistant_tokens_schedule = "heuristic"

    def tandem(proposer_kind: str, policy):
        return lambda prompt: tandem_generate(pair, prompt, proposer_kind, policy, new_tokens, eos)

    methods = {
        "target only (Tandem greedy)": lambda p: greedy_generate(target, p, Stops(new_tokens, {eos}), decode),
        "transformers generate": lambda p: _hf_generate(target, p, new_tokens, eos),
        "transformers assisted (UAG)": lambda p: _hf_generate(
            target, p, new_tokens, eos, assistant_model=pair.draft.model, tokenizer=tokenizer,
            assistant_tokenizer=pair.draft.tokenizer),
        "transformers assisted (padded)": lambda p: _hf_generate(target, p, new_tokens, eos,
                                                                  assistant_model=padded),
        f"Tandem draft k={k}": tandem("draft", FixedDraftLength(k)),
        f"Tandem lookup k={k}": tandem("lookup", FixedDraftLength(k)),
        f"Tandem combined k={k}": tandem("combined", FixedDraftLength(k)),
        "Tandem adaptive (combined)": tandem("combined", adaptive),
    }
    rows = {name: Row(name) for name in methods}
    with torch.inference_mode():
        for name, method in methods.items():  # warm-up: first calls pay one-off costs
            method(prompts[0])
        # Interleave methods per prompt, so drift in machine load hits every row alike.
        for prompt in prompts:
            for name, method in methods.items():
                started = time.perf_counter()
                result = method(prompt)
                elapsed = time.perf_counter() - started
                row = rows[name]
                tokens = result if isinstance(result, tuple) else result.token_ids
                row.seconds.append(elapsed)
                row.tokens.append(len(tokens))
                row.outputs.append(tokens)
                stats = getattr(result, "stats", None)
                if stats is not None:  # the first token comes with the prefill
                    row.decode_seconds += stats.decode_seconds
                    row.decode_tokens += max(0, len(tokens) - 1)
                if stats is not None and hasattr(stats, "drafted"):
                    row.verify_seconds += stats.target_seconds - stats.prefill_seconds
                    row.drafted += stats.drafted
                    row.accepted += stats.accepted
                    row.rounds += stats.rounds
                    row.draft_steps += stats.draft_steps
                    row.draft_step_seconds += stats.draft_step_seconds
    return list(rows.values())


def differing(row: Row, baseline: Row) -> int:
    """Prompts whose tokens differ from the baseline's (target-only greedy)."""
    return sum(a != b for a, b in zip(row.outputs, baseline.outputs, strict=True))


def format_divergence(rows: list[Row], dtype: str) -> str:
    """Each row's divergence from target-only greedy (rows[0]), as a rate, under its dtype."""
    baseline = rows[0]
    lines = [f"divergence from target-only greedy in {dtype} (prompts whose tokens differ / prompts):"]
    for row in rows[1:]:
        count, total = differing(row, baseline), len(baseline.outputs)
        lines.append(f"  {row.name:<32} {count:>3}/{total:<3} {count / total:>6.1%}")
    return "\n".join(lines)


def format_table(rows: list[Row]) -> str:
    baseline = rows[0]
    target_step = baseline.decode_seconds / baseline.decode_tokens
    header = (f"{'method':<32} {'tok/s':>7} {'speedup':>8} {'α':>5} {'E':>5} {'k̄':>4} {'c':>6} "
              f"{'theory':>6} {'effic.':>6} {'v':>5} {'engine':>6} {'identical':>9}")
    lines = [header, "-" * len(header)]
    for row in rows:
        speedup = row.tokens_per_second / baseline.tokens_per_second
        identical = "yes" if row.outputs == baseline.outputs else f"no ({differing(row, baseline)})"
        cells = ["–"] * 8  # α E k̄ c theory effic. v engine
        if row.drafted:
            decode_speedup = (row.decode_tokens / row.decode_seconds) / (1 / target_step)
            e = row.decode_tokens / row.rounds
            c = (row.draft_step_seconds / row.draft_steps) / target_step if row.draft_steps else 0.0
            model_tokens = row.draft_steps / row.rounds
            theory = e / (1 + model_tokens * c)
            v = (row.verify_seconds / row.rounds) / target_step
            attainable = e / (v + model_tokens * c)
            cells = [f"{row.accepted / row.drafted:.2f}", f"{e:.2f}", f"{row.drafted / row.rounds:.1f}",
                     f"{c:.3f}", f"{theory:.2f}", f"{decode_speedup / theory:.2f}", f"{v:.2f}",
                     f"{decode_speedup / attainable:.2f}"]
        alpha, e, k_mean, c, theory, efficiency, v, engine = cells
        lines.append(f"{row.name:<32} {row.tokens_per_second:>7.1f} {speedup:>7.2f}× {alpha:>5} {e:>5} "
                     f"{k_mean:>4} {c:>6} {theory:>6} {efficiency:>6} {v:>5} {engine:>6} {identical:>9}")
    return "\n".join(lines)


def main(pair: ModelPair, prompt_count: int, new_tokens: int, k: int) -> int:
    torch.manual_seed(0)
    rows = run(pair, prompt_count, new_tokens, k)
    target_step = rows[0].decode_seconds / rows[0].decode_tokens
    placement = pair.target.placement
    dtype = str(placement.dtype).removeprefix("torch.")
    print(f"tandem bench engine: {prompt_count} held-out prompts of 200 tokens, ≤{new_tokens} new tokens, "
          f"greedy, {placement.device}/{dtype}, {torch.get_num_threads()} threads")
    print(f"target {pair.target.path} · draft {pair.draft.path} · target step {target_step * 1000:.2f} ms")
    print(format_table(rows))
    print()
    print(format_divergence(rows, dtype))
    return 0
