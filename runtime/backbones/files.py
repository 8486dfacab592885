"""What a backbone's files say, without torch: where they are, their digest, modality and layers.

`describe` answers the compiler's `Options.backbone` callback, for `check`
and `run` alike: a config.json is read as JSON, weights are only hashed.
Nothing is downloaded: a name that is not a local folder is looked up in the
Hugging Face cache with `local_files_only`.
"""

from __future__ import annotations

import hashlib
import json
from contextvars import ContextVar
from pathlib import Path
from typing import Any

# Where relative backbone paths start (the spec's folder): set by the node that builds a network.
BASE: ContextVar[Path] = ContextVar("backbone_base", default=Path("."))

WEIGHTS = (".safetensors", ".bin", ".pt", ".pth")
_TOKENIZER = ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "spiece.model")


def locate(library: str, params: dict[str, Any], base: Path) -> Path | None:
    """The folder (or, for a plugin module, the weights file) a backbone is read from, or None."""
    path = params.get("path")
    if path is None:
        return None
    local = (Path(base) / path).expanduser()
    if local.exists():
        return local.resolve()
    if library != "hf":
        return None
    try:  # a repository id, in the local Hugging Face cache
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(path, revision=params.get("revision"), local_files_only=True))
    except Exception:
        return None


def describe(
    library: str, params: dict[str, Any], base: Path, file_digest=None, hashing: bool = True
) -> dict[str, Any] | None:
    """{"location", "digest", "modality", "layers"} of a backbone's files; None when they are absent
    (and download is not allowed: then the digest is empty, the revision names the weights)."""
    location = locate(library, params, base)
    if location is None:
        if params.get("download"):
            return {"location": params["path"], "digest": "", "modality": None, "layers": None}
        return None
    digest = folder_digest(location, file_digest) if hashing else ""
    if location.is_file():
        return {"location": str(location), "digest": digest, "modality": None, "layers": None}
    config = _config(location)
    if library == "hf":
        return {"location": str(location), "digest": digest, **_hf(location, config)}
    return {"location": str(location), "digest": digest, "modality": "image", "layers": None}


def folder_digest(location: Path, file_digest=None) -> str:
    """SHA-256 over every file of the folder (name and content): weights, configuration, tokenizer."""
    files = [location] if location.is_file() else sorted(p for p in location.rglob("*") if p.is_file())
    total = hashlib.sha256()
    for file in files:
        if any(part.startswith(".") for part in file.relative_to(location.parent).parts):
            continue
        content = file_digest(file) if file_digest else _sha256(file)
        total.update(f"{file.relative_to(location.parent).as_posix()}\0{content}\0".encode())
    return total.hexdigest()


def _sha256(file: Path) -> str:
    digest = hashlib.sha256()
    with open(file, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _config(location: Path) -> dict[str, Any]:
    try:
        return json.loads((location / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def hf_layers(config: dict[str, Any]) -> list[str] | None:
    """`hidden.0` (the embeddings) to `hidden.N` (the last block), as `output_hidden_states` gives them."""
    blocks = config.get("num_hidden_layers")
    if blocks is None and isinstance(config.get("text_config"), dict):
        blocks = config["text_config"].get("num_hidden_layers")
    if blocks is None and isinstance(config.get("depths"), list):  # convolutional stages
        blocks = len(config["depths"])
    if not isinstance(blocks, int):
        return None
    return ["last", "embeddings", *(f"hidden.{i}" for i in range(blocks + 1))]


def _hf(location: Path, config: dict[str, Any]) -> dict[str, Any]:
    text = any((location / name).exists() for name in _TOKENIZER)
    image = (location / "preprocessor_config.json").exists()
    modality = "text" if text and not image else "image" if image and not text else None
    return {"modality": modality, "layers": hf_layers(config)}
