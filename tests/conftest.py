"""Make the repository root importable when tests run as plain ``pytest`` (not ``python -m``)."""

import sys
from pathlib import Path

ROOT = str(Path(__file__).resolve().parents[1])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


import os  # noqa: E402
import tempfile  # noqa: E402

# Tests never read or write the user's data directory (run history, weights, downloads): the
# whole session gets its own, unless a test points D2L_LAB_DATA_DIR elsewhere itself.
_DATA = tempfile.mkdtemp(prefix="d2l-lab-tests-")
os.environ["D2L_LAB_DATA_DIR"] = _DATA


def pytest_sessionfinish(session, exitstatus):
    """Remove the session's data directory (run stores and weights: tens of MB a session)."""
    import shutil

    shutil.rmtree(_DATA, ignore_errors=True)


import pytest  # noqa: E402
import torch  # noqa: E402


@pytest.fixture(scope="module")
def one_torch_thread():
    """One intra-op thread for a module's tests (``pytestmark = pytest.mark.usefixtures(...)``):
    the tiny models trained there gain nothing from two, and on a busy CI machine (other test
    processes on the same two cores) two spinning OpenMP threads made a 3 s fit take over a
    minute. Restored afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def cpp_compiler():
    """Skips a test that runs torch.compile on a CPU where there is no C++ compiler for it."""
    import shutil

    if not (os.environ.get("CXX") or shutil.which("g++") or shutil.which("clang++")):
        pytest.skip("torch.compile on a CPU needs a C++ compiler")
