"""Fill-in-the-middle prompt formats per model family.

A family is recognised by its FIM special tokens in the target's vocabulary
(`promptFormat: "auto"`), or named outright in `promptFormat`. A named family whose
tokens the vocabulary lacks falls back to plain left context with a warning rather than
failing: completion without the suffix is still completion.

Two layouts, after "Efficient Training of Language Models to Fill in the Middle"
(Bavarian et al. 2022, arXiv 2207.14255):
    PSM (prefix-suffix-middle): [BOS?, PRE] + prefix + [SUF] + suffix + [MID]
    SPM (suffix-first):         [BOS?, PRE, SUF] + suffix + [MID] + prefix
The model then writes the middle and ends it with one of the family's end tokens.
"""

from __future__ import annotations

from dataclasses import dataclass

from completion.generator import Generator


@dataclass(frozen=True)
class PromptFamily:
    name: str
    # Spellings of the (prefix, suffix, middle) tokens; None for plain left context.
    fim_tokens: tuple[str, str, str] | None
    # Tokens that end the middle besides EOS; only those the vocabulary has are used.
    end_tokens: tuple[str, ...] = ()
    suffix_first: bool = False  # SPM layout instead of PSM
    uses_bos: bool = True       # prepend BOS (when the tokenizer has one)
    # SentencePiece prepends "▁" to every encoded text; the suffix must not get one.
    suffix_without_leading_space: bool = False


# Meta's reference: llama/tokenizer.py in meta-llama/codellama looks up the pieces
# "▁<PRE>", "▁<SUF>", "▁<MID>", "▁<EOT>"; llama/generation.py infilling_prompt_tokens
# builds [bos, prefix_id] + encode(pre) + [suffix_id] + encode_infilling(suf) + [middle_id],
# where encode_infilling hides SentencePiece's leading "▁" (see encode_suffix).
CODELLAMA = PromptFamily(
    name="codellama",
    fim_tokens=("▁<PRE>", "▁<SUF>", "▁<MID>"),
    end_tokens=("▁<EOT>",),
    suffix_without_leading_space=True,
)

# This project's own draft/target pair (see its model card): the suffix-first variant
# that Meta's infilling_prompt_tokens(suffix_first=True) also defines, with its own
# spellings of the four tokens. Contract; keep exactly.
EMBEDDED = PromptFamily(
    name="embedded",
    fim_tokens=("<PRE>", "<SUF>", "<MID>"),
    end_tokens=("<EOT>",),
    suffix_first=True,
)

# StarCoder / StarCoderBase special_tokens_map.json (bigcode): "<fim_prefix>",
# "<fim_middle>", "<fim_suffix>", "<fim_pad>", eos "<|endoftext|>"; the bigcode playground
# builds FIM_PREFIX + prefix + FIM_SUFFIX + suffix + FIM_MIDDLE. StarCoder2 (arXiv
# 2402.19173, section 5) separates files with "<file_sep>", which can follow a middle.
# Its bos_token is "<|endoftext|>" and GPT-2-style tokenizers prepend nothing: no BOS.
STARCODER = PromptFamily(
    name="starcoder",
    fim_tokens=("<fim_prefix>", "<fim_suffix>", "<fim_middle>"),
    end_tokens=("<|endoftext|>", "<file_sep>"),
    uses_bos=False,
)

# SantaCoder (bigcode/santacoder special_tokens_map.json) spells the same tokens with
# hyphens: "<fim-prefix>", "<fim-suffix>", "<fim-middle>", "<fim-pad>"; eos "<|endoftext|>".
SANTACODER = PromptFamily(
    name="santacoder",
    fim_tokens=("<fim-prefix>", "<fim-suffix>", "<fim-middle>"),
    end_tokens=("<|endoftext|>",),
    uses_bos=False,
)

# DeepSeek-Coder README ("Code Insertion"): "<｜fim▁begin｜>" + prefix + "<｜fim▁hole｜>"
# + suffix + "<｜fim▁end｜>" (fullwidth bars U+FF5C, "▁" U+2581). tokenizer_config.json:
# add_bos_token true, bos "<｜begin▁of▁sentence｜>"; eos "<｜end▁of▁sentence｜>" (base,
# id 32014) or "<|EOT|>" (instruct, id 32021, ASCII bars).
DEEPSEEK = PromptFamily(
    name="deepseek",
    fim_tokens=("<｜fim▁begin｜>", "<｜fim▁hole｜>", "<｜fim▁end｜>"),
    end_tokens=("<|EOT|>", "<｜end▁of▁sentence｜>"),
)

