"""The target tokenizer's text side, which every generator offers the completion layer
the same way (`token_id`, `encode`, `decode`, `bos_id`): the local pair (models/pair.py)
and the remote engine (models/remote/) alike, so a prompt is the same ids on both."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import partial

from transformers import PreTrainedTokenizerBase

LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class TargetText:
    def __init__(self, tokenizer: PreTrainedTokenizerBase):
        self.tokenizer = tokenizer
        # CodeLlamaTokenizer reads any text holding its fill_token ("<FILL_ME>") as an
        # infilling request: it inserts ▁<PRE>/▁<SUF>/▁<MID> ids (or returns nothing for the
        # bare token) and leaves its normalizer changed for later calls. Tandem lays out
        # infilling prompts itself (completion/formats.py), so a buffer that spells the fill
        # token must stay text.
        if getattr(tokenizer, "fill_token", None) is not None:
            tokenizer.fill_token = None
        self._eos_id = tokenizer.eos_token_id
        self.bos_id: int | None = tokenizer.bos_token_id
        self._vocab = tokenizer.get_vocab()
        # Decoding a continuation after an anchor keeps SentencePiece's leading spaces.
        self._anchor = tokenizer.encode("a", add_special_tokens=False)
        self._anchor_text = tokenizer.decode(self._anchor)
        # Continuations are decoded after every token (stop rules read the text): where
        # transformers' decode would only wrap the Rust tokenizer's (no clean-up of spaces),
        # call that directly; the wrapper's argument handling cost 0.07 ms a token, a tenth
        # of a llama.cpp step of the embedded target.
        backend = getattr(tokenizer, "_tokenizer", None)
        direct = backend is not None and not tokenizer.clean_up_tokenization_spaces
        self._decode_ids = (partial(backend.decode, skip_special_tokens=True) if direct
                            else partial(tokenizer.decode, skip_special_tokens=True))
        # SentencePiece (LLaMA's, CodeLlama's) writes its dummy "▁" before every text, also
        # one that starts with a space: " x" is "▁▁x". transformers 5 rebuilds these
        # tokenizers with Metaspace(prepend_scheme="first"), which writes none when the text
        # already starts with one, so a prompt starting with indentation lost a space against
        # what the model was trained on (Meta's infilling prompt encodes the prefix so).
        # Such a tokenizer splits " a" as it splits "a", with a "▁" on the piece.
        self._dummy_prefix = (self._anchor == tokenizer.encode(" a", add_special_tokens=False)
                              and tokenizer.convert_ids_to_tokens(self._anchor)[0].startswith("▁"))

    def token_id(self, token: str) -> int | None:
        """Id of a token spelled exactly so in the target's vocabulary (e.g. a FIM token)."""
        return self._vocab.get(token)

    def encode(self, text: str) -> list[int]:
        """Ids of user text, always as text: a buffer that spells `<s>`, `<PRE>` or
        `<|endoftext|>` gets those characters, never the control tokens (prompt layouts add
        theirs by id). A lone surrogate, which no tokenizer accepts, becomes U+FFFD."""
        text = LONE_SURROGATE.sub("\ufffd", text)
        if self._dummy_prefix and text.startswith((" ", "▁")):
            text = " " + text  # SentencePiece's dummy prefix, which the tokenizer skips here (see __init__)
        return self.tokenizer.encode(text, add_special_tokens=False, split_special_tokens=True)

    def decode(self, ids: Sequence[int]) -> str:
        return self._decode_ids([*self._anchor, *ids])[len(self._anchor_text):]
