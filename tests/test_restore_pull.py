"""``notsofar models pull voicefixer`` against a local HTTP server (no network).

Zenodo cannot be reached from tests, so the boundary is an ``http.server`` on 127.0.0.1 serving
checkpoints in the official key layout (every tensor a zero broadcast to its official shape, so
the files are a few hundred kB yet load strictly), reached through the URL override. Everything
after the socket (streaming, size check, strict load, atomic placement, the CLI) is the real code.
"""

from __future__ import annotations

import functools
import http.server
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from notsofar.errors import NotsofarError

torch = pytest.importorskip("torch")


def _small(state: dict) -> dict:
    return {k: torch.zeros((), dtype=v.dtype).expand(v.shape) for k, v in state.items()}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A local server with vf.ckpt and the vocoder checkpoint (official layout); its base URL."""
    from notsofar.restore.voicefixer import VoiceFixerModel, official_state_dicts

    d = tmp_path_factory.mktemp("zenodo")
    analysis, vocoder = official_state_dicts(VoiceFixerModel())
    torch.save(_small(analysis), d / "vf.ckpt")
    torch.save({"generator": _small(vocoder["generator"])}, d / "model.ckpt-1490000_trimed.pt")
    (d / "broken").mkdir()
    (d / "broken" / "vf.ckpt").write_bytes(b"<html>not a checkpoint</html>")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(d))
    handler.log_message = lambda *a, **k: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", d
    finally:
        server.shutdown()
        server.server_close()


def test_official_urls_and_cache_layout(tmp_path: Path) -> None:
    from notsofar.restore.pull import VOICEFIXER_FILES, cached_paths

    urls = {f.role: f.url for f in VOICEFIXER_FILES}
    # the records voicefixer/restorer/__init__.py and voicefixer/vocoder/__init__.py use
    assert urls["analysis"].startswith("https://zenodo.org/record/5600188/files/vf.ckpt")
    assert urls["vocoder"].startswith(
        "https://zenodo.org/record/5469951/files/model.ckpt-1490000_trimed.pt"
    )
    p = cached_paths(tmp_path)
    assert p["analysis"] == tmp_path / "analysis_module/checkpoints/vf.ckpt"
    assert p["vocoder"] == tmp_path / "synthesis_module/44100/model.ckpt-1490000_trimed.pt"


def test_pull_downloads_verifies_and_is_found(
    served: tuple[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from notsofar.restore import check_backend
    from notsofar.restore.config import RestoreConfig
    from notsofar.restore.pull import pull_voicefixer

    url, src = served
    seen: dict[str, list[int]] = {}

    def progress(label: str, total: int | None):  # noqa: ANN202
        seen[label] = [total or -1, 0]
        return lambda n: seen[label].__setitem__(1, seen[label][1] + n)

    out = pull_voicefixer(tmp_path, url, progress=progress)
    assert {k: s for k, (_, s) in out.items()} == {
        "analysis": "downloaded",
        "vocoder": "downloaded",
    }
    for name, (total, got) in seen.items():
        assert total == got == (src / name).stat().st_size
    assert (tmp_path / "analysis_module/checkpoints/vf.ckpt").read_bytes() == (
        src / "vf.ckpt"
    ).read_bytes()
    assert not list(tmp_path.rglob(".*.tmp*"))  # no temporary file left behind
    # a second pull finds them and does not download
    again = pull_voicefixer(tmp_path, url)
    assert {s for _, s in again.values()} == {"present"}
    # the backend finds weights in the voicefixer cache without checkpoint_dir
    monkeypatch.setenv("NOTSOFAR_VOICEFIXER_CACHE", str(tmp_path))
    check_backend(RestoreConfig(backend="voicefixer"))


def test_pull_rejects_a_file_in_another_layout(served: tuple[str, Path], tmp_path: Path) -> None:
    from notsofar.restore.pull import pull_voicefixer

    url, _ = served
    with pytest.raises(NotsofarError, match="cannot load checkpoint") as e:
        pull_voicefixer(tmp_path, url + "/broken")
    assert "\n" not in str(e.value)
    assert not (tmp_path / "analysis_module/checkpoints/vf.ckpt").exists()
    assert not list(tmp_path.rglob("*.tmp*"))


def test_offline_says_what_to_fetch_and_where(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, NOTSOFAR_VOICEFIXER_URL=f"http://127.0.0.1:{port}")
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "notsofar.cli.main",
            "models",
            "pull",
            "voicefixer",
            "-q",
            "--cache-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "https://zenodo.org/record/5600188/files/vf.ckpt" in lines[0]
    assert str(tmp_path / "synthesis_module/44100/model.ckpt-1490000_trimed.pt") in lines[0]
    assert not list(tmp_path.rglob("*.ckpt"))


def test_cli_pull_against_local_server(served: tuple[str, Path], tmp_path: Path) -> None:
    url, _ = served
    env = dict(os.environ, NOTSOFAR_VOICEFIXER_URL=url, NOTSOFAR_VOICEFIXER_CACHE=str(tmp_path))
    r = subprocess.run(
        [sys.executable, "-m", "notsofar.cli.main", "models", "pull", "voicefixer"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert r.returncode == 0, r.stderr
    assert "downloaded, verified" in r.stderr
    assert (tmp_path / "synthesis_module/44100/model.ckpt-1490000_trimed.pt").is_file()