# Qwen2.5-Coder examples/Qwen2.5-Coder.md (QwenLM/Qwen2.5-Coder): "<|fim_prefix|>" + prefix
# + "<|fim_suffix|>" + suffix + "<|fim_middle|>"; its eos_token_ids there are
# <|endoftext|> 151643, <|fim_pad|> 151662, <|repo_name|> 151663, <|file_sep|> 151664
# (ids per added_tokens.json), besides the FIM tokens and <|im_end|>. No BOS token.
QWEN = PromptFamily(
    name="qwen",
    fim_tokens=("<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>"),
    end_tokens=("<|endoftext|>", "<|fim_pad|>", "<|file_sep|>", "<|repo_name|>", "<|im_end|>"),
    uses_bos=False,
)

PLAIN = PromptFamily(name="plain", fim_tokens=None)

# Detection order for "auto": most specific spellings first ("▁<PRE>" before "<PRE>").
FIM_FAMILIES = (CODELLAMA, EMBEDDED, STARCODER, SANTACODER, DEEPSEEK, QWEN)
FAMILIES = {family.name: family for family in (*FIM_FAMILIES, PLAIN)}
PROMPT_FORMATS = ("auto", *(family.name for family in FIM_FAMILIES), "plain")


@dataclass(frozen=True)
class FormatChoice:
    family: PromptFamily
    prefix_id: int | None
    suffix_id: int | None
    middle_id: int | None
    end_ids: tuple[int, ...]   # end tokens present in the vocabulary, besides EOS
    bos: list[int]             # [] when the family or the tokenizer has no BOS
    warning: str | None = None  # why a requested family was replaced by plain

    @property
    def name(self) -> str:
        return self.family.name

    @property
    def is_fim(self) -> bool:
        return self.family.fim_tokens is not None

    @property
    def reserved(self) -> int:
        """Ids the layout adds around the text: what a token budget must set aside."""
        return len(self.bos) + (3 if self.is_fim else 0)


def choose_format(generator: Generator, requested: str) -> FormatChoice:
    """The format for `requested` ("auto", a family name, or "plain") on this vocabulary.

    Raises ValueError only for a name outside PROMPT_FORMATS."""
    if requested not in PROMPT_FORMATS:
        raise ValueError(f"unknown promptFormat {requested!r}; expected one of {', '.join(PROMPT_FORMATS)}")
    if requested == "auto":
        found = next((family for family in FIM_FAMILIES if not _missing(generator, family)), PLAIN)
        return _choice(generator, found)
    family = FAMILIES[requested]
    missing = _missing(generator, family)
    if missing:
        warning = (f"promptFormat '{requested}' needs the tokens {', '.join(missing)} that the "
                   "target's vocabulary lacks, so plain left context is used instead.")
        return _choice(generator, PLAIN, warning)
    return _choice(generator, family)


def layout(choice: FormatChoice, prefix_ids: list[int], suffix_ids: list[int]) -> list[int]:
    """The full prompt ids: special tokens around the encoded prefix and suffix. Plain
    left context has no place for the suffix and drops it."""
    pre, suf, mid = choice.prefix_id, choice.suffix_id, choice.middle_id
    if not choice.is_fim:
        return [*choice.bos, *prefix_ids]
    if choice.family.suffix_first:
        return [*choice.bos, pre, suf, *suffix_ids, mid, *prefix_ids]
    return [*choice.bos, pre, *prefix_ids, suf, *suffix_ids, mid]


def encode_suffix(choice: FormatChoice, generator: Generator, text: str) -> list[int]:
    """Ids of the suffix text as the family was trained to see it."""
    if choice.family.suffix_without_leading_space:
        return _encode_no_leading_space(generator, text)
    return generator.encode(text)


def _missing(generator: Generator, family: PromptFamily) -> list[str]:
    return [token for token in family.fim_tokens or () if generator.token_id(token) is None]


def _choice(generator: Generator, family: PromptFamily, warning: str | None = None) -> FormatChoice:
    ids = [generator.token_id(token) for token in family.fim_tokens] if family.fim_tokens else [None] * 3
    present = (generator.token_id(token) for token in family.end_tokens)
    end_ids = tuple(dict.fromkeys(i for i in present if i is not None))  # drop absent and repeats
    bos = [generator.bos_id] if family.uses_bos and generator.bos_id is not None else []
    return FormatChoice(family, *ids, end_ids=end_ids, bos=bos, warning=warning)


def _encode_no_leading_space(generator: Generator, text: str) -> list[int]:
    # SentencePiece prepends "▁" to a text, which the model never saw before a suffix.
    # Meta's encode_infilling encodes a marker "☺" + text and drops the marker's ids
    # (its [2:] is "▁" and "☺"); measuring the marker alone keeps that tokenizer-agnostic.
    marker = "☺"
    return generator.encode(marker + text)[len(generator.encode(marker)):]
