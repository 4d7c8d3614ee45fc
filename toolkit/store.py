"""The ImageStore: one LMDB environment of fixed-resolution images with optional labels.

Layout (named sub-databases, so image counts and cursors see only images):
  images    key -> pixels ("raw": HWC uint8 bytes, or "png": PNG bytes)
  labels    key -> int32 little-endian (only for labeled records)
  sources   key -> the record's source key (LSUN id, relative path, archive member, …)
  by_source source key -> key (so ingest can resume and stay idempotent)
  meta      b"metadata" -> JSON (count, resolution, channels, encoding, source, fingerprint, …)
Keys are dense, zero-padded indices, so record i lives at key b"%010d" % i.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import resource
import shutil
import struct
from pathlib import Path
from typing import Any

import lmdb
import numpy as np

from gantk.errors import GantkError, StoreError, disk_error
from gantk.locks import LOCK_NAME, DirLock

DBS = (b"images", b"labels", b"sources", b"by_source", b"meta")
META_KEY = b"metadata"
FORMAT_VERSION = 1
ENCODINGS = ("raw", "png")
_MAX_DBS = 8
_INITIAL_MAP = 64 << 20
_FINGERPRINT_MOD = 1 << 128
_MAGIC = 0xBEEFC0DE  # LMDB's meta page magic


def key_of(index: int) -> bytes:
    return b"%010d" % index


def _record_hash(key: bytes, payload: bytes, label: int | None) -> int:
    h = hashlib.blake2b(key, digest_size=16)
    h.update(payload)
    h.update(b"" if label is None else struct.pack("<i", label))
    return int.from_bytes(h.digest(), "little")


def is_store(path: str | os.PathLike[str]) -> bool:
    path = Path(path)
    return path.is_dir() and (path / "data.mdb").is_file()


def read_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The store's metadata, read in an environment that is closed before returning.

    Closing matters: py-lmdb refuses a second open of the same environment in a process,
    and forked DataLoader workers would inherit an open one.
    """
    path = Path(path)
    if not path.exists():
        raise StoreError(f"{path}: no such ImageStore; create one with `gantk ingest` "
                         "or point --data at an existing store")
    if not is_store(path):
        raise StoreError(f"{path} is not an ImageStore (no data.mdb inside); "
                         f"create one with `gantk ingest SOURCE SRC {path}`")
    cached = _ENVS.get(str(path.resolve()))
    if cached is not None:
        return _read_meta(cached)
    check_data_file(path)
    try:
        with lmdb.open(str(path), readonly=True, lock=False, readahead=False,
                       max_dbs=_MAX_DBS) as env:
            return _read_meta(env)
    except lmdb.Error as exc:
        raise StoreError(f"{path} is not a readable ImageStore ({exc}); re-create it "
                         "with `gantk ingest`") from None


def check_data_file(path: Path) -> None:
    """Refuse a truncated data.mdb before LMDB maps it: reading a mapped page past the end
    of the file kills the process with SIGBUS, no message. The two LMDB meta pages at the
    start say where the last committed page ends (LMDB 0.9 layout, 64-bit)."""
    data = path / "data.mdb"
    try:
        with open(data, "rb") as fh:
            head = fh.read(2 * 4096)
            size = os.fstat(fh.fileno()).st_size
    except OSError as exc:
        raise StoreError(f"{data} cannot be read ({exc.strerror}); check its permissions") from None
    metas = []
    for offset in (0, 4096):
        if len(head) >= offset + 152 and struct.unpack_from("<I", head, offset + 16)[0] == _MAGIC:
            page_size = struct.unpack_from("<I", head, offset + 40)[0]
            last_page, txn = struct.unpack_from("<QQ", head, offset + 136)
            metas.append((txn, (last_page + 1) * page_size))
    if not metas:
        raise StoreError(f"{data} is not an LMDB file (damaged or truncated to {size} bytes); "
                         f"re-create the store with `gantk ingest … {path} --overwrite`")
    needed = max(metas)[1]
    if size < needed:
        raise StoreError(f"{data} is truncated ({size} bytes, its last page ends at {needed}); "
                         f"restore it from a copy or re-create it with `gantk ingest … {path} "
                         "--overwrite`")


