"""The NOTSOFAR-1 CSS training-set format: read it, and write shards the official loader reads.

A shard is an uncompressed ``.tar`` holding ``utterances.map`` (JSON ``{id: num_samples}``) and,
per example, ``<id>.json`` (column metadata) plus one raw little-endian binary file per column,
``<id>.<column>``. An unsharded folder has ``*.map`` files next to the per-example files.

Columns are ``[T, ...]`` arrays (first dimension = samples): ``mixture`` int16 ``[T, mics]``,
``gt_spk_direct_early_echoes`` / ``gt_spk_reverb`` int16 ``[T, mics, spks]``, ``gt_noise`` int16
``[T, mics]``, ``gt_spk_activity_scores`` int8 ``[T, spks]`` (-1 silent, 0 borderline,
1 speaking). An int16 column has a scalar ``<col>_scale`` column; float value = int / scale.
Extra per-example files (ours: ``<id>.seglst.json``, ``<id>.rttm``) are ignored by that loader.
"""

from __future__ import annotations

import json
import tarfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path

import numpy as np

from notsofar.errors import NotsofarError

MAP_NAME = "utterances.map"


def scale_for(x: np.ndarray) -> float:
    """The int16 scale of a float array: a whole number (``floor(32767 / peak)``, so it survives
    the text round trip) with ``|x| * scale <= 32767``."""
    return scale_for_peak(peak_of(x))


def peak_of(x: np.ndarray) -> float:
    """Largest absolute value of ``x`` (0 if empty): two reductions, no ``|x|`` temporary."""
    return max(float(x.max()), -float(x.min())) if x.size else 0.0


def scale_for_peak(peak: float) -> float:
    """:func:`scale_for` of an array whose largest absolute value is ``peak``."""
    scale = float(np.floor(32767.0 / peak)) if peak > 0 else 32767.0
    return max(scale, 1.0)


def quantize(
    x: np.ndarray,
    buffers: dict | None = None,
    key: str = "",
    out: np.ndarray | None = None,
    scale: float | None = None,
) -> tuple[np.ndarray, float]:
    """Float array -> (int16 array, scale) with ``x ~= int / scale`` and no clipping.

    ``out``: a C-ordered ``<i2`` array of x's shape to fill (e.g. a view of a shard's staging
    buffer); ``scale``: :func:`scale_for` of x when already known. ``buffers``: a dict the
    caller keeps between calls; the float scratch array is taken from it under ``key``, so a
    writer that quantizes example after example touches the same warm memory each time.

    >>> q, s = quantize(np.array([0.5, -0.25], dtype=np.float32))
    >>> s, q.tolist()
    (65534.0, [32767, -16384])
    """
    scale = scale_for(x) if scale is None else scale
    q = np.empty(x.shape, dtype="<i2") if out is None else out
    if x.ndim == 0:
        q[...] = np.rint(x * np.float32(scale))
        return q, scale
    # |x| * floor(32767 / peak) <= 32767, so no clip is needed. Scale and round in the memory
    # order of x (often a transposed view), then cast into a C-ordered int16 array; block by
    # block along the first axis, so the float scratch stays in cache
    tmp = _scratch(x[:QUANTIZE_ROWS], buffers, key)
    transposed = x.ndim >= 2 and not x.flags.c_contiguous and x.shape[-1] <= 64
    for a in range(0, x.shape[0], QUANTIZE_ROWS):
        xs, qs = x[a : a + QUANTIZE_ROWS], q[a : a + QUANTIZE_ROWS]
        ts = tmp[: len(xs)]
        np.multiply(xs, np.float32(scale), out=ts)
        np.rint(ts, out=ts)
        if transposed:
            # a [T, mics, spks] view of [spks, mics, T] images: one 2-D transposing cast per
            # trailing index is ~1.7x faster than numpy's one 3-D cast with a 3-element loop
            for j in range(x.shape[-1]):
                qs[..., j] = ts[..., j]
        else:
            qs[...] = ts
    return q, scale


#: Rows (samples) :func:`quantize` converts at a time: a block of a ``[T, 7, 3]`` column is
#: 0.7 MB of float scratch, which stays in a core's cache between the scale, round and cast
#: passes instead of streaming three times through memory.
QUANTIZE_ROWS = 8192


