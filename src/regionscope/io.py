"""Files: partitions and networks as ``.npz`` archives, never pickles.

A network is stored as a JSON description of its layer tree plus its arrays;
only regionscope's own layer classes can be named in it, so loading a file
never runs code from it.  Files are written to a temporary name and renamed,
so an interrupted save never leaves a broken file; the new file's mode follows
the umask, as for any file the user creates.

Files are read defensively: anything that is not a zip archive of ``.npy``
arrays of real numbers, booleans or text (complex and object arrays, pickles,
other members, truncated or damaged data) raises ``ValueError`` naming the
file, and the sizes each array declares are checked against the file's size
and the budget's ``file_member_bytes`` / ``file_bytes``
(:class:`regionscope.tolerances.Budget`) *before* anything is decompressed,
so a small file cannot inflate into gigabytes.

Examples
--------
>>> import os, tempfile
>>> import numpy as np
>>> import regionscope as rs
>>> from regionscope.io import load_model, save_model
>>> net = rs.Sequential(rs.Linear(np.eye(2), [0.5, -0.5]), rs.ReLU())
>>> path = os.path.join(tempfile.mkdtemp(), "net.npz")
>>> save_model(net, path)
>>> x = np.array([[0.2, 0.7]])
>>> np.array_equal(load_model(path).forward(x), net.forward(x))
True
"""

from __future__ import annotations

import math
import os
import secrets
import struct
import zipfile
import zlib
from collections.abc import Mapping
from typing import Any

import numpy as np

from .network.layers import Layer
from .network.serialize import model_from_arrays, model_to_arrays
from .tolerances import get_budget

__all__ = [
    "save_model",
    "load_model",
    "save_arrays",
    "load_arrays",
]

FORMAT = "regionscope-1"


#: Deflate cannot expand data more than 1032 times (a 258-byte match costs at
#: least 2 bits), so a member declaring more than this many bytes per
#: compressed byte has a forged size.
_DEFLATE_MAX_RATIO = 1032

#: Bytes decompressed at a time.
_READ_CHUNK = 1 << 20

#: Array kinds a file may hold: booleans, integers, reals, text.
_KINDS = "biufU"

#: Largest ``.npy`` header read (as numpy's own default).
_MAX_HEADER = 10_000


def _fspath(path: Any) -> str:
    try:
        name = os.fspath(path)
    except TypeError:
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}") from None
    return os.fsdecode(name)


def _check_arrays(arrays: Any) -> dict[str, np.ndarray]:
    """The arrays to save, checked: string keys, arrays numpy reads back without pickles."""
    if not isinstance(arrays, Mapping):
        raise TypeError(
            f"arrays must be a mapping of names to arrays, got {type(arrays).__name__}"
        )
    out: dict[str, np.ndarray] = {}
    for key, value in arrays.items():
        if not isinstance(key, str) or not key:
            raise TypeError(f"array names must be non-empty strings, got {key!r}")
        if key in ("file", "allow_pickle"):
            raise ValueError(f"array name {key!r} is reserved by numpy.savez")
        arr = np.asarray(value)
        if arr.dtype.kind not in _KINDS or arr.dtype.hasobject or arr.dtype.names:
            raise TypeError(
                f"array {key!r} has dtype {arr.dtype}; only booleans, integers, real numbers "
                "and text can be saved (no complex numbers or Python objects)"
            )
        out[key] = arr
    return out


def _atomic_savez(path: Any, arrays: Mapping[str, Any]) -> None:
    """Write ``arrays`` to ``path`` (``.npz`` added if missing) through a temporary file."""
    checked = _check_arrays(arrays)
    path = _fspath(path)
    if not path.endswith(".npz"):
        path += ".npz"
    folder = os.path.dirname(os.path.abspath(path))
    # os.open with mode 0o666 lets the umask (and default ACLs) decide the
    # mode, as for any new file; mkstemp would force 0o600
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = os.path.join(folder, f".{os.path.basename(path)}.{secrets.token_hex(6)}.tmp")
        try:
            fd = os.open(tmp, flags, 0o666)
            break
        except FileExistsError:
            continue
        except (FileNotFoundError, PermissionError) as exc:
            raise type(exc)(
                exc.errno, f"cannot save {path!r}: {exc.strerror} (in folder {folder!r})"
            ) from None
    else:  # pragma: no cover - 100 collisions of 48 random bits
        raise FileExistsError(f"cannot create a temporary file next to {path!r}")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez_compressed(fh, allow_pickle=False, **checked)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class _Refused(ValueError):
    """A problem with a file found by the checks below (already worded)."""


