"""Whisper models by name: ``asr.model: large-v3`` (or ``distil-large-v3``, ``turbo``, any
faster-whisper size, or a Hugging Face hub id such as ``Systran/faster-whisper-small``).

A name is looked up in the standard Hugging Face cache first (``HF_HUB_CACHE``, by default
``~/.cache/huggingface/hub``), without touching the network; only a model not there yet is
downloaded, through ``huggingface_hub`` as faster-whisper itself does, with its progress bar on
stderr. Offline (``HF_HUB_OFFLINE=1``, or no connection) a missing model is a one-line error
that names the local-directory alternative. An existing local directory always wins over a
name, so ``asr.model: /models/faster-whisper-large-v3`` never goes near the hub.
"""

from __future__ import annotations

import re
from pathlib import Path

from notsofar.errors import NotsofarError

#: the files of a CTranslate2 Whisper model (faster_whisper.utils.download_model's patterns)
FILES = ["config.json", "preprocessor_config.json", "model.bin", "tokenizer.json", "vocabulary.*"]

#: ``owner/name`` of a hub repository (a path that does not exist is not taken for one when it
#: starts with ``.``, ``/`` or ``~``)
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def known_names() -> dict[str, str]:
    """faster-whisper's model names and the hub repositories they stand for."""
    from faster_whisper import utils

    return dict(utils._MODELS)  # the table download_model uses; no public accessor


def repo_id(name: str) -> str | None:
    """The hub repository ``name`` stands for, or None when it is not a model name.

    >>> repo_id("large-v3"), repo_id("Systran/faster-whisper-small"), repo_id("./models/x")
    ('Systran/faster-whisper-large-v3', 'Systran/faster-whisper-small', None)
    """
    names = known_names()
    if name in names:
        return names[name]
    return name if _REPO_ID.match(name) else None


def cache_dir() -> Path:
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def is_offline() -> bool:
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


def _offline_error(name: str, repo: str) -> NotsofarError:
    local = name.rsplit("/", 1)[-1]
    if not local.startswith("faster-"):
        local = f"faster-whisper-{local}"
    return NotsofarError(
        f"ASR model {name!r} ({repo}) is not in the Hugging Face cache {cache_dir()} and cannot "
        f"be downloaded offline; fetch it on a connected machine (hf download {repo}) or give a "
        f"local CTranslate2 directory: --set asr.model=/path/to/{local}"
    )


def resolve(name: str, download: bool = True) -> Path:
    """A local CTranslate2 Whisper directory for ``asr.model``: the directory itself, or the
    cached (if need be downloaded) snapshot of a model name or hub id."""
    path = Path(name).expanduser()
    repo = None if path.exists() else repo_id(name)
    if repo is None:
        if not path.exists():
            raise NotsofarError(
                "ASR model directory not found (or give a faster-whisper name such as "
                "large-v3, distil-large-v3, turbo, or a hub id)",
                path=path,
            )
        check_ct2_dir(path)
        return path
    import huggingface_hub
    from huggingface_hub import errors

    try:
        snapshot = huggingface_hub.snapshot_download(
            repo, allow_patterns=FILES, local_files_only=True
        )
    except (errors.LocalEntryNotFoundError, FileNotFoundError, OSError, ValueError):
        if not download or is_offline():
            raise _offline_error(name, repo) from None
        try:  # huggingface_hub's own progress bar, on stderr
            snapshot = huggingface_hub.snapshot_download(repo, allow_patterns=FILES)
        except (errors.RepositoryNotFoundError, errors.RevisionNotFoundError):
            raise NotsofarError(
                f"ASR model {name!r}: no such repository on the Hugging Face hub ({repo}); "
                f"faster-whisper names: {', '.join(known_names())}"
            ) from None
        except (errors.LocalEntryNotFoundError, errors.HfHubHTTPError, OSError):
            raise _offline_error(name, repo) from None
    path = Path(snapshot)
    check_ct2_dir(path)
    return path


def check_ct2_dir(path: Path) -> None:
    """A one-line error unless ``path`` is a CTranslate2 Whisper model directory."""
    if not path.exists():
        raise NotsofarError("ASR model directory not found", path=path)
    if not path.is_dir() or not (path / "model.bin").is_file():
        raise NotsofarError(
            "not a CTranslate2 Whisper model directory (no model.bin); convert with "
            "ct2-transformers-converter",
            path=path,
        )
    if not (path / "config.json").is_file():
        raise NotsofarError("CTranslate2 model directory has no config.json", path=path)