def verify_store(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Re-read every record and check it against the metadata's count and fingerprint
    (a blake2b sum over key, pixels and label); a mismatch is a StoreError naming it."""
    path = Path(path)
    meta = read_metadata(path)
    total, count, labels_seen = 0, 0, 0
    try:
        images_db, labels_db = _reader_db(path, b"images"), _reader_db(path, b"labels")
        with _reader_env(path).begin(buffers=True) as txn:
            for key, payload in txn.cursor(db=images_db):
                key = bytes(key)
                raw = txn.get(key, db=labels_db)
                label = None if raw is None else struct.unpack("<i", bytes(raw))[0]
                labels_seen += raw is not None
                if key != key_of(count):
                    raise StoreError(f"{path} is damaged: record {count} has key {key!r}; "
                                     "re-create it with `gantk ingest … --overwrite`")
                total = (total + _record_hash(key, bytes(payload), label)) % _FINGERPRINT_MOD
                count += 1
    except lmdb.Error as exc:
        raise StoreError(f"{path} is damaged ({exc}); re-create it with "
                         "`gantk ingest … --overwrite`") from None
    if count != meta["count"]:
        raise StoreError(f"{path} is damaged: it holds {count} images but its metadata says "
                         f"{meta['count']}; re-run the ingest to repair it")
    if f"{total:032x}" != meta["fingerprint"]:
        raise StoreError(f"{path} is damaged: the images do not match the fingerprint "
                         f"{meta['fingerprint']} recorded at ingest (bytes changed on disk); "
                         "re-create it with `gantk ingest … --overwrite` or restore a copy")
    return {"count": count, "labeled": labels_seen, "fingerprint": meta["fingerprint"]}


class UnfinishedStoreError(StoreError):
    """An LMDB that a writer was creating when it was killed: only our named databases,
    no metadata yet, so no images. A writer may start it afresh."""


def _read_meta(env: lmdb.Environment) -> dict[str, Any]:
    try:
        meta_db = env.open_db(b"meta", create=False)
    except lmdb.Error:
        meta_db = None
    raw = None
    if meta_db is not None:
        with env.begin(db=meta_db) as txn:
            raw = txn.get(META_KEY)
    if raw is not None:
        return json.loads(raw)
    if _only_our_databases(env):
        raise UnfinishedStoreError(f"{env.path()} is an ImageStore whose creation was "
                                   "interrupted (no images yet); run the ingest again")
    raise StoreError(f"{env.path()} is an LMDB but not an ImageStore (no metadata); "
                     "create one with `gantk ingest`")


def _only_our_databases(env: lmdb.Environment) -> bool:
    """Whether the main database holds nothing but (some of) our named databases: never
    true of a foreign LMDB (LSUN's, say), which must not be replaced unasked."""
    with env.begin() as txn:
        return all(bytes(key) in DBS for key, _ in txn.cursor())


# py-lmdb allows one open environment per path and process: share read-only handles.
_ENVS: dict[str, lmdb.Environment] = {}
_ENV_PID: dict[str, int] = {}


def _reader_env(path: Path) -> lmdb.Environment:
    resolved = str(path.resolve())
    env = _ENVS.get(resolved)
    if env is not None and _ENV_PID.get(resolved) == os.getpid():
        return env
    check_data_file(path)
    env = lmdb.open(resolved, readonly=True, lock=False, readahead=False, max_dbs=_MAX_DBS)
    _ENVS[resolved] = env
    _ENV_PID[resolved] = os.getpid()
    return env


_DBS: dict[tuple[str, bytes], Any] = {}


def _reader_db(path: Path, name: bytes) -> Any:
    env = _reader_env(path)
    key = (str(path.resolve()), name)
    if key not in _DBS or _DBS[key][0] is not env:
        _DBS[key] = (env, env.open_db(name, create=False))
    return _DBS[key][1]


def close_readers(path: str | os.PathLike[str] | None = None) -> None:
    """Close cached read-only environments (all, or the one at `path`)."""
    targets = list(_ENVS) if path is None else [str(Path(path).resolve())]
    for resolved in targets:
        env = _ENVS.pop(resolved, None)
        _ENV_PID.pop(resolved, None)
        if env is not None and _ENV_PID.get(resolved, os.getpid()) == os.getpid():
            env.close()


def encode_pixels(pixels: np.ndarray, encoding: str) -> bytes:
    if encoding == "raw":
        return np.ascontiguousarray(pixels, dtype=np.uint8).tobytes()
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(pixels.squeeze(-1) if pixels.shape[-1] == 1 else pixels).save(
        buf, format="PNG", compress_level=1)
    return buf.getvalue()


def decode_pixels(payload: bytes, encoding: str, resolution: int, channels: int) -> np.ndarray:
    if encoding == "raw":
        return np.frombuffer(payload, dtype=np.uint8).reshape(resolution, resolution, channels)
    from PIL import Image

    arr = np.asarray(Image.open(io.BytesIO(payload)))
    return arr.reshape(resolution, resolution, channels)


class ImageStore:
    """Read side. Opens the environment lazily (per process: safe in DataLoader workers)."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self.meta = read_metadata(self.path)
        self.count: int = self.meta["count"]
        self.resolution: int = self.meta["resolution"]
        self.channels: int = self.meta["channels"]
        self.encoding: str = self.meta["encoding"]
        self.labeled: bool = bool(self.meta.get("labeled"))

    def __len__(self) -> int:
        return self.count

    def _env(self) -> lmdb.Environment:
        return _reader_env(self.path)

    def _db(self, name: bytes) -> Any:
        """A named database handle (opened once per process, outside any transaction)."""
        return _reader_db(self.path, name)

    def get(self, index: int) -> tuple[np.ndarray, int | None]:
        images, labels = self.get_many([index])
        return images[0], (None if labels is None else int(labels[0]))

    def get_many(self, indices: list[int] | np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Images `(N, H, W, C)` uint8 and labels `(N,)` int64 (or None), in one transaction."""
        env = self._env()
        images_db = self._db(b"images")
        labels_db = self._db(b"labels") if self.labeled else None
        out = np.empty((len(indices), self.resolution, self.resolution, self.channels), np.uint8)
        labels = np.full(len(indices), -1, np.int64) if self.labeled else None
        with env.begin(buffers=True) as txn:
            for row, index in enumerate(indices):
                if not 0 <= index < self.count:
                    raise IndexError(f"index {index} out of range for {self.count} images")
                key = key_of(int(index))
                payload = txn.get(key, db=images_db)
                if payload is None:
                    raise StoreError(f"{self.path}: image {index} is missing; the store is "
                                     "damaged, re-run the ingest to repair it")
                out[row] = decode_pixels(payload, self.encoding, self.resolution, self.channels)
                if labels_db is not None:
                    raw = txn.get(key, db=labels_db)
                    if raw is not None:
                        labels[row] = struct.unpack("<i", bytes(raw))[0]
        return out, labels

    def source_key(self, index: int) -> str | None:
        db = self._db(b"sources")
        with self._env().begin() as txn:
            raw = txn.get(key_of(index), db=db)
        return None if raw is None else raw.decode("utf-8")

    def labels(self) -> np.ndarray | None:
        """All labels in index order (cheap: no pixels are read)."""
        if not self.labeled:
            return None
        db = self._db(b"labels")
        out = np.full(self.count, -1, np.int64)
        with self._env().begin(buffers=True) as txn:
            cursor = txn.cursor(db=db)
            for key, raw in cursor:
                out[int(bytes(key))] = struct.unpack("<i", bytes(raw))[0]
        return out


def _write_failure(path: Path, exc: lmdb.Error, wanted: int) -> GantkError:
    """LMDB reports a full disk (and the file size limit) as "Input/output error": look at
    the free space and the limit to say which it was."""
    data = path / "data.mdb"
    size = data.stat().st_size if data.exists() else 0
    soft, _ = resource.getrlimit(resource.RLIMIT_FSIZE)
    if soft != resource.RLIM_INFINITY and size + wanted + (1 << 20) >= soft:
        return disk_error(OSError(errno.EFBIG, "File too large"), data, "the ImageStore")
    if shutil.disk_usage(path).free < wanted + (4 << 20):
        return disk_error(OSError(errno.ENOSPC, "No space left on device"), data,
                          "the ImageStore")
    return StoreError(f"writing {path} failed ({exc}); check the disk, then run the same "
                      "command again (what was committed before is intact)")


def _empty_folder(path: Path) -> None:
    """Remove everything in `path` but its lock file (which the caller holds)."""
    for child in path.iterdir():
        if child.name == LOCK_NAME:
            continue
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


class ImageStoreWriter:
    """Write side: batched transactions, map size doubled on MapFullError, resumable.

    Writing into an existing store of the same kind appends (ingest skips source keys
    already present, so a killed ingest resumes); a different store is refused unless
    `overwrite=True`. Each flush commits images, labels, sources and metadata together,
    so a kill never leaves a half-written record or metadata that disagrees with it.
    """

    def __init__(self, path: str | os.PathLike[str], resolution: int, channels: int,
                 encoding: str = "raw", source: str = "", overwrite: bool = False,
                 batch_size: int = 512, extra: dict[str, Any] | None = None):
        if encoding not in ENCODINGS:
            raise StoreError(f"unknown encoding {encoding!r}; use one of {', '.join(ENCODINGS)}")
        if channels not in (1, 3):
            raise StoreError(f"channels must be 1 or 3, got {channels}")
        self.path = Path(path)
        self.batch_size = batch_size
        wanted = {"resolution": resolution, "channels": channels, "encoding": encoding,
                  "source": source}
        # a second writer (another ingest into the same DEST) is refused, not interleaved
        self._lock = DirLock(self.path, "ImageStore").acquire()
        try:
            self._open(wanted, overwrite, extra)
        except BaseException:
            self._lock.release()
            raise
        self.resolution, self.channels, self.encoding = resolution, channels, encoding

    def _open(self, wanted: dict[str, Any], overwrite: bool,
              extra: dict[str, Any] | None) -> None:
        self._prepare_path(wanted, overwrite)
        close_readers(self.path)
        self.env = lmdb.open(str(self.path), map_size=_INITIAL_MAP, max_dbs=_MAX_DBS,
                             readahead=False, meminit=False)
        self.dbs = {name: self.env.open_db(name) for name in DBS}
        with self.env.begin(db=self.dbs[b"meta"]) as txn:
            raw = txn.get(META_KEY)
        if raw is not None:
            self.meta: dict[str, Any] = json.loads(raw)
        else:
            self.meta = {"format": "gantk-imagestore", "version": FORMAT_VERSION, "count": 0,
                         "labeled": False, "complete": False, "fingerprint_sum": 0,
                         **wanted, **(extra or {})}
            self.meta["fingerprint"] = self._fingerprint()
            self._commit([])
        self._pending: list[tuple[bytes, bytes, int | None, str | None]] = []
        self._pending_sources: set[str] = set()

    def _prepare_path(self, wanted: dict[str, Any], overwrite: bool) -> None:
        """Called with the lock held (so the lock file exists inside the folder)."""
        if is_store(self.path):
            try:
                existing = read_metadata(self.path)
            except UnfinishedStoreError:  # a writer killed while creating it
                _empty_folder(self.path)
                return
            differs = {k: (existing.get(k), v) for k, v in wanted.items() if existing.get(k) != v}
            if not differs:
                if overwrite:
                    _empty_folder(self.path)
                return
            if not overwrite:
                what = ", ".join(f"{k} {a!r} != {b!r}" for k, (a, b) in differs.items())
                raise StoreError(f"{self.path} already holds a different ImageStore ({what}); "
                                 "pass --overwrite to replace it or choose another DEST")
            _empty_folder(self.path)
        elif any(p.name != LOCK_NAME for p in self.path.iterdir()):
            if not overwrite:
                raise StoreError(f"{self.path} exists and is not an ImageStore; choose an empty "
                                 "or new DEST, or pass --overwrite to replace its contents")
            _empty_folder(self.path)

    @property
    def count(self) -> int:
        return self.meta["count"] + len(self._pending)

    def has_source(self, source_key: str) -> bool:
        if source_key in self._pending_sources:
            return True
        with self.env.begin(db=self.dbs[b"by_source"]) as txn:
            return txn.get(source_key.encode("utf-8")) is not None

    def has_source_prefix(self, prefix: str) -> bool:
        """Whether a committed source key starts with `prefix` (e.g. one input's regions)."""
        raw = prefix.encode("utf-8")
        with self.env.begin(db=self.dbs[b"by_source"]) as txn:
            cursor = txn.cursor()
            return cursor.set_range(raw) and bytes(cursor.key()).startswith(raw)

    def add(self, pixels: np.ndarray, label: int | None = None,
            source_key: str | None = None) -> int:
        """Queue one image (HWC uint8 at the store's size); returns its index."""
        expected = (self.resolution, self.resolution, self.channels)
        if pixels.shape != expected or pixels.dtype != np.uint8:
            raise StoreError(f"image of shape {pixels.shape} {pixels.dtype} does not fit a store "
                             f"of {expected} uint8")
        index = self.count
        payload = encode_pixels(pixels, self.encoding)
        self._pending.append((key_of(index), payload, label, source_key))
        if source_key is not None:
            self._pending_sources.add(source_key)
        if len(self._pending) >= self.batch_size:
            self.flush()
        return index

    def flush(self) -> None:
        if self._pending:
            self._commit(self._pending)
            self._pending = []
            self._pending_sources.clear()

    def _fingerprint(self) -> str:
        return f"{self.meta['fingerprint_sum']:032x}"

    def _commit(self, items: list[tuple[bytes, bytes, int | None, str | None]],
                final: dict[str, Any] | None = None) -> None:
        meta = dict(self.meta)
        total = meta["fingerprint_sum"]
        for key, payload, label, _ in items:
            total = (total + _record_hash(key, payload, label)) % _FINGERPRINT_MOD
        meta["fingerprint_sum"] = total
        meta["fingerprint"] = f"{total:032x}"
        meta["count"] = meta["count"] + len(items)
        meta["labeled"] = meta["labeled"] or any(label is not None for _, _, label, _ in items)
        meta.update(final or {})
        while True:
            try:
                with self.env.begin(write=True) as txn:
                    for key, payload, label, source_key in items:
                        txn.put(key, payload, db=self.dbs[b"images"])
                        if label is not None:
                            txn.put(key, struct.pack("<i", label), db=self.dbs[b"labels"])
                        if source_key is not None:
                            sk = source_key.encode("utf-8")
                            txn.put(key, sk, db=self.dbs[b"sources"])
                            txn.put(sk, key, db=self.dbs[b"by_source"])
                    txn.put(META_KEY, json.dumps(meta).encode(), db=self.dbs[b"meta"])
                break
            except lmdb.MapFullError:
                self.env.set_mapsize(self.env.info()["map_size"] * 2)
            except lmdb.Error as exc:
                raise _write_failure(self.path, exc, sum(len(p) for _, p, _, _ in items)) from exc
        self.meta = meta

    def close(self, **final_meta: Any) -> dict[str, Any]:
        """Flush, mark the store complete (plus any extra metadata) and close it."""
        try:
            self._commit(self._pending, {"complete": True, **final_meta})
            self._pending = []
        finally:
            self.env.close()
            self._lock.release()
        return self.meta

    def abort(self) -> None:
        """Commit what is queued (if the disk lets us) and close without marking the store
        complete: what was committed before stays readable and the ingest resumes."""
        try:
            self.flush()
        except (GantkError, lmdb.Error, OSError):
            pass  # the error that brought us here is the one to report
        finally:
            self.env.close()
            self._lock.release()

    def __enter__(self) -> ImageStoreWriter:
        return self

    def __exit__(self, exc_type: Any, *_: Any) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
