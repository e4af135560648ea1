"""A draft checkpoint padded to its target's vocabulary size, for serving engines that
refuse a draft whose vocabulary differs (vLLM's `draft_model` speculative method: "Target
and draft model should have the same vocabulary size"). The real pair needs it
(CodeLlama-7B has 32016 ids, AMD-Llama-135M-code 32000), the embedded pair too (8196, 8192).

The extra ids get zero rows in the embedding and the output layer. Their logit is then
exactly 0, so the draft proposes one only where every real logit is negative; the check
below measures how far that is on real prompts, and a proposal of one would cost a draft
token, never correctness (the target verifies every token). The padded copy carries the
target's tokenizer files, which the ids below the draft's size must agree with: a draft
whose ids mean other pieces would draft nonsense.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

from models.errors import ModelLoadError
from models.loading import check_checkpoint_dir

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.model",
                   "added_tokens.json")
PROVENANCE = "tandem-padded-draft.json"
CHECK_TEXTS = (  # what the padded draft must propose exactly as the original does
    "def fibonacci(n):\n    if n < 2:\n        return n\n    return",
    "import os\n\n\ndef read_lines(path):\n    with open(path) as handle:\n",
    "class Stack:\n    def __init__(self):\n        self.items = []\n\n    def push(self, item):\n",
    "for index, value in enumerate(values):\n    if value is None:\n",
)
CHECK_TOKENS = 16


class PaddingError(ModelLoadError):
    """Why a draft cannot be padded to its target (said to the user as is)."""


@dataclass(frozen=True)
class PaddedDraft:
    path: Path
    draft_vocab: int
    target_vocab: int
    positions_checked: int   # draft positions whose argmax was compared
    identical: bool          # the padded draft proposed exactly what the original did
    max_logit_difference: float  # over the draft's own ids, at those positions
    lowest_top_logit: float  # the smallest winning real logit seen (> 0: a padded id never wins)


def pad_draft(draft_dir: Path, target_dir: Path, out_dir: Path, force: bool = False) -> PaddedDraft:
    """Write the padded copy of `draft_dir` into `out_dir` and check it; see the module doc."""
    check_checkpoint_dir("draft", draft_dir)
    check_checkpoint_dir("target", target_dir)
    _check_destination(draft_dir, target_dir, out_dir, force)
    draft_config = AutoConfig.from_pretrained(draft_dir, local_files_only=True, trust_remote_code=False)
    target_config = AutoConfig.from_pretrained(target_dir, local_files_only=True, trust_remote_code=False)
    draft_vocab, target_vocab = _vocab_size(draft_config, "draft"), _vocab_size(target_config, "target")
    if draft_vocab == target_vocab:
        raise PaddingError(f"the draft and the target already have {draft_vocab} ids each: serve '{draft_dir}' "
                           "as it is, there is nothing to pad")
    if draft_vocab > target_vocab:
        raise PaddingError(f"the draft has more ids ({draft_vocab}) than the target ({target_vocab}): padding "
                           "adds rows, it cannot remove them")
    _check_tokenizers_agree(draft_dir, target_dir, draft_vocab)

    original = _load(draft_dir)
    padded = _load(draft_dir)
    padded.resize_token_embeddings(target_vocab, mean_resizing=False)
    with torch.no_grad():
        padded.get_input_embeddings().weight[draft_vocab:] = 0
        padded.get_output_embeddings().weight[draft_vocab:] = 0  # the same tensor when tied
    padded.config.vocab_size = target_vocab
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    padded.save_pretrained(out_dir, safe_serialization=True)
    for name in TOKENIZER_FILES:
        if (target_dir / name).is_file():
            shutil.copy2(target_dir / name, out_dir / name)

    result = _compare(original, _load(out_dir), target_dir, draft_vocab, out_dir)
    record = {**asdict(result), "path": str(out_dir), "draft": str(draft_dir.resolve()),
              "target": str(target_dir.resolve())}
    (out_dir / PROVENANCE).write_text(json.dumps(record, indent=2) + "\n")
    if not result.identical:
        raise PaddingError(f"the padded draft in '{out_dir}' proposes differently from the original "
                           f"(largest logit difference {result.max_logit_difference:.3g}); do not serve it")
    return result


def _vocab_size(config, role: str) -> int:
    size = getattr(config, "vocab_size", None)
    if not isinstance(size, int) or size <= 0:
        raise PaddingError(f"the {role}'s config.json has no vocab_size")
    return size


def _check_destination(draft_dir: Path, target_dir: Path, out_dir: Path, force: bool) -> None:
    out = out_dir.resolve()
    for role, source in (("draft", draft_dir), ("target", target_dir)):
        source = source.resolve()
        if out == source or source in out.parents or out in source.parents:
            raise PaddingError(f"the output '{out_dir}' overlaps the {role} checkpoint '{source}': "
                               "choose a folder of its own")
    if out_dir.exists() and not out_dir.is_dir():
        raise PaddingError(f"the output '{out_dir}' is a file")
    if out_dir.exists() and any(out_dir.iterdir()) and not (out_dir / PROVENANCE).is_file() and not force:
        raise PaddingError(f"the output folder '{out_dir}' is not empty and was not written by prepare-draft: "
                           "choose another, or pass --force to replace what is there")


def _check_tokenizers_agree(draft_dir: Path, target_dir: Path, draft_vocab: int) -> None:
    try:
        draft = AutoTokenizer.from_pretrained(draft_dir, local_files_only=True, trust_remote_code=False)
        target = AutoTokenizer.from_pretrained(target_dir, local_files_only=True, trust_remote_code=False)
    except Exception as error:  # the tokenizers library raises its own plain Exception on a bad file
        raise PaddingError(f"could not read the tokenizers to compare them: {type(error).__name__}: {error}") from error
    ids = range(min(draft_vocab, len(draft)))
    differing = [i for i, a, b in zip(ids, draft.convert_ids_to_tokens(list(ids)),
                                      target.convert_ids_to_tokens(list(ids))) if a != b]
    if differing:
        first = differing[0]
        raise PaddingError(f"the draft's and the target's tokenizers disagree on {len(differing)} of the draft's "
                           f"{draft_vocab} ids (first: id {first} is {draft.convert_ids_to_tokens(first)!r} "
                           f"for the draft, {target.convert_ids_to_tokens(first)!r} for the target): the pair "
                           "cannot share ids, so it cannot decode speculatively")


def _load(path: Path):
    model = AutoModelForCausalLM.from_pretrained(path, local_files_only=True, trust_remote_code=False,
                                                 use_safetensors=True, dtype="auto")
    return model.eval()


@torch.no_grad()
def _compare(original, padded, target_dir: Path, draft_vocab: int, out_dir: Path) -> PaddedDraft:
    """Greedy continuations of CHECK_TEXTS by both: the same tokens, position by position
    (each fed the original's choice, so one difference does not hide the rest)."""
    tokenizer = AutoTokenizer.from_pretrained(target_dir, local_files_only=True, trust_remote_code=False)
    positions, identical, largest, lowest_top = 0, True, 0.0, float("inf")
    for text in CHECK_TEXTS:
        ids = [i for i in tokenizer.encode(text) if i < draft_vocab]
        for _ in range(CHECK_TOKENS):
            inputs = torch.tensor([ids])
            mine = original(input_ids=inputs).logits[0, -1].float()
            theirs = padded(input_ids=inputs).logits[0, -1].float()
            positions += 1
            identical &= int(theirs.argmax()) == int(mine.argmax())
            largest = max(largest, float((theirs[:draft_vocab] - mine).abs().max()))
            lowest_top = min(lowest_top, float(theirs[:draft_vocab].max()))
            ids.append(int(mine.argmax()))
    return PaddedDraft(out_dir, draft_vocab, padded.config.vocab_size, positions, identical, largest, lowest_top)