def _resolve(path: Any) -> str:
    """The file to read: ``path``, or ``path + ".npz"`` as :func:`save_arrays` names it."""
    name = _fspath(path)
    if not name.endswith(".npz") and not os.path.exists(name) and os.path.exists(name + ".npz"):
        return name + ".npz"
    return name


def _not_ours(name: str, problem: str) -> _Refused:
    return _Refused(f"{name!r} is not a regionscope .npz file: {problem}")


def _too_big(name: str, problem: str) -> _Refused:
    return _Refused(f"{name!r} is refused: {problem}")


def _check_members(name: str, zf: zipfile.ZipFile, disk_size: int) -> list[zipfile.ZipInfo]:
    """Check what every member declares, before reading any of them."""
    infos = zf.infolist()
    if not infos:
        raise _not_ours(name, "the zip archive is empty")
    seen: set[str] = set()
    total = 0
    for info in infos:
        member = info.filename
        if info.is_dir() or not member.endswith(".npy"):
            raise _not_ours(name, f"it holds {member!r}, which is not a .npy array")
        if member in seen:
            raise _not_ours(name, f"it holds {member!r} twice")
        seen.add(member)
        if info.flag_bits & 0x1:
            raise _not_ours(name, f"{member!r} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise _not_ours(
                name,
                f"{member!r} uses zip compression method {info.compress_type}; "
                "only stored and deflated arrays (numpy.savez, numpy.savez_compressed) are read",
            )
        if info.compress_size > disk_size:
            raise _not_ours(
                name,
                f"{member!r} declares {info.compress_size} compressed bytes, more than the "
                f"whole file ({disk_size} bytes): the file is truncated or damaged",
            )
        if info.file_size > get_budget().file_member_bytes:
            raise _too_big(
                name,
                f"array {member[:-4]!r} declares {info.file_size} bytes uncompressed, above the "
                f"limit of {get_budget().file_member_bytes} bytes (Budget.file_member_bytes)",
            )
        if info.compress_type == zipfile.ZIP_STORED:
            most = info.compress_size
        else:
            most = _DEFLATE_MAX_RATIO * info.compress_size + 64
        if info.file_size > most:
            raise _too_big(
                name,
                f"array {member[:-4]!r} declares {info.file_size} bytes uncompressed from "
                f"{info.compress_size} stored bytes, more than its compression can produce "
                "(a forged size)",
            )
        total += info.file_size
    if total > get_budget().file_bytes:
        raise _too_big(
            name,
            f"its arrays declare {total} bytes uncompressed in all, above the limit of "
            f"{get_budget().file_bytes} bytes (Budget.file_bytes)",
        )
    return infos


def _read_exactly(fh: Any, n: int) -> bytes:
    data = fh.read(n)
    if len(data) != n:
        raise EOFError(f"expected {n} bytes, got {len(data)}")
    return data


