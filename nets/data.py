"""Data for the network pages: IDX files, Fashion-MNIST download, offline digits, batch helpers.

* :func:`read_idx` / :func:`write_idx`: the IDX format of (Fashion-)MNIST, raw or gzipped,
  validated (magic, dimensions, payload length); errors name the file.
* :func:`download_fashion_mnist`: streams each missing file to a temporary file in the data
  directory, checks its MD5, and only then moves it under its final name (``os.replace``), so an
  interrupted or corrupt download never leaves a file that looks complete.
* :func:`load_dataset` over :data:`DATASETS`: ``"fashion-mnist"`` (downloaded once into
  :func:`default_data_dir`) and ``"digits"`` (scikit-learn's bundled 8x8 digits upscaled to
  28x28, no network needed). Images are uint8 tensors ``(N, 1, H, W)``, labels int64.
* :func:`to_float` / :func:`resize_batch`: per-batch conversion on whatever device the batch is
  on, so a trainer can keep a whole dataset on the GPU as uint8.

Environment: ``D2L_LAB_DATA_DIR`` (data directory), ``D2L_LAB_FASHION_MNIST_URL`` (mirror).
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import math
import os
import secrets
import socket
import struct
import urllib.error
import urllib.parse
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Callable, Mapping

import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    "DataError", "DataUnavailable", "read_idx", "write_idx", "FASHION_MNIST_FILES",
    "FASHION_MNIST_URL", "FASHION_MNIST_CLASSES", "default_data_dir", "download_fashion_mnist",
    "fashion_mnist_available", "Dataset", "DatasetSpec", "DATASETS", "load_dataset", "to_float",
    "resize_batch",
]

FASHION_MNIST_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
URL_ENV = "D2L_LAB_FASHION_MNIST_URL"
DATA_DIR_ENV = "D2L_LAB_DATA_DIR"

# file name -> MD5 (the sums torchvision checks)
FASHION_MNIST_FILES: Mapping[str, str] = MappingProxyType({
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83fd310",
})
FASHION_MNIST_CLASSES = ("t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt",
                         "sneaker", "bag", "ankle boot")

_CHUNK = 1 << 16
_NO_NETWORK_HINT = "without network access, use the offline 'digits' dataset instead"


class DataError(Exception):
    """A data file is missing, malformed or corrupt; the message names the file."""


class DataUnavailable(DataError):
    """The data cannot be obtained here (no files and no network)."""


class DownloadCancelled(Exception):
    """Raised by a download's ``progress`` callback to stop it; the partial file is removed."""


# --- IDX ----------------------------------------------------------------------------------------