def _scratch(x: np.ndarray, buffers: dict | None, key: str) -> np.ndarray:
    """A float32 array of x's shape laid out in x's memory order (reused from ``buffers``)."""
    order = tuple(np.argsort(x.strides, kind="stable"))
    if buffers is not None:
        held = buffers.get(key)
        if held is not None and held[0] == (x.shape, order):
            return held[1]
    tmp = np.empty_like(x, dtype=np.float32, order="K")
    if buffers is not None:
        buffers[key] = ((x.shape, order), tmp)
    return tmp


def column_meta(a: np.ndarray, dtype: np.dtype | None = None) -> dict:
    """The ``<id>.json`` entry of one array column stored as ``dtype`` (default ``a``'s), with
    the fields the official loader expects."""
    dtype = np.dtype(a.dtype if dtype is None else dtype)
    per_row = int(np.prod(a.shape[1:])) if a.ndim > 1 else 1
    return {
        "dtype": str(dtype.newbyteorder("=").name),
        "shape": list(a.shape),
        "itemsize": int(dtype.itemsize),
        "element_in_row": per_row,
        "row_size": per_row * int(dtype.itemsize),
    }


#: An example's file content: raw bytes, or an array column with its int16 scale (None: int8,
#: stored as is).
Content = bytes | tuple[np.ndarray, float | None]


def encode_example(
    example_id: str,
    columns: Mapping[str, np.ndarray],
    peaks: Mapping[str, float] | None = None,
) -> tuple[dict, dict[str, Content]]:
    """Plan one example: (metadata JSON, {file suffix: content}) for float/int8 ``[T, ...]``
    columns.

    Float columns are quantized to int16 with a ``<col>_scale`` when written (by
    :func:`write_shard`, straight into its staging buffer); int8 columns are stored as is.
    ``peaks``: the largest absolute value of some float columns, when the caller already knows
    it (the scale is then not searched for in the column).
    """
    meta_cols: dict[str, dict] = {}
    files: dict[str, Content] = {}
    for name, arr in columns.items():
        arr = np.asarray(arr)
        if arr.dtype == np.int8:  # activity: stored as is
            meta_cols[name] = column_meta(arr)
            files[name] = (arr, None)
        else:
            known = (peaks or {}).get(name)
            scale = scale_for(arr) if known is None else scale_for_peak(known)
            meta_cols[name] = column_meta(arr, np.dtype("<i2"))
            meta_cols[f"{name}_scale"] = {"values": repr(scale)}
            files[name] = (arr, scale)
    meta = {"index_name": None, "index_value": example_id, "columns": meta_cols}
    return meta, files


def _member(name: str, size: int) -> bytes:
    """A tar header with fixed metadata, so the same content gives a byte-identical tar."""
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = 0
    info.mode = 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info.tobuf(tarfile.GNU_FORMAT, "utf-8", "surrogateescape")


def _size(content: Content) -> int:
    """Bytes ``content`` takes in the tar (an int16 column: 2 per value)."""
    if isinstance(content, bytes):
        return len(content)
    arr, scale = content
    return arr.size * (2 if scale is not None else arr.dtype.itemsize)