def _read_member(name: str, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> np.ndarray:
    """Read one ``.npy`` member, never more bytes than it declares."""
    key = info.filename[:-4]
    with zf.open(info) as fh:
        magic = _read_exactly(fh, 8)
        if magic[:6] != b"\x93NUMPY":
            raise _not_ours(name, f"{info.filename!r} is not a .npy array (bad magic)")
        version = (magic[6], magic[7])
        if version == (1, 0):
            size_bytes = _read_exactly(fh, 2)
            hlen = struct.unpack("<H", size_bytes)[0]
        elif version in ((2, 0), (3, 0)):
            size_bytes = _read_exactly(fh, 4)
            hlen = struct.unpack("<I", size_bytes)[0]
        else:
            raise _not_ours(name, f"array {key!r} has unknown .npy version {version}")
        if hlen > _MAX_HEADER:
            raise _not_ours(
                name, f"array {key!r} has a {hlen}-byte header (at most {_MAX_HEADER})"
            )
        header = _read_exactly(fh, hlen)
        if version == (3, 0):  # utf-8 header: only structured dtypes need it
            raise _not_ours(name, f"array {key!r} has a structured dtype (.npy version 3.0)")
        parse = (
            np.lib.format.read_array_header_1_0
            if version == (1, 0)
            else np.lib.format.read_array_header_2_0
        )
        shape, fortran, dtype = parse(_Bytes(size_bytes + header))
        if dtype.kind not in _KINDS or dtype.hasobject or dtype.names or dtype.subdtype:
            what = "complex numbers" if dtype.kind == "c" else "Python objects or other data"
            raise _not_ours(
                name,
                f"array {key!r} has dtype {dtype} ({what}); only booleans, integers, real "
                "numbers and text are read",
            )
        if any(d < 0 for d in shape):
            raise _not_ours(name, f"array {key!r} declares a negative shape {shape}")
        count = math.prod(shape)
        nbytes = count * dtype.itemsize
        declared = info.file_size - (len(magic) + len(size_bytes) + hlen)
        if nbytes != declared or (dtype.itemsize == 0 and count):
            raise _not_ours(
                name,
                f"array {key!r} declares shape {shape} of {dtype} ({nbytes} bytes) but its "
                f"member holds {declared} bytes of data",
            )
        flat = np.empty(count, dtype=dtype)
        buf = flat.view(np.uint8) if count else np.empty(0, np.uint8)
        pos = 0
        while pos < nbytes:
            chunk = fh.read(min(_READ_CHUNK, nbytes - pos))
            if not chunk:
                raise EOFError(f"array {key!r} ends after {pos} of {nbytes} bytes")
            buf[pos : pos + len(chunk)] = np.frombuffer(chunk, dtype=np.uint8)
            pos += len(chunk)
        if fh.read(1):  # pragma: no cover - zipfile stops at the declared size
            raise _not_ours(name, f"array {key!r} holds more data than it declares")
    if dtype.kind == "U" and count:
        codes = flat.view(np.dtype(np.uint32).newbyteorder(dtype.byteorder))
        if (codes > 0x10FFFF).any() or ((codes >= 0xD800) & (codes <= 0xDFFF)).any():
            raise _not_ours(name, f"text array {key!r} holds invalid characters")
    return flat.reshape(shape, order="F" if fortran else "C")


class _Bytes:
    """A minimal file over bytes for numpy's header parsers (which call ``read``)."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    def read(self, n: int = -1) -> bytes:
        end = len(self._data) if n < 0 else self._pos + n
        out = self._data[self._pos : end]
        self._pos += len(out)
        return out


def _read_npz(name: str) -> dict[str, np.ndarray]:
    """Every array of the ``.npz`` file ``name``; ``ValueError`` naming it for any problem."""
    try:
        with open(name, "rb") as fh:
            disk_size = os.fstat(fh.fileno()).st_size
            if disk_size == 0:
                raise _not_ours(name, "it is empty (0 bytes)")
            head = fh.read(4)
            fh.seek(0)
            try:
                zf = zipfile.ZipFile(fh)
            except zipfile.BadZipFile:
                if head.startswith(b"PK"):
                    raise _not_ours(
                        name, "it starts as a zip archive but is truncated or damaged"
                    ) from None
                raise _not_ours(name, "it is not a zip archive") from None
            with zf:
                infos = _check_members(name, zf, disk_size)
                return {info.filename[:-4]: _read_member(name, zf, info) for info in infos}
    except FileNotFoundError:
        raise
    except _Refused as exc:
        raise ValueError(str(exc)) from None
    except (
        OSError,
        EOFError,
        ValueError,
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        zlib.error,
        struct.error,
        NotImplementedError,
        RuntimeError,
        OverflowError,
        KeyError,
        IndexError,
        SyntaxError,
    ) as exc:
        raise ValueError(
            f"{name!r} is not a regionscope .npz file: it is truncated, damaged or unreadable "
            f"({type(exc).__name__}: {exc})"
        ) from exc


def save_model(model: Layer, path: Any) -> None:
    """Write a regionscope network to ``path`` (``.npz`` is added if missing).

    Parameters
    ----------
    model : Layer
        A network made of regionscope's own layers.
    path : str or os.PathLike
        Where to write; an existing file is replaced atomically.

    Raises
    ------
    TypeError
        Naming a layer that is not one of regionscope's classes.
    """
    text, arrays = model_to_arrays(model)
    _atomic_savez(path, {"format": np.array(FORMAT), "model": np.array(text), **arrays})


def load_model(path: Any) -> Layer:
    """Read a network written by :func:`save_model` (or the model inside a saved partition).

    Parameters
    ----------
    path : str or os.PathLike
        The file; ``path + ".npz"`` is read when ``path`` does not exist.

    Returns
    -------
    Layer

    Raises
    ------
    FileNotFoundError
        When neither ``path`` nor ``path + ".npz"`` exists.
    ValueError
        Naming the file, when it is not a regionscope file or holds a bad model.
    """
    name = _resolve(path)
    arrays = _read_npz(name)
    text = arrays.get("model")
    if text is None:
        raise ValueError(f"{name!r} holds no regionscope model")
    if text.dtype.kind != "U" or text.ndim != 0:
        raise ValueError(f"{name!r}: the model description is not text")
    try:
        return model_from_arrays(str(text), arrays)
    except ValueError as exc:
        raise ValueError(f"{name!r}: {exc}") from None


def save_arrays(path: Any, arrays: Mapping[str, Any]) -> None:
    """Write named arrays to an ``.npz`` file, atomically.

    Parameters
    ----------
    path : str or os.PathLike
        Where to write; ``.npz`` is added if missing.  An existing file is
        replaced only once the new one is complete.  The new file's mode is
        ``0o666 & ~umask``.
    arrays : mapping of str to array_like
        Boolean, integer, real or text arrays of any shape (complex and
        object arrays raise ``TypeError``: they could not be read back).

    Examples
    --------
    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> save_arrays(os.path.join(folder, "a"), {"x": np.arange(3.0), "name": np.array("hi")})
    >>> sorted(os.listdir(folder))
    ['a.npz']
    >>> load_arrays(os.path.join(folder, "a"))["x"]
    array([0., 1., 2.])
    """
    _atomic_savez(path, arrays)


def load_arrays(path: Any) -> dict[str, np.ndarray]:
    """Read every array of an ``.npz`` file (no pickles, bounded memory).

    Parameters
    ----------
    path : str or os.PathLike
        The file; ``path + ".npz"`` is read when ``path`` does not exist
        (what :func:`save_arrays` wrote for a name without the suffix).

    Returns
    -------
    dict of str to ndarray
        The arrays by name: booleans, integers, reals or text, of the dtypes
        and shapes stored.

    Raises
    ------
    FileNotFoundError
        When neither ``path`` nor ``path + ".npz"`` exists.
    ValueError
        Naming the file and the problem: not a zip archive of ``.npy``
        arrays, empty, truncated or damaged, an array of complex numbers or
        objects, or an array declaring more than ``Budget.file_member_bytes``
        (or the file more than ``Budget.file_bytes``, or more than its
        compressed size can hold).  Sizes are checked before anything is
        decompressed.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "junk.npz")
    >>> with open(path, "w") as fh:
    ...     _ = fh.write("hello")
    >>> load_arrays(path)
    Traceback (most recent call last):
    ...
    ValueError: '...junk.npz' is not a regionscope .npz file: it is not a zip archive
    """
    return _read_npz(_resolve(path))
