"""Measure how often the draft's greedy choice equals the target's on held-out code.

    python -m training.agreement [--draft DIR] [--target DIR] [--windows 64]

Both models read the same left-context windows (BOS + 256 tokens of held-out stdlib
files); at every position the draft's argmax is compared with the target's argmax over
the shared vocabulary. This is the top-1 agreement that bounds greedy acceptance.
"""

from __future__ import annotations

import argparse
import json
import random

import torch

from models.devices import resolve_placement
from models.embedded import EMBEDDED_DRAFT, EMBEDDED_TARGET
from models.loading import check_tokenizers_match, load_checkpoint
from training import corpus


@torch.inference_mode()
def measure(draft_dir, target_dir, windows: int, length: int, seed: int) -> dict:
    placement = resolve_placement("cpu", "float32")
    draft = load_checkpoint("draft", draft_dir, placement)
    target = load_checkpoint("target", target_dir, placement)
    check_tokenizers_match(draft, target)
    tokenizer = target.tokenizer
    rng = random.Random(seed)
    files = [f for f in corpus.load_split(held_out=True) if len(f.text) > length * 8]
    agree = total = 0
    target_loss = draft_loss = 0.0
    for _ in range(windows):
        text = rng.choice(files).text
        start = rng.randrange(0, len(text) - length * 6)
        ids = tokenizer.encode(text[start:start + length * 8], add_special_tokens=False)[:length]
        inputs = torch.tensor([[tokenizer.bos_token_id, *ids]])
        target_logits = target.model(input_ids=inputs).logits[0, :-1]
        draft_logits = draft.model(input_ids=inputs).logits[0, :-1]
        labels = inputs[0, 1:]
        # The target's extra (FIM) ids count: a target that wants one disagrees with the draft.
        agree += int((target_logits.argmax(-1) == draft_logits.argmax(-1)).sum())
        total += len(labels)
        target_loss += float(torch.nn.functional.cross_entropy(target_logits, labels)) / windows
        draft_loss += float(torch.nn.functional.cross_entropy(draft_logits, labels)) / windows
    return {"windows": windows, "tokens": total, "top1_agreement": round(agree / total, 4),
            "target_loss": round(target_loss, 4), "draft_loss": round(draft_loss, 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draft", default=EMBEDDED_DRAFT)
    parser.add_argument("--target", default=EMBEDDED_TARGET)
    parser.add_argument("--windows", type=int, default=64)
    parser.add_argument("--length", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(2)
    print(json.dumps(measure(args.draft, args.target, args.windows, args.length, args.seed), indent=2))


if __name__ == "__main__":
    main()
