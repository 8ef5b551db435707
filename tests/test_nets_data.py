"""IDX parsing, the Fashion-MNIST download path against a local server, digits, batch helpers."""

import gzip
import hashlib
import http.server
import os
import socket
import struct
import threading

import numpy as np
import pytest
import torch

from nets.data import (DATASETS, FASHION_MNIST_CLASSES, FASHION_MNIST_FILES, DataError,
                       DataUnavailable, default_data_dir, download_fashion_mnist,
                       fashion_mnist_available, load_dataset, read_idx, resize_batch, to_float,
                       write_idx)


# --- IDX ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["x-idx3-ubyte", "x-idx3-ubyte.gz"])
def test_idx_round_trip(tmp_path, name):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(5, 7, 6), dtype=np.uint8)
    labels = rng.integers(0, 10, size=(5,), dtype=np.uint8)
    write_idx(tmp_path / name, images)
    write_idx(tmp_path / ("l" + name), labels)
    got = read_idx(tmp_path / name, expect_ndim=3)
    assert got.dtype == np.uint8 and got.shape == (5, 7, 6) and got.flags.writeable
    np.testing.assert_array_equal(got, images)
    np.testing.assert_array_equal(read_idx(tmp_path / ("l" + name)), labels)
    raw = (tmp_path / name).read_bytes()
    if name.endswith(".gz"):
        raw = gzip.decompress(raw)
    assert raw[:16] == bytes([0, 0, 8, 3, 0, 0, 0, 5, 0, 0, 0, 7, 0, 0, 0, 6])
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []


def test_idx_bad_magic(tmp_path):
    path = tmp_path / "bad-magic.idx"
    path.write_bytes(bytes([1, 0, 8, 1, 0, 0, 0, 2, 7, 7]))
    with pytest.raises(DataError, match="bad-magic.idx.*magic"):
        read_idx(path)
    path.write_bytes(bytes([0, 0, 0x42, 1, 0, 0, 0, 2, 7, 7]))  # unknown type code
    with pytest.raises(DataError, match="magic"):
        read_idx(path)


def test_idx_truncated_and_wrong_dims(tmp_path):
    good = tmp_path / "good.idx"
    write_idx(good, np.zeros((4, 3, 3), dtype=np.uint8))
    cut = tmp_path / "cut.idx"
    cut.write_bytes(good.read_bytes()[:-5])
    with pytest.raises(DataError, match=r"cut.idx is truncated: expected 36 bytes .*found 31"):
        read_idx(cut)
    header_only = tmp_path / "header.idx"
    header_only.write_bytes(good.read_bytes()[:9])
    with pytest.raises(DataError, match="header.idx is truncated"):
        read_idx(header_only)
    extra = tmp_path / "extra.idx"
    extra.write_bytes(good.read_bytes() + b"\0\0")
    with pytest.raises(DataError, match="extra.idx: dimensions"):
        read_idx(extra)
    with pytest.raises(DataError, match="good.idx: expected 1 dimension"):
        read_idx(good, expect_ndim=1)
    gz = tmp_path / "cut.gz"
    gz.write_bytes(gzip.compress(good.read_bytes())[:-12])
    with pytest.raises(DataError, match="cut.gz"):
        read_idx(gz)
    with pytest.raises(DataUnavailable, match="missing.idx"):
        read_idx(tmp_path / "missing.idx")
    huge = tmp_path / "huge.idx"  # 65536^4 = 2^64 elements: an int64 product wraps to 0
    huge.write_bytes(bytes([0, 0, 8, 4]) + bytes([0, 1, 0, 0]) * 4)
    with pytest.raises(DataError, match=r"huge.idx: shape \(65536, 65536, 65536, 65536\) would "
                                        r"need 18446744073709551616 bytes, more than the 2 GiB"):
        read_idx(huge)


def test_idx_reads_no_more_than_its_header_declares(tmp_path, monkeypatch):
    # a 200×28×28 header and then 1 GB of zeros, gzipped to 1 MB (review): the whole file was
    # inflated (6.6 GB of memory, 29 s) before its size was checked; now reading stops one byte
    # past what the header declares
    import nets.data as data_mod

    bomb = tmp_path / "bomb-images-idx3-ubyte.gz"
    with gzip.open(bomb, "wb", compresslevel=1) as fh:
        fh.write(bytes([0, 0, 8, 3]) + struct.pack(">3I", 200, 28, 28))
        zeros = bytes(1 << 20)
        for _ in range(1024):
            fh.write(zeros)
    asked = []
    real = data_mod._read_at_most
    monkeypatch.setattr(data_mod, "_read_at_most",
                        lambda fh, n: asked.append(n) or real(fh, n))
    with pytest.raises(DataError, match=r"dimensions \(200, 28, 28\) do not match the data: "
                                        r"expected 156800 bytes, found more"):
        read_idx(bomb)
    assert sum(asked) <= 16 + 156800 + 1, asked
    monkeypatch.setattr(data_mod, "MAX_IDX_BYTES", 100)  # a header past the cap is refused
    with pytest.raises(DataError, match=r"would need 156800 bytes, more than the 0 GiB"):
        read_idx(bomb)


