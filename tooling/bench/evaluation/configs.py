"""The decoding configurations compared, each a set of `tandem` settings.

Every configuration names every setting any of them varies, because settings sent with
`workspace/didChangeConfiguration` update the previous ones rather than replace them.
"""

from __future__ import annotations

from dataclasses import dataclass

TARGET, SPECULATIVE, SAMPLED, RAW, LEFT_CONTEXT = "target", "speculative", "sampled", "raw", "left-context"
DEFAULT_MAX_NEW_TOKENS = 128  # a HumanEval body is 60–120 tokens for Llama's tokenizer


@dataclass(frozen=True)
class EvalConfig:
    name: str
    label: str
    settings: dict


def eval_configs(seed: int, prompt_format: str = "auto") -> list[EvalConfig]:
    varied = {"draftTokens": "auto", "temperature": 0, "topP": 1, "seed": None, "postprocess": True,
              "promptFormat": prompt_format}
    return [
        EvalConfig(TARGET, "target alone, greedy", {**varied, "draftTokens": 0}),
        EvalConfig(SPECULATIVE, "speculative, greedy (the server's default)", varied),
        # Sampling as Codex's pass@1 runs did (T = 0.2, top-p 0.95), seeded per request.
        EvalConfig(SAMPLED, "speculative, sampled T=0.2 top-p 0.95",
                   {**varied, "temperature": 0.2, "topP": 0.95, "seed": seed}),
        EvalConfig(RAW, "ablation: raw model output (no stop rules, no post-processing)",
                   {**varied, "postprocess": False}),
        EvalConfig(LEFT_CONTEXT, "ablation: left context only (no FIM prompt)", {**varied, "promptFormat": "plain"}),
    ]


def evaluation_settings(max_new_tokens: int) -> dict:
    """What every configuration shares: no time budget (quality is measured, not cut by the
    clock), room for a function body, multi-line decided as in the editor."""
    return {"timeBudgetMs": 0, "maxNewTokens": max_new_tokens, "multiline": "auto", "debounceMs": 0}
