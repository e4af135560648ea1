"""Loading checkpoints from local directories with transformers: offline, safetensors only,
no remote code. Every failure becomes a ModelLoadError whose message names the directory
and what is wrong with it."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

# Never reach for a model hub: checkpoints are local directories.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import torch  # noqa: E402
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedTokenizerBase  # noqa: E402
from transformers.utils import logging as transformers_logging  # noqa: E402

from models.devices import Placement  # noqa: E402
from models.errors import ModelLoadError  # noqa: E402
from models.preflight import check_tokenizers, free_memory, model_need  # noqa: E402

log = logging.getLogger(__name__)
transformers_logging.disable_progress_bar()  # progress bars would flood the server's stderr


@dataclass
class LoadedModel:
    role: str
    path: Path
    model: torch.nn.Module
    tokenizer: PreTrainedTokenizerBase
    placement: Placement
    vocab_size: int  # rows of the embedding/logits, may exceed len(tokenizer)
    context_window: int
    load_seconds: float

    @property
    def name(self) -> str:
        return self.path.name


def check_checkpoint_dir(role: str, path: Path) -> None:
    """Fail early, with a precise message, on directories that cannot be a checkpoint."""
    if not path.exists():
        raise ModelLoadError(f"{role} model directory '{path}' does not exist")
    if not path.is_dir():
        raise ModelLoadError(f"{role} model path '{path}' is a file; point it at a checkpoint directory")
    if not (path / "config.json").is_file():
        raise ModelLoadError(
            f"{role} model directory '{path}' is not a transformers checkpoint (no config.json)"
        )
    if not any(path.glob("*.safetensors")):
        raise ModelLoadError(
            f"{role} model directory '{path}' has no .safetensors weights "
            "(Tandem loads safetensors only; convert .bin weights first)"
        )


def load_checkpoint(role: str, path: Path, placement: Placement,
                    tokenizer: PreTrainedTokenizerBase | None = None) -> LoadedModel:
    """The model in `path` on `placement`; `tokenizer` when the preflight already read it."""
    check_checkpoint_dir(role, path)
    started = time.perf_counter()
    try:
        if tokenizer is None:
            tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True, trust_remote_code=False)
        model = AutoModelForCausalLM.from_pretrained(
            path, local_files_only=True, use_safetensors=True, trust_remote_code=False,
            dtype=placement.dtype,
        )
        model.to(placement.device).eval()
    except Exception as error:  # any failure here means the directory is not a usable model
        if _out_of_memory(error):
            raise ModelLoadError(out_of_memory_message(role, path, placement)) from error
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ModelLoadError(f"{role} model in '{path}' failed to load: {first_line}") from error
    config = model.config
    context = getattr(config, "max_position_embeddings", None) or tokenizer.model_max_length
    loaded = LoadedModel(
        role=role, path=path, model=model, tokenizer=tokenizer, placement=placement,
        vocab_size=model.get_input_embeddings().weight.shape[0], context_window=int(context),
        load_seconds=time.perf_counter() - started,
    )
    log.info("loaded %s model %s (%d ids, context %d) on %s/%s in %.2fs", role, path, loaded.vocab_size,
             loaded.context_window, placement.device, placement.dtype, loaded.load_seconds)
    return loaded


def _out_of_memory(error: BaseException) -> bool:
    return isinstance(error, (MemoryError, torch.OutOfMemoryError)) or "out of memory" in str(error).lower()


def out_of_memory_message(role: str, path: Path, placement: Placement) -> str:
    dtype = str(placement.dtype).removeprefix("torch.")
    free = free_memory(str(placement.device))[0]
    room = f"; {free / 2**30:.1f} GiB free there now" if free is not None else ""
    return (f"{role} model in '{path}' does not fit in memory on {placement.device}: its weights need about "
            f"{model_need(role, path, dtype).weights / 2**30:.1f} GiB in {dtype}, plus the KV cache{room}. "
            "Use a smaller dtype (bfloat16/float16), another device, or a smaller model")


def check_tokenizers_match(draft: LoadedModel, target: LoadedModel) -> None:
    """The draft must tokenize like the target on every id it has: both share the continuation
    (`models.preflight.check_tokenizers`, which loading runs before reading any weights)."""
    check_tokenizers(draft.tokenizer, target.tokenizer, draft.path, target.path)
