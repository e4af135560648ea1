"""Train one model of the embedded pair on the standard library, fully offline.

    python -m training.train --role target --minutes 75 --out models/embedded/target
    python -m training.train --role draft  --minutes 12 --out models/embedded/draft
    # continue from a checkpoint, mostly on fill-in-the-middle samples:
    python -m training.train --role target --minutes 25 --init DIR --fim-rate 0.9 --peak-lr 3e-4 ...

The byte-level BPE tokenizer is trained once into --work and shared by both roles. Training
runs for a wall-clock budget (the learning rate follows a cosine over that budget), saves a
float32 snapshot to --work every few minutes, and writes the final checkpoint to --out in
bfloat16 with its tokenizer and a `training.json` of what was measured.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from pathlib import Path

import numpy as np
import torch
from tokenizers import Tokenizer
from transformers import LlamaConfig, LlamaForCausalLM

from training import corpus, samples
from training.tokenizer import (
    BASE_VOCAB_SIZE, BOS, EOS, FIM_TOKENS, as_transformers, train_base_tokenizer, with_fim_tokens,
)

SEQUENCE_LENGTH = 512
BATCH_SIZE = 16
FIM_RATE = 0.5
EVAL_SAMPLES = 48

# Positions = the trained length: prompt budgets are clamped to what the models have seen.
SHAPES = {
    # ~14M parameters with tied embeddings, the vocabulary carrying the FIM ids.
    "target": dict(hidden_size=384, num_hidden_layers=6, num_attention_heads=6,
                   intermediate_size=1024, max_position_embeddings=SEQUENCE_LENGTH),
    # ~3.7M parameters, base vocabulary only; shallow because each layer costs a call.
    "draft": dict(hidden_size=256, num_hidden_layers=2, num_attention_heads=4,
                  intermediate_size=704, max_position_embeddings=SEQUENCE_LENGTH),
}
PEAK_LR = {"target": 1e-3, "draft": 2e-3}


def base_tokenizer(work: Path, train_files: list[corpus.SourceFile]) -> Tokenizer:
    path = work / "tokenizer.json"
    if not path.exists():
        path.write_text(train_base_tokenizer(f.text for f in train_files).to_str())
    return Tokenizer.from_file(str(path))


def build_model(role: str, tokenizer: Tokenizer) -> LlamaForCausalLM:
    config = LlamaConfig(
        vocab_size=tokenizer.get_vocab_size(), tie_word_embeddings=True,
        bos_token_id=tokenizer.token_to_id(BOS), eos_token_id=tokenizer.token_to_id(EOS),
        rope_theta=10000.0, **SHAPES[role],
    )
    return LlamaForCausalLM(config)


class Sampler:
    def __init__(self, tokenizer: Tokenizer, files: list[corpus.SourceFile], fim_rate: float, seed: int):
        self.tokenizer, self.fim_rate, self.rng = tokenizer, fim_rate, random.Random(seed)
        self.texts = [f.text for f in files]
        self.weights = [len(t) for t in self.texts]
        self.bos, self.eos = tokenizer.token_to_id(BOS), tokenizer.token_to_id(EOS)
        self.stream = samples.token_stream(tokenizer, self.texts, self.bos, self.eos)
        if fim_rate:
            pre, suf, mid, eot = (tokenizer.token_to_id(t) for t in FIM_TOKENS)
            self.fim_ids = samples.FimIds(self.bos, pre, suf, mid, eot)

    def sample(self, fim: bool) -> list[int]:
        if fim:
            text = self.rng.choices(self.texts, self.weights)[0]
            return samples.fim_sample(self.tokenizer, text, self.fim_ids, SEQUENCE_LENGTH, self.rng)
        return samples.lm_window(self.stream, SEQUENCE_LENGTH, self.bos, self.rng)

    def batch(self, size: int, fim: bool | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        rows = [self.sample(self.rng.random() < self.fim_rate if fim is None else fim)
                for _ in range(size)]
        inputs, labels = samples.to_batch(rows, SEQUENCE_LENGTH, pad=self.eos)
        return torch.from_numpy(inputs), torch.from_numpy(labels)


@torch.no_grad()
def held_out_loss(model: LlamaForCausalLM, batches: list[tuple[torch.Tensor, torch.Tensor]]) -> float:
    model.eval()
    losses = []
    for inputs, labels in batches:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            losses.append(model(input_ids=inputs, labels=labels).loss.item())
    model.train()
    return float(np.mean(losses))


def learning_rate(peak: float, step: int, progress: float) -> float:
    warmup = min(1.0, (step + 1) / 100)
    return peak * warmup * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--role", choices=SHAPES, required=True)
    parser.add_argument("--minutes", type=float, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--work", type=Path, default=Path(".train"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--init", type=Path, help="continue from this checkpoint directory")
    parser.add_argument("--fim-rate", type=float, help=f"share of FIM samples (target default {FIM_RATE})")
    parser.add_argument("--peak-lr", type=float, help="peak learning rate (default per role)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    args.work.mkdir(parents=True, exist_ok=True)
    log = (args.work / f"{args.role}.log").open("a")

    def report(**fields) -> None:
        line = json.dumps(fields)
        print(line, flush=True)
        log.write(line + "\n")
        log.flush()

    train_files, held_files = corpus.load_split(False), corpus.load_split(True)
    base = base_tokenizer(args.work, train_files)
    assert base.get_vocab_size() == BASE_VOCAB_SIZE
    tokenizer = with_fim_tokens(base) if args.role == "target" else base
    fim_rate = 0.0 if args.role == "draft" else (FIM_RATE if args.fim_rate is None else args.fim_rate)
    peak_lr = args.peak_lr or PEAK_LR[args.role]
    train = Sampler(tokenizer, train_files, fim_rate, seed=args.seed)
    held = Sampler(tokenizer, held_files, fim_rate, seed=1234)
    eval_lm = [held.batch(8, fim=False) for _ in range(EVAL_SAMPLES // 8)]
    eval_fim = [held.batch(8, fim=True) for _ in range(EVAL_SAMPLES // 8)] if fim_rate else []

    model = LlamaForCausalLM.from_pretrained(args.init, dtype=torch.float32) if args.init \
        else build_model(args.role, tokenizer)
    parameters = sum(p.numel() for p in model.parameters())
    report(event="start", role=args.role, parameters=parameters, train_files=len(train_files),
           held_out_files=len(held_files), train_tokens=int(len(train.stream)))
    optimizer = torch.optim.AdamW(model.parameters(), lr=peak_lr, betas=(0.9, 0.95),
                                  weight_decay=0.1)
    budget, started, last_snapshot, step, tokens = args.minutes * 60, time.monotonic(), time.monotonic(), 0, 0
    while (elapsed := time.monotonic() - started) < budget:
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(peak_lr, step, elapsed / budget)
        inputs, labels = train.batch(BATCH_SIZE)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            loss = model(input_ids=inputs, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        step, tokens = step + 1, tokens + int((labels != samples.IGNORE).sum())
        if step % 25 == 0:
            report(event="step", step=step, loss=round(loss.item(), 4), minutes=round(elapsed / 60, 2),
                   tokens_per_s=round(tokens / elapsed))
        if time.monotonic() - last_snapshot > 600:
            model.save_pretrained(args.work / f"{args.role}-latest")
            as_transformers(tokenizer).save_pretrained(args.work / f"{args.role}-latest")
            report(event="eval", step=step, held_out_loss=round(held_out_loss(model, eval_lm), 4))
            last_snapshot = time.monotonic()

    minutes = (time.monotonic() - started) / 60
    stats = dict(role=args.role, parameters=parameters, steps=step, tokens=tokens,
                 minutes=round(minutes, 1), tokens_per_s=round(tokens / (minutes * 60)),
                 sequence_length=SEQUENCE_LENGTH, batch_size=BATCH_SIZE, fim_rate=fim_rate,
                 held_out_loss=round(held_out_loss(model, eval_lm), 4),
                 threads=args.threads, torch=torch.__version__, peak_lr=peak_lr,
                 init=str(args.init) if args.init else None)
    if eval_fim:
        stats["held_out_fim_loss"] = round(held_out_loss(model, eval_fim), 4)
    report(event="done", **stats)
    model.to(torch.bfloat16).save_pretrained(args.out)
    as_transformers(tokenizer).save_pretrained(args.out)
    (args.out / "training.json").write_text(json.dumps(stats, indent=2) + "\n")


if __name__ == "__main__":
    main()