def test_write_idx_rejects_non_uint8(tmp_path):
    with pytest.raises(ValueError, match="uint8"):
        write_idx(tmp_path / "f.idx", np.zeros(3, dtype=np.float32))
    assert list(tmp_path.iterdir()) == []


# --- a local mirror -----------------------------------------------------------------------------

def _fake_fashion(tmp_path, n_train=20, n_test=10):
    """Small IDX .gz files of the real format; returns {name: bytes}, {name: md5}."""
    rng = np.random.default_rng(1)
    src = tmp_path / "src"
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte.gz": rng.integers(0, 10, n_train, dtype=np.uint8),
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte.gz": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    files = {name: write_idx(src / name, arr).read_bytes() for name, arr in arrays.items()}
    return files, {n: hashlib.md5(b).hexdigest() for n, b in files.items()}, arrays


class Mirror:
    """A threading http.server on 127.0.0.1 serving in-memory files; ``mode[name]`` can be
    "drop" (promise the full length, send half, close) or "short" (serve a truncated file)."""

    def __init__(self, files):
        self.files, self.mode, self.requests = dict(files), {}, []
        mirror = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                name = self.path.lstrip("/")
                mirror.requests.append(name)
                if name not in mirror.files:
                    self.send_error(404)
                    return
                body, mode = mirror.files[name], mirror.mode.get(name)
                if mode == "short":
                    body = body[: len(body) // 2]
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if mode == "drop":
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        class Server(http.server.ThreadingHTTPServer):
            def handle_error(self, request, client_address):
                pass  # a client that hung up mid-file (a test's point, not news on stderr)

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                       daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake(tmp_path):
    files, md5s, arrays = _fake_fashion(tmp_path)
    mirror = Mirror(files)
    yield mirror, md5s, arrays
    mirror.close()


def _leftovers(d):
    return sorted(p.name for p in d.iterdir()) if d.exists() else []


def test_download_then_load(tmp_path, fake):
    mirror, md5s, arrays = fake
    data_dir = tmp_path / "data"
    calls = []
    assert not fashion_mnist_available(data_dir)
    download_fashion_mnist(data_dir, base_url=mirror.url, md5s=md5s,
                           progress=lambda n, done, total: calls.append((n, done, total)))
    assert _leftovers(data_dir) == sorted(FASHION_MNIST_FILES)
    assert fashion_mnist_available(data_dir)
    assert sorted(mirror.requests) == sorted(FASHION_MNIST_FILES)
    last = {n: (done, total) for n, done, total in calls}
    assert all(done == total == len(mirror.files[n]) for n, (done, total) in last.items())

    ds = load_dataset("fashion-mnist", data_dir=data_dir, download=False)
    assert ds.train_x.shape == (20, 1, 28, 28) and ds.train_x.dtype == torch.uint8
    assert ds.test_x.shape == (10, 1, 28, 28) and ds.test_y.shape == (10,)
    assert ds.train_y.dtype == torch.int64 and ds.classes == FASHION_MNIST_CLASSES
    np.testing.assert_array_equal(ds.train_x[:, 0].numpy(), arrays["train-images-idx3-ubyte.gz"])
    np.testing.assert_array_equal(ds.test_y.numpy(), arrays["t10k-labels-idx1-ubyte.gz"])

    # files with the right MD5 are kept; a corrupted one is never trusted and fetched again
    download_fashion_mnist(data_dir, base_url=mirror.url, md5s=md5s)
    assert len(mirror.requests) == 4
    (data_dir / "train-labels-idx1-ubyte.gz").write_bytes(b"garbage")
    download_fashion_mnist(data_dir, base_url=mirror.url, md5s=md5s)
    assert mirror.requests[4:] == ["train-labels-idx1-ubyte.gz"]
    assert (data_dir / "train-labels-idx1-ubyte.gz").read_bytes() == \
        mirror.files["train-labels-idx1-ubyte.gz"]


def test_base_url_from_environment(tmp_path, fake, monkeypatch):
    mirror, md5s, _ = fake
    monkeypatch.setenv("D2L_LAB_FASHION_MNIST_URL", mirror.url.rstrip("/"))
    download_fashion_mnist(tmp_path / "d", md5s=md5s)
    assert len(mirror.requests) == 4


def test_md5_mismatch_leaves_no_file(tmp_path, fake):
    mirror, md5s, _ = fake
    wrong = dict(md5s, **{"t10k-images-idx3-ubyte.gz": "0" * 32})
    with pytest.raises(DataError) as err:
        download_fashion_mnist(tmp_path / "d", base_url=mirror.url, md5s=wrong)
    msg = str(err.value)
    assert "t10k-images-idx3-ubyte.gz" in msg and "0" * 32 in msg
    assert md5s["t10k-images-idx3-ubyte.gz"] in msg
    assert "t10k-images-idx3-ubyte.gz" not in _leftovers(tmp_path / "d")
    assert not any(n.endswith(".part") for n in _leftovers(tmp_path / "d"))


def test_load_dataset_downloads_with_official_sums(tmp_path, fake, monkeypatch):
    # load_dataset checks the real MD5s: the generated files from the mirror are rejected
    mirror, _, _ = fake
    monkeypatch.setenv("D2L_LAB_FASHION_MNIST_URL", mirror.url)
    with pytest.raises(DataError, match="train-images-idx3-ubyte.gz.*8d4fb7e6c68d591d4c3dfef9ec88bf0d"):
        load_dataset("fashion-mnist", data_dir=tmp_path / "d")
    assert mirror.requests and _leftovers(tmp_path / "d") == []


def test_atomic_write_flushes_the_file_and_then_its_folder(tmp_path, monkeypatch):
    # the rename lives in the folder: without its fsync a power cut can undo it, while the runs
    # store's row (committed right after) survives and points at no weights
    import stat

    import nets.data

    synced = []
    real_fsync = os.fsync

    def fsync(fd):
        st_ = os.fstat(fd)
        synced.append(("dir" if stat.S_ISDIR(st_.st_mode) else "file",
                       os.path.exists(tmp_path / "w" / "a.bin")))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    nets.data.atomic_write(tmp_path / "w" / "a.bin", lambda fh: fh.write(b"weights"))
    assert synced == [("file", False), ("dir", True)]
    assert (tmp_path / "w" / "a.bin").read_bytes() == b"weights"


def test_a_damaged_file_is_fetched_again(tmp_path, fake, monkeypatch):
    # a file cut short after it was checked (a full disk, a copy that stopped) does not read; the
    # next load fetches again what fails its MD5 instead of failing until someone deletes it
    import nets.data

    mirror, md5s, arrays = fake
    monkeypatch.setattr(nets.data, "FASHION_MNIST_FILES", md5s)
    monkeypatch.setenv("D2L_LAB_FASHION_MNIST_URL", mirror.url)
    data_dir = tmp_path / "d"
    load_dataset("fashion-mnist", data_dir=data_dir)
    name = "t10k-labels-idx1-ubyte.gz"
    good = (data_dir / name).read_bytes()
    (data_dir / name).write_bytes(good[: len(good) // 2])
    with pytest.raises(DataError, match=name):  # downloading off: the damage is named
        load_dataset("fashion-mnist", data_dir=data_dir, download=False)
    ds = load_dataset("fashion-mnist", data_dir=data_dir)
    assert mirror.requests[4:] == [name]
    np.testing.assert_array_equal(ds.test_y.numpy(), arrays[name])
    # without network: one error naming the damaged file and why it could not be replaced
    (data_dir / name).write_bytes(b"garbage")
    monkeypatch.setenv("D2L_LAB_FASHION_MNIST_URL", "http://127.0.0.1:9/")
    with pytest.raises(DataUnavailable, match=f"{name}.*fetching it again failed"):
        load_dataset("fashion-mnist", data_dir=data_dir)


@pytest.mark.parametrize("mode", ["drop", "short"])
def test_interrupted_download_leaves_no_file(tmp_path, fake, mode):
    mirror, md5s, _ = fake
    name = "train-images-idx3-ubyte.gz"
    mirror.mode[name] = mode
    expected = DataUnavailable if mode == "drop" else DataError  # short: MD5 mismatch
    with pytest.raises(expected, match=name):
        download_fashion_mnist(tmp_path / "d", base_url=mirror.url, md5s=md5s, timeout=5)
    assert _leftovers(tmp_path / "d") == []
    assert not fashion_mnist_available(tmp_path / "d")


def test_a_training_job_reports_the_download_and_stop_cancels_it(tmp_path, fake, monkeypatch):
    # The page shows the download's progress; Stop (or a closed tab) ends it between chunks,
    # removes the partial file and frees the worker, instead of finishing 30 MB first.
    import nets.data
    from nets.jobs import train_job
    from nets.train import TrainConfig

    mirror, md5s, _ = fake
    monkeypatch.setattr(nets.data, "FASHION_MNIST_FILES", md5s)
    monkeypatch.setenv("D2L_LAB_FASHION_MNIST_URL", mirror.url)
    big = "train-images-idx3-ubyte.gz"
    mirror.files[big] = mirror.files[big] + b"\0" * (4 << 20)  # several chunks
    reports = []

    class Ctx:
        def report(self, progress):
            reports.append(progress)

        def should_stop(self):  # Stop comes once the download has started
            return any(p.phase == "download" for p in reports)

    data_dir = tmp_path / "d"
    config = TrainConfig(model="lenet-bn", dataset="fashion-mnist", data_dir=str(data_dir),
                         epochs=1, device="cpu")
    assert train_job(config)(Ctx()) is None  # stopped: no result
    first = next(p for p in reports if p.phase == "download")
    assert first.message.startswith(list(FASHION_MNIST_FILES)[0]) and "MB" in first.message
    assert len(mirror.requests) == 1  # the other files were not fetched
    assert not any(n.endswith(".part") for n in _leftovers(data_dir))


def test_a_download_reports_a_few_times_a_second_not_every_chunk(tmp_path, fake, monkeypatch):
    # Each report is a snapshot in the job's live-chart list: one per 64 KiB chunk would put
    # about 900 into it for Fashion-MNIST's 30 MB. The end of each file is always reported.
    import nets.data
    from nets.jobs import train_job
    from nets.train import TrainConfig

    mirror, md5s, _ = fake
    monkeypatch.setattr(nets.data, "FASHION_MNIST_FILES", md5s)
    monkeypatch.setenv("D2L_LAB_FASHION_MNIST_URL", mirror.url)
    big = "train-images-idx3-ubyte.gz"
    mirror.files[big] = mirror.files[big] + b"\0" * (4 << 20)  # 64 chunks
    md5s[big] = hashlib.md5(mirror.files[big]).hexdigest()
    reports = []

    class Ctx:
        def report(self, progress):
            reports.append(progress)

        def should_stop(self):
            return False

    config = TrainConfig(model="lenet-bn", dataset="fashion-mnist", data_dir=str(tmp_path / "d"),
                         epochs=1, device="cpu", max_steps=1)
    assert train_job(config)(Ctx()) is not None
    fetched = [p.message for p in reports if p.phase == "download"]
    assert 4 <= len(fetched) <= 4 * 2 + 8, fetched  # a file's start and end, and a few between
    size = f"{len(mirror.files[big]) / 1e6:.1f}"
    assert f"{big}, {size} of {size} MB" in fetched


def test_an_unwritable_data_folder_is_a_data_error(tmp_path, fake, monkeypatch):
    import os

    mirror, md5s, _ = fake
    os_open = os.open

    def refuse(path, flags, *args, **kwargs):  # a folder root may not write in either
        if flags & os.O_CREAT and str(path).startswith(str(tmp_path / "d")):
            raise PermissionError(13, "Permission denied")
        return os_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", refuse)
    with pytest.raises(DataError, match="cannot write .* Permission denied.*writable"):
        download_fashion_mnist(tmp_path / "d", base_url=mirror.url, md5s=md5s)


def test_images_of_the_wrong_size_are_a_data_error(tmp_path):
    # Files of the right format but not 28 x 28: a clear message, not a convolution's traceback
    for name, arr in {
        "train-images-idx3-ubyte.gz": np.zeros((4, 10, 10), np.uint8),
        "train-labels-idx1-ubyte.gz": np.zeros(4, np.uint8),
        "t10k-images-idx3-ubyte.gz": np.zeros((2, 10, 10), np.uint8),
        "t10k-labels-idx1-ubyte.gz": np.zeros(2, np.uint8),
    }.items():
        write_idx(tmp_path / name, arr)
    with pytest.raises(DataError, match="train-images-idx3-ubyte.gz: expected 28 x 28 images, "
                                        "found 10 x 10"):
        load_dataset("fashion-mnist", data_dir=tmp_path, download=False)


def test_unreachable_server_is_unavailable(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DataUnavailable, match="digits"):
        download_fashion_mnist(tmp_path / "d", base_url=f"http://127.0.0.1:{port}/", timeout=2)
    assert _leftovers(tmp_path / "d") == []
    with pytest.raises(DataUnavailable, match="digits"):
        load_dataset("fashion-mnist", data_dir=tmp_path / "d", download=False)


def test_non_http_mirror_rejected(tmp_path):
    with pytest.raises(DataError, match="http"):
        download_fashion_mnist(tmp_path, base_url="file:///etc/")


def test_default_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("D2L_LAB_DATA_DIR", str(tmp_path / "x"))
    assert default_data_dir() == tmp_path / "x"
    monkeypatch.delenv("D2L_LAB_DATA_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert default_data_dir() == tmp_path / "cache" / "d2l-lab"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_data_dir().parts[-2:] == (".cache", "d2l-lab")


def test_fashion_mnist_registry_constants():
    assert list(FASHION_MNIST_FILES.values()) == [
        "8d4fb7e6c68d591d4c3dfef9ec88bf0d", "25c81989df183df01b3e8a0aad5dffbe",
        "bef4ecab320f06d8554ea6380940ec79", "bb300cfdad3c16e7a12a480ee83fd310"]
    assert list(DATASETS) == ["fashion-mnist", "digits"]
    with pytest.raises(ValueError, match="digits"):
        load_dataset("cifar")


# --- digits -------------------------------------------------------------------------------------

def test_digits_offline_and_deterministic():
    a, b = load_dataset("digits"), load_dataset("digits")
    assert a.train_x.shape == (1497, 1, 28, 28) and a.test_x.shape == (300, 1, 28, 28)
    assert a.train_x.dtype == torch.uint8 and a.train_y.dtype == torch.int64
    assert a.classes == tuple("0123456789") and a.num_classes == 10
    assert set(a.train_y.tolist()) == set(range(10)) == set(a.test_y.tolist())
    assert int(a.train_x.max()) >= 250 and int(a.train_x.min()) == 0
    assert torch.equal(a.train_x, b.train_x) and torch.equal(a.test_y, b.test_y)
    # the test split is not a prefix of the bundled order (a real shuffle)
    from sklearn.datasets import load_digits
    assert not np.array_equal(a.test_y.numpy(), load_digits().target[:300])


# --- batches ------------------------------------------------------------------------------------

def test_to_float_and_resize_batch():
    x = torch.tensor([[[[0, 255], [51, 102]]]], dtype=torch.uint8)
    torch.testing.assert_close(to_float(x), torch.tensor([[[[0.0, 1.0], [0.2, 0.4]]]]))
    torch.testing.assert_close(to_float(x, mean=0.5, std=0.5),
                               torch.tensor([[[[-1.0, 1.0], [-0.6, -0.2]]]]))
    const = torch.full((3, 1, 28, 28), 77, dtype=torch.uint8)
    big = resize_batch(const, 96)
    assert big.shape == (3, 1, 96, 96) and big.dtype == torch.uint8 and bool((big == 77).all())
    assert resize_batch(const, 28) is const and resize_batch(const, None) is const
    f = resize_batch(to_float(x), (4, 6))
    assert f.shape == (1, 1, 4, 6) and f.dtype == torch.float32
    assert float(f.min()) >= 0.0 and float(f.max()) <= 1.0
    with pytest.raises(ValueError):
        resize_batch(const, 0)


def test_labels_that_are_not_uint8_are_a_data_error(tmp_path):
    # IDX type 0x09 (int8) can hold -1, which the loss would meet as a traceback
    for name, arr in {
        "train-images-idx3-ubyte.gz": np.zeros((4, 28, 28), np.uint8),
        "t10k-images-idx3-ubyte.gz": np.zeros((2, 28, 28), np.uint8),
        "t10k-labels-idx1-ubyte.gz": np.zeros(2, np.uint8),
    }.items():
        write_idx(tmp_path / name, arr)
    signed = bytes([0, 0, 0x09, 1]) + (4).to_bytes(4, "big") + np.array([0, 1, -1, 2], np.int8
                                                                        ).tobytes()
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(signed))
    with pytest.raises(DataError, match="train-labels-idx1-ubyte.gz: expected uint8 labels, "
                                        "found int8"):
        load_dataset("fashion-mnist", data_dir=tmp_path, download=False)