class _TarWriter:
    """Writes tar members example by example from one reused, page-aligned staging buffer.

    Headers, metadata and each column's int16 values are put straight into the buffer at
    their place in the tar (no intermediate copies), and the whole example goes out in one
    write: past the page cache where the system allows it (:class:`~.system.DirectFile`).
    Everything tar writes is whole 512-byte blocks, which is what direct I/O asks for.

    A direct write returns when the device has the data (~8 ms for an 18 MB example here), so
    it runs on a writer thread while the caller makes the next example; :meth:`add` waits for
    it before refilling the buffer, and :meth:`close` before closing the file.
    """

    def __init__(self, path: Path) -> None:
        from concurrent.futures import Future, ThreadPoolExecutor

        from notsofar.simulate.system import DirectFile

        self.file = DirectFile(path)
        self._held = np.empty(0, dtype=np.uint8)
        self.scratch: dict = {}  # quantization's float scratch, by column
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="shard-writer")
        self._pending: Future | None = None

    def _wait(self) -> None:
        """Wait for the write in flight (its error, if any, is raised here)."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def close(self) -> None:
        try:
            self._wait()
        finally:
            self._thread.shutdown()
            self.file.close()

    def __enter__(self) -> _TarWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _staging(self, size: int) -> np.ndarray:
        from notsofar.simulate.system import PAGE

        need = size + PAGE
        if self._held.size < need:
            self._held = np.empty(max(need, self._held.size * 5 // 4), dtype=np.uint8)
        skip = -self._held.ctypes.data % PAGE
        return self._held[skip : skip + size]

    def add(self, files: list[tuple[str, Content]], end: bool = False) -> None:
        """Write ``files`` as tar members; with ``end``, then the archive's end marker."""
        self._wait()  # the staging buffer and the file offset are free again
        sizes = [_size(c) for _, c in files]
        headers = [_member(name, n) for (name, _), n in zip(files, sizes, strict=True)]
        total = sum(
            len(h) + n + (-n % tarfile.BLOCKSIZE) for h, n in zip(headers, sizes, strict=True)
        )
        trailer = 0
        if end:  # two zero blocks, then zeros to a whole record, as tarfile closes an archive
            trailer = 2 * tarfile.BLOCKSIZE
            trailer += -(self.file.offset + total + trailer) % tarfile.RECORDSIZE
        buf = self._staging(total + trailer)
        o = 0
        for (name, content), header, n in zip(files, headers, sizes, strict=True):
            buf[o : o + len(header)] = np.frombuffer(header, dtype=np.uint8)
            o += len(header)
            dst = buf[o : o + n]
            if isinstance(content, bytes):
                dst[:] = np.frombuffer(content, dtype=np.uint8)
            elif content[1] is None:
                dst.view(content[0].dtype).reshape(content[0].shape)[...] = content[0]
            else:
                arr, scale = content
                out = dst.view("<i2").reshape(arr.shape)
                quantize(arr, self.scratch, name.rsplit(".", 1)[-1], out=out, scale=scale)
            o += n
            pad = -n % tarfile.BLOCKSIZE
            buf[o : o + pad] = 0
            o += pad
        buf[o:] = 0
        self._pending = self._thread.submit(self.file.write, memoryview(buf))


def write_shard(
    path: str | Path,
    examples: Iterable[tuple],
) -> Path:
    """Write a tar shard atomically from ``(id, columns, extra files by suffix)`` items, or
    ``(id, columns, extra, peaks)`` with the columns' known peaks (:func:`encode_example`).

    ``examples`` may be a generator: each example is encoded and written before the next is
    drawn, so memory holds one example at a time. The tar is written directly (headers from
    :class:`tarfile.TarInfo`, 512-byte padding, the two-block end marker and record padding,
    as :mod:`tarfile` writes them) by :class:`_TarWriter`.
    """
    from notsofar.io.atomic import atomic_path

    path = Path(path)
    lengths: dict[str, int] = {}

    with atomic_path(path) as tmp:
        try:
            with _TarWriter(tmp) as writer:
                for ex_id, columns, extra, *known in examples:
                    meta, files = encode_example(ex_id, columns, *known)
                    lengths[ex_id] = int(np.asarray(columns["mixture"]).shape[0])
                    items = [(f"{ex_id}.json", json.dumps(meta).encode())]
                    items += [(f"{ex_id}.{k}", v) for k, v in [*files.items(), *extra.items()]]
                    writer.add(items)
                writer.add([(MAP_NAME, json.dumps(lengths).encode())], end=True)
        except OSError as e:
            raise NotsofarError(f"cannot write shard: {e.strerror}", path=path) from None
    return path


