"""Byte-level BPE tokenizer for the embedded pair, trained offline with `tokenizers`.

The draft gets the base vocabulary only; the target gets four fill-in-the-middle tokens
appended after it, mirroring CodeLlama's 32016 ids against Llama-2's 32000.
"""

from __future__ import annotations

from collections.abc import Iterable

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import PreTrainedTokenizerFast

BASE_VOCAB_SIZE = 8192
UNK, BOS, EOS = "<unk>", "<s>", "</s>"
FIM_TOKENS = ("<PRE>", "<SUF>", "<MID>", "<EOT>")


def train_base_tokenizer(texts: Iterable[str], vocab_size: int = BASE_VOCAB_SIZE) -> Tokenizer:
    tokenizer = Tokenizer(models.BPE(unk_token=None))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=[UNK, BOS, EOS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tokenizer.train_from_iterator(texts, trainer)
    # Like Llama's tokenizer: BOS in front when special tokens are requested.
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A", special_tokens=[(BOS, tokenizer.token_to_id(BOS))]
    )
    return tokenizer


def with_fim_tokens(base: Tokenizer) -> Tokenizer:
    """A copy of `base` with the FIM tokens appended right after its vocabulary."""
    target = Tokenizer.from_str(base.to_str())
    target.add_special_tokens(list(FIM_TOKENS))
    for offset, token in enumerate(FIM_TOKENS):
        assert target.token_to_id(token) == base.get_vocab_size() + offset, token
    return target


def as_transformers(tokenizer: Tokenizer) -> PreTrainedTokenizerFast:
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, bos_token=BOS, eos_token=EOS, unk_token=UNK,
        model_max_length=2048, clean_up_tokenization_spaces=False,
    )
