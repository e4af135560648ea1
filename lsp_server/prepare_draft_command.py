"""`tandem prepare-draft`: a copy of a draft checkpoint padded to its target's vocabulary,
so a serving engine that wants equal sizes (vLLM's `draft_model` method) takes the pair
(models/draft_padding.py says how and why)."""

from __future__ import annotations

import argparse
import sys


def run_prepare_draft(args: argparse.Namespace) -> int:
    from models.draft_padding import pad_draft
    from models.embedded import resolve_model_dirs
    from models.errors import ModelError

    draft, target = resolve_model_dirs(str(args.draft or ""), str(args.target or ""))
    try:
        padded = pad_draft(draft, target, args.out.expanduser(), force=args.force)
    except ModelError as error:
        print(f"tandem prepare-draft: {error}", file=sys.stderr)
        return 2
    print(f"wrote {padded.path}: the draft {draft} padded from {padded.draft_vocab} to {padded.target_vocab} ids, "
          f"with the target's tokenizer ({target})")
    print(f"checked: {padded.positions_checked} greedy positions propose exactly as the original does "
          f"(largest logit difference {padded.max_logit_difference:.3g}); the padded ids score 0, the lowest "
          f"winning logit seen was {padded.lowest_top_logit:.2f}")
    if padded.lowest_top_logit <= 0:
        print("note: a winning logit at or below 0 was seen, so a padded id could be proposed somewhere; the target "
              "would reject it (output unchanged), at the cost of that draft token", file=sys.stderr)
    return 0