def decode_example(
    meta: Mapping,
    read: Callable[[str], bytes | None],
    path: str | Path = "",
    scaled: bool = True,
    missing_ok: bool = False,
) -> dict[str, np.ndarray]:
    """Decode one example's columns; ``read(column)`` returns its raw bytes (None if absent).

    Returns float32 arrays (value / scale) for scaled columns (or raw ints with
    ``scaled=False``), int8 activity as stored. A listed column without data is an error unless
    ``missing_ok`` (then it is left out).
    """
    cols = meta.get("columns")
    if not isinstance(cols, Mapping):
        raise NotsofarError("example metadata has no 'columns'", path=path or None)
    out: dict[str, np.ndarray] = {}
    for name, c in cols.items():
        if "dtype" not in c:
            continue  # a scalar column (a *_scale)
        raw = read(name)
        if raw is None:
            if missing_ok:
                continue
            raise NotsofarError(f"column {name} is listed but has no data", path=path or None)
        dtype = np.dtype(c["dtype"]).newbyteorder("<")
        shape = tuple(int(s) for s in c["shape"])
        expected = int(np.prod(shape)) * dtype.itemsize
        if len(raw) != expected:
            raise NotsofarError(
                f"column {name}: {len(raw)} bytes, expected {expected} for shape {list(shape)}",
                path=path or None,
            )
        arr = np.frombuffer(raw, dtype=dtype).reshape(shape)
        scale = cols.get(f"{name}_scale")
        if scale is not None and scaled:
            arr = (arr.astype(np.float32) / np.float32(float(scale["values"]))).astype(np.float32)
        out[name] = arr
    return out


def iter_shard(
    path: str | Path, scaled: bool = True, missing_ok: bool = False
) -> Iterator[tuple[str, dict, dict]]:
    """Yield ``(id, columns, extra files)`` for each example of a tar shard, in map order."""
    path = Path(path)
    try:
        tar = tarfile.open(path, "r")  # noqa: SIM115 (closed by the with below)
    except (OSError, tarfile.TarError) as e:
        raise NotsofarError(f"cannot read shard: {e}", path=path) from None
    with tar:
        members = {m.name: m for m in tar.getmembers()}

        def read(name: str) -> bytes | None:
            m = members.get(name)
            f = tar.extractfile(m) if m is not None else None
            return None if f is None else f.read()

        def need(name: str) -> bytes:
            data = read(name)
            if data is None:
                raise NotsofarError(f"shard has no member {name}", path=path)
            return data

        try:
            lengths = json.loads(need(MAP_NAME))
        except json.JSONDecodeError:
            raise NotsofarError(f"{MAP_NAME} is not JSON", path=path) from None
        for ex_id in lengths:
            meta = json.loads(need(f"{ex_id}.json"))
            cols = decode_example(
                meta, lambda c, i=ex_id: read(f"{i}.{c}"), path, scaled, missing_ok
            )
            known = {f"{ex_id}.json"} | {f"{ex_id}.{c}" for c in meta["columns"]}
            extra = {
                n[len(ex_id) + 1 :]: need(n)
                for n in members
                if n.startswith(f"{ex_id}.") and n not in known
            }
            yield ex_id, cols, extra


def read_shard_map(path: str | Path) -> dict[str, int]:
    """The ``utterances.map`` of a tar shard: ``{id: num_samples}``."""
    path = Path(path)
    try:
        with tarfile.open(path, "r") as tar:
            f = tar.extractfile(MAP_NAME)
            return json.loads(f.read()) if f else {}
    except (OSError, tarfile.TarError, KeyError, json.JSONDecodeError) as e:
        raise NotsofarError(f"cannot read {MAP_NAME}: {e}", path=path) from None


def read_folder(
    folder: str | Path, scaled: bool = True, missing_ok: bool = False
) -> Iterator[tuple[str, dict]]:
    """Yield ``(id, columns)`` from an unsharded folder (``*.map`` + per-example files)."""
    folder = Path(folder)
    maps = sorted(folder.glob("*.map"))
    if not maps:
        raise NotsofarError("no *.map file: not a NOTSOFAR-1 CSS folder", path=folder)
    for m in maps:
        for ex_id in json.loads(m.read_text()):
            meta_path = folder / f"{ex_id}.json"
            try:
                meta = json.loads(meta_path.read_text())
            except (OSError, json.JSONDecodeError) as e:
                raise NotsofarError(f"cannot read example metadata: {e}", path=meta_path) from None

            def read(col: str, i: str = ex_id) -> bytes | None:
                p = folder / f"{i}.{col}"
                if not p.exists():
                    return None
                try:
                    return p.read_bytes()
                except OSError as e:
                    raise NotsofarError(f"cannot read column: {e.strerror}", path=p) from None

            yield ex_id, decode_example(meta, read, meta_path, scaled, missing_ok)