# type code -> big-endian numpy dtype (the format's full table; Fashion-MNIST uses 0x08)
_IDX_TYPES = {0x08: np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"),
              0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


MAX_IDX_BYTES = 1 << 31  # 2 GiB of data: Fashion-MNIST's largest file holds 47 MB


def read_idx(path, expect_ndim: int | None = None) -> np.ndarray:
    """Read an IDX file (gzipped if its name ends in ``.gz``) into a numpy array.

    Raises :class:`DataUnavailable` if it does not exist and :class:`DataError` naming the file
    for a bad magic number, truncated or oversized payload, corrupt gzip stream, or a number of
    dimensions other than ``expect_ndim``. The header is read first and then only the bytes it
    declares (and one more, to tell a file with more): a small gzip that inflates to gigabytes
    of zeros behind an honest header costs no more memory than the header's shape.
    """
    path = Path(path)
    try:
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rb") as fh:
            return _parse_idx(path, fh, expect_ndim)
    except FileNotFoundError:
        raise DataUnavailable(f"{path}: file not found") from None
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise DataError(f"{path} is truncated or not a valid gzip file ({exc})") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None


def _read_at_most(fh, n: int) -> bytes:
    chunks = []
    while n > 0:
        chunk = fh.read(min(n, 1 << 24))
        if not chunk:
            break
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def _parse_idx(path: Path, fh, expect_ndim: int | None) -> np.ndarray:
    magic = _read_at_most(fh, 4)
    if len(magic) < 4:
        raise DataError(f"{path} is not an IDX file: only {len(magic)} bytes")
    zero1, zero2, code, ndim = magic[0], magic[1], magic[2], magic[3]
    if zero1 != 0 or zero2 != 0 or code not in _IDX_TYPES:
        raise DataError(f"{path} is not an IDX file: bad magic number 0x{magic.hex()} "
                        f"(expected 0x0000 then a type code such as 08, then the dimension count)")
    if ndim < 1:
        raise DataError(f"{path}: IDX file declares 0 dimensions")
    if expect_ndim is not None and ndim != expect_ndim:
        raise DataError(f"{path}: expected {expect_ndim} dimension(s), the file has {ndim}")
    header = 4 + 4 * ndim
    raw = _read_at_most(fh, 4 * ndim)
    if len(raw) < 4 * ndim:
        raise DataError(f"{path} is truncated: the header needs {header} bytes, found "
                        f"{4 + len(raw)}")
    dims = struct.unpack(f">{ndim}I", raw)
    dtype = _IDX_TYPES[code]
    expected = math.prod(dims) * dtype.itemsize  # Python ints: a forged header cannot wrap to 0
    if expected > MAX_IDX_BYTES:
        raise DataError(f"{path}: shape {dims} would need {expected} bytes, more than the "
                        f"{MAX_IDX_BYTES >> 30} GiB this app reads")
    data = _read_at_most(fh, expected + 1)
    found = len(data)
    if found < expected:
        raise DataError(f"{path} is truncated: expected {expected} bytes of data for shape "
                        f"{dims}, found {found}")
    if found > expected:
        raise DataError(f"{path}: dimensions {dims} do not match the data: expected {expected} "
                        f"bytes, found more")
    arr = np.frombuffer(data, dtype=dtype, count=expected // dtype.itemsize)
    return arr.reshape(dims).astype(dtype.newbyteorder("="), copy=True)


def temp_file_beside(path: Path, prefix: str | None = None, suffix: str = ".part"
                     ) -> tuple[int, str]:
    """A new, empty temporary file in ``path``'s folder, open for writing: ``(fd, name)``. Like
    ``tempfile.mkstemp``, but with the permissions ``open()`` gives a new file (0666 less the
    umask) instead of 0600, as the file becomes the user's ordinary file once renamed."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        name = os.path.join(path.parent, f"{prefix or '.' + path.name + '.'}"
                                         f"{secrets.token_hex(6)}{suffix}")
        try:
            return os.open(name, flags, 0o666), name
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name in {path.parent}")


def sync_dir(folder: str | os.PathLike) -> None:
    """Flush a folder's entries to disk, so that a rename into it survives a power cut (POSIX;
    a no-op where folders cannot be opened, as on Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems refuse fsync on a folder; the rename itself has happened
    finally:
        os.close(fd)


def atomic_write(path: str | os.PathLike, write: Callable[[object], None], *,
                 prefix: str | None = None, suffix: str = ".part") -> None:
    """Write through a temporary file in the same directory (flushed to disk), then
    ``os.replace`` it and flush the folder: readers see the old file or the whole new one, never a
    torn one, and once this returns the new file survives a crash."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = temp_file_beside(path, prefix, suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        sync_dir(path.parent)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_idx(path, array) -> Path:
    """Write a uint8 array as IDX (gzipped if ``path`` ends in ``.gz``), atomically."""
    path = Path(path)
    arr = np.asarray(array)
    if arr.dtype != np.uint8:
        raise ValueError(f"write_idx writes uint8 arrays, got {arr.dtype}")
    if not 1 <= arr.ndim <= 255:
        raise ValueError(f"write_idx: an IDX array has 1 to 255 dimensions, got {arr.ndim}")
    payload = bytes([0, 0, 0x08, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape) \
        + np.ascontiguousarray(arr).tobytes()
    if path.name.endswith(".gz"):
        payload = gzip.compress(payload, mtime=0)
    atomic_write(path, lambda fh: fh.write(payload))
    return path


# --- Fashion-MNIST download ---------------------------------------------------------------------

def default_data_dir() -> Path:
    """``$D2L_LAB_DATA_DIR``, else ``$XDG_CACHE_HOME/d2l-lab``, else ``~/.cache/d2l-lab``."""
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg and os.path.isabs(xdg):
        return Path(xdg) / "d2l-lab"
    return Path.home() / ".cache" / "d2l-lab"


def _base_url(base_url: str | None) -> str:
    url = base_url or os.environ.get(URL_ENV) or FASHION_MNIST_URL
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise DataError(f"Fashion-MNIST mirror must be an http(s) URL, got {url!r}")
    return url if url.endswith("/") else url + "/"


def _md5(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _fetch(url: str, dest: Path, md5: str, progress, timeout: float) -> None:
    """Stream ``url`` into a temporary file beside ``dest``; on success (MD5 ok) move it there."""
    name = dest.name
    try:
        fd, tmp = temp_file_beside(dest)
    except OSError as exc:
        raise DataError(f"cannot write {name} into {dest.parent}: {exc.strerror or exc} "
                        f"(choose a writable data folder: --data-dir or $D2L_LAB_DATA_DIR)"
                        ) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            h = hashlib.md5()
            try:
                with urllib.request.urlopen(url, timeout=timeout) as resp:
                    length = resp.headers.get("Content-Length")
                    total = int(length) if length and length.isdigit() else None
                    done = 0
                    if progress:
                        progress(name, 0, total)
                    while True:
                        chunk = resp.read(_CHUNK)
                        if not chunk:
                            break
                        fh.write(chunk)
                        h.update(chunk)
                        done += len(chunk)
                        if progress:
                            progress(name, done, total)
            except urllib.error.HTTPError as exc:
                raise DataUnavailable(f"could not download {name} from {url}: HTTP {exc.code} "
                                      f"{exc.reason}; {_NO_NETWORK_HINT}") from None
            except urllib.error.URLError as exc:
                raise DataUnavailable(f"could not download {name} from {url}: {exc.reason}; "
                                      f"{_NO_NETWORK_HINT}") from None
            except (OSError, http.client.HTTPException, socket.timeout) as exc:
                raise DataUnavailable(f"download of {name} from {url} failed: "
                                      f"{type(exc).__name__}: {exc}; {_NO_NETWORK_HINT}") from None
            if total is not None and done != total:
                raise DataUnavailable(f"download of {name} from {url} was cut short: expected "
                                      f"{total} bytes, received {done}; {_NO_NETWORK_HINT}")
            fh.flush()
            os.fsync(fh.fileno())
        got = h.hexdigest()
        if got != md5:
            raise DataError(f"{name} from {url} is corrupt: MD5 {got}, expected {md5}; "
                            f"the download was discarded")
        os.replace(tmp, dest)
        sync_dir(dest.parent)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def download_fashion_mnist(data_dir=None, base_url: str | None = None,
                           progress: Callable[[str, int, int | None], None] | None = None,
                           timeout: float = 30, md5s: Mapping[str, str] | None = None) -> Path:
    """Make sure the four Fashion-MNIST files with the right MD5s are in ``data_dir``.

    Files already present with the right MD5 are kept; missing ones and ones with a wrong MD5 are
    (re)downloaded from ``base_url`` (default ``$D2L_LAB_FASHION_MNIST_URL`` or the official
    mirror). ``progress(file_name, bytes_done, bytes_total_or_None)`` is called as data arrives.
    ``md5s`` overrides the expected sums (tests serve generated files). Returns the directory.
    ``progress`` may raise :class:`DownloadCancelled` to stop; the partial file is removed.

    Raises :class:`DataUnavailable` on network failure, :class:`DataError` on an MD5 mismatch
    (naming the file and both sums); in both cases no file is left under the final name.
    """
    data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
    sums = dict(FASHION_MNIST_FILES if md5s is None else md5s)
    missing = set(FASHION_MNIST_FILES) - set(sums)
    if missing:
        raise ValueError(f"md5s lacks {', '.join(sorted(missing))}")
    url = _base_url(base_url)
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"cannot create data directory {data_dir}: {exc.strerror or exc}") from None
    for name in FASHION_MNIST_FILES:
        dest = data_dir / name
        if dest.is_file() and _md5(dest) == sums[name]:
            if progress:
                size = dest.stat().st_size
                progress(name, size, size)
            continue
        _fetch(urllib.parse.urljoin(url, name), dest, sums[name], progress, timeout)
    return data_dir


def fashion_mnist_available(data_dir=None) -> bool:
    """Whether all four files are present (a cheap check: no checksum, no parsing)."""
    data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
    return all((data_dir / name).is_file() for name in FASHION_MNIST_FILES)


# --- datasets -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Dataset:
    """Images ``(N, 1, H, W)`` uint8 and labels ``(N,)`` int64, train and test."""

    id: str
    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    classes: tuple[str, ...]

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.train_x.shape[1:])  # type: ignore[return-value]


@dataclass(frozen=True)
class DatasetSpec:
    id: str
    title: str
    # (data_dir, download, progress) -> Dataset; progress as in download_fashion_mnist
    load: Callable[..., Dataset]
    classes: tuple[str, ...]
    needs_download: bool
    description: str
    # The batch size the page and the command line start from. The chapter's 256 over Fashion-
    # MNIST's 60,000 images is 235 steps an epoch; over digits' 1,497 it would be 6, too few for
    # BatchNorm's moving averages to follow the weights: after 5 epochs DenseNet scored 0.14 on the
    # test set (train 0.99), against 0.96 at batch 64 (24 steps an epoch); see the README.
    default_batch: int = 256


def _labels_and_images(images: np.ndarray, labels: np.ndarray, img_path: Path, lbl_path: Path,
                       num_classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    if images.dtype != np.uint8:
        raise DataError(f"{img_path}: expected uint8 pixels, found {images.dtype}")
    if images.shape[1:] != (28, 28):
        raise DataError(f"{img_path}: expected 28 x 28 images, found "
                        f"{' x '.join(map(str, images.shape[1:]))}")
    if len(images) != len(labels):
        raise DataError(f"{img_path} has {len(images)} images but {lbl_path} has "
                        f"{len(labels)} labels")
    if labels.dtype != np.uint8:  # IDX type 0x08, as the dataset's; int8 could hold -1
        raise DataError(f"{lbl_path}: expected uint8 labels, found {labels.dtype}")
    if labels.size and int(labels.max()) >= num_classes:
        raise DataError(f"{lbl_path}: label {int(labels.max())} out of range 0..{num_classes - 1}")
    return (torch.from_numpy(images).unsqueeze(1).contiguous(),
            torch.from_numpy(labels.astype(np.int64)))


def _load_fashion_mnist(data_dir: Path | None, download: bool, progress=None) -> Dataset:
    data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
    if not fashion_mnist_available(data_dir):
        if not download:
            raise DataUnavailable(f"Fashion-MNIST is not in {data_dir} and downloading is off; "
                                  f"{_NO_NETWORK_HINT}")
        # checks every file's MD5, fetches what is missing
        download_fashion_mnist(data_dir, progress=progress)
        return _read_fashion_mnist(data_dir)
    try:
        return _read_fashion_mnist(data_dir)
    except DataError as damaged:
        if not download:
            raise
        # a file that was there but does not read (cut short by a full disk, say): fetch again
        # every file whose MD5 is wrong, then read once more
        try:
            download_fashion_mnist(data_dir, progress=progress)
        except DataError as failed:
            raise type(failed)(f"{damaged}; fetching it again failed: {failed}") from None
        return _read_fashion_mnist(data_dir)


def _read_fashion_mnist(data_dir: Path) -> Dataset:
    parts = []
    for split in ("train", "t10k"):
        img = data_dir / f"{split}-images-idx3-ubyte.gz"
        lbl = data_dir / f"{split}-labels-idx1-ubyte.gz"
        parts += _labels_and_images(read_idx(img, expect_ndim=3), read_idx(lbl, expect_ndim=1),
                                    img, lbl, len(FASHION_MNIST_CLASSES))
    return Dataset("fashion-mnist", parts[0], parts[1], parts[2], parts[3], FASHION_MNIST_CLASSES)


DIGITS_TEST_SIZE = 300
DIGITS_SEED = 0


def _load_digits(data_dir: Path | None = None, download: bool = True, progress=None) -> Dataset:
    from sklearn.datasets import load_digits  # bundled with scikit-learn: no network

    bunch = load_digits()
    x = torch.as_tensor(bunch.data, dtype=torch.float32).reshape(-1, 1, 8, 8) * (255.0 / 16.0)
    x = F.interpolate(x, size=(28, 28), mode="bilinear", align_corners=False)
    x = x.round().clamp_(0, 255).to(torch.uint8)
    y = torch.as_tensor(bunch.target, dtype=torch.int64)
    order = torch.from_numpy(np.random.default_rng(DIGITS_SEED).permutation(len(y)))
    test, train = order[:DIGITS_TEST_SIZE], order[DIGITS_TEST_SIZE:]
    return Dataset("digits", x[train].contiguous(), y[train].contiguous(),
                   x[test].contiguous(), y[test].contiguous(), tuple(str(i) for i in range(10)))


DATASETS: Mapping[str, DatasetSpec] = MappingProxyType({spec.id: spec for spec in (
    DatasetSpec("fashion-mnist", "Fashion-MNIST", _load_fashion_mnist, FASHION_MNIST_CLASSES, True,
                "Zalando's 28x28 grey clothing images, 60,000 train / 10,000 test, 10 classes; "
                "the chapter's dataset. Downloaded once (about 30 MB)."),
    DatasetSpec("digits", "Digits (offline)", _load_digits, tuple(str(i) for i in range(10)), False,
                "scikit-learn's 1,797 handwritten 8x8 digits upscaled to 28x28 "
                "(1,497 train / 300 test); needs no network.", default_batch=64),
)})


def load_dataset(dataset_id: str, data_dir=None, download: bool = True,
                 progress: Callable[[str, int, int | None], None] | None = None) -> Dataset:
    """Load a dataset of :data:`DATASETS`; Fashion-MNIST is downloaded on first use if allowed,
    reporting to ``progress(file_name, bytes_done, bytes_total_or_None)``, which may raise
    :class:`DownloadCancelled` to stop the download."""
    spec = DATASETS.get(dataset_id)
    if spec is None:
        raise ValueError(f"unknown dataset {dataset_id!r}; valid ids: {', '.join(DATASETS)}")
    return spec.load(Path(data_dir) if data_dir is not None else None, download, progress)


# --- batches ------------------------------------------------------------------------------------

def to_float(x: torch.Tensor, mean: float | None = None, std: float | None = None) -> torch.Tensor:
    """uint8 pixels -> float32 in [0, 1] (float input is taken as already scaled), then
    ``(x - mean) / std`` if given. Stays on x's device."""
    y = x.float().div_(255.0) if x.dtype == torch.uint8 else x.float()
    if mean is not None:
        y = y - mean
    if std is not None:
        if std <= 0:
            raise ValueError(f"std must be positive, got {std}")
        y = y / std
    return y


def resize_batch(x: torch.Tensor, size) -> torch.Tensor:
    """Resize a batch ``(N, C, H, W)`` to ``size`` (int or (h, w)) with bilinear interpolation
    (antialias off), on x's device. uint8 in, uint8 out (rounded); None or same size: unchanged."""
    if size is None:
        return x
    hw = (int(size), int(size)) if isinstance(size, (int, np.integer)) else tuple(int(s) for s in size)
    if len(hw) != 2 or min(hw) < 1:
        raise ValueError(f"resize size must be a positive int or (h, w), got {size!r}")
    if x.dim() != 4:
        raise ValueError(f"resize_batch expects (N, C, H, W), got shape {tuple(x.shape)}")
    if tuple(x.shape[2:]) == hw:
        return x
    if x.dtype == torch.uint8:
        y = F.interpolate(x.float(), size=hw, mode="bilinear", align_corners=False, antialias=False)
        return y.round_().clamp_(0, 255).to(torch.uint8)
    return F.interpolate(x, size=hw, mode="bilinear", align_corners=False, antialias=False)
