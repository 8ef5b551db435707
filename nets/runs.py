"""Training history kept in SQLite: every finished run, its curves, config and weights.

:class:`RunStore` keeps one row per run in ``<data dir>/runs.sqlite`` (``$D2L_LAB_DATA_DIR``, see
:func:`nets.data.default_data_dir`) and the run's weights in ``<data dir>/weights/<run_id>.pt``,
a file in the format of :func:`nets.train.save_checkpoint` (it loads with
``torch.load(..., weights_only=True)`` and :func:`nets.train.load_checkpoint`).

Order of writes, so that a crash never leaves a row pointing at a missing file:

* ``add``: the weights file is written first (temporary file + ``os.replace``), then the row is
  inserted in one transaction. A crash in between leaves an orphan file; :meth:`cleanup_orphans`
  removes it.
* ``delete``: the rows are deleted first (one transaction), then their files.

The store is safe to use from worker threads and Streamlit script threads at once: it keeps no
connection, every operation opens its own (WAL journal, busy timeout), and every query is
parameterised. Every SQLite or file-system failure surfaces as :class:`RunStoreError` with one
readable sentence (a corrupt or locked database file included), never a raw sqlite traceback.
The schema is versioned with ``PRAGMA user_version``.

:func:`recording` wraps a :func:`nets.jobs.train_job` function so that the finished run is written
to the store inside the worker thread, before the page ever sees it.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import sqlite3
import time
import uuid
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable, Iterable, Mapping

log = logging.getLogger(__name__)

__all__ = ["RunStore", "RunRow", "RunStoreError", "recording", "DB_NAME", "WEIGHTS_DIR",
           "SCHEMA_VERSION"]

DB_NAME = "runs.sqlite"
WEIGHTS_DIR = "weights"
SCHEMA_VERSION = 1
BUSY_TIMEOUT_S = 10.0
ORPHAN_MIN_AGE_S = 300.0  # a weights file this young may belong to an add() still in progress
STATUSES = ("done", "stopped", "failed")
_RUN_ID = re.compile(r"^[0-9]{8}-[0-9]{6}-[0-9a-f]{8}$")

# version -> statements that bring the schema from version - 1 to version
_MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        """CREATE TABLE IF NOT EXISTS runs (
               id TEXT PRIMARY KEY,
               created REAL NOT NULL,
               model TEXT NOT NULL,
               dataset TEXT NOT NULL,
               optimizer TEXT NOT NULL,
               lr REAL NOT NULL,
               batch_size INTEGER NOT NULL,
               epochs INTEGER NOT NULL,
               device TEXT NOT NULL,
               fast INTEGER NOT NULL,
               seed INTEGER NOT NULL,
               status TEXT NOT NULL,
               final_test_acc REAL,
               seconds REAL,
               config_json TEXT NOT NULL,
               history_json TEXT NOT NULL,
               weights_path TEXT NULL,
               note TEXT NOT NULL DEFAULT ''
           )""",
        "CREATE INDEX IF NOT EXISTS runs_created ON runs (created DESC)",
        "CREATE INDEX IF NOT EXISTS runs_model_dataset ON runs (model, dataset)",
    ),
}

_LIST_COLUMNS = ("id, created, model, dataset, optimizer, lr, batch_size, epochs, device, fast, "
                 "seed, status, final_test_acc, seconds, config_json, weights_path, note")


class RunStoreError(Exception):
    """The run history cannot be read or written; the message says why in one sentence."""


@dataclass(frozen=True)
class RunRow:
    """One stored run (without its curves: see :meth:`RunStore.history`)."""

    id: str
    created: float  # seconds since the epoch
    model: str
    dataset: str
    optimizer: str
    lr: float
    batch_size: int
    epochs: int
    device: str
    fast: bool
    seed: int
    status: str  # "done" | "stopped" | "failed"
    final_test_acc: float | None
    seconds: float | None
    config: dict  # TrainConfig.to_dict()
    weights_path: str | None  # absolute path of the .pt file, or None if none was stored
    note: str = ""

    @property
    def has_weights(self) -> bool:
        return self.weights_path is not None and os.path.isfile(self.weights_path)

    def train_config(self):
        """The run's :class:`nets.train.TrainConfig`."""
        from nets.train import TrainConfig

        return TrainConfig.from_dict(self.config)

def new_run_id(now: float | None = None) -> str:
    """Sortable and unique: ``YYYYMMDD-HHMMSS-<8 hex>`` (also a safe file name)."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(time.time() if now is None else now))
    return f"{stamp}-{uuid.uuid4().hex[:8]}"


def _check_id(run_id: Any) -> str:
    if not isinstance(run_id, str) or not _RUN_ID.match(run_id):
        raise KeyError(f"not a run id: {run_id!r}")
    return run_id


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "item"):  # numpy / torch scalars
        return obj.item()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, (set, tuple)):
        return list(obj)
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    return str(obj)


def _dumps(d: Any) -> str:
    return json.dumps(d, default=_json_default, separators=(",", ":"))


def _history_dict(history: Any) -> dict:
    if history is None:
        return {}
    if isinstance(history, Mapping):
        return dict(history)
    if hasattr(history, "to_dict"):
        return history.to_dict()
    raise TypeError(f"history must be a History or a dict, got {type(history).__name__}")


def _config_dict(config: Any) -> dict:
    if isinstance(config, Mapping):
        return dict(config)
    if hasattr(config, "to_dict"):
        return config.to_dict()
    raise TypeError(f"config must be a TrainConfig or a dict, got {type(config).__name__}")


def _finite_or_none(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _explain(exc: BaseException, path: Path) -> str:
    """One readable sentence for a sqlite3 or OS error on the database ``path``."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    low = text.lower()
    if "not a database" in low or "malformed" in low or "corrupt" in low:
        return (f"the run history {path} is damaged or is not a SQLite database ({text}); "
                f"move the file away or delete it to start a new history")
    if "locked" in low or "busy" in low:
        return (f"the run history {path} is locked by another program ({text}); "
                f"try again in a moment")
    if "readonly" in low or "read-only" in low or "permission" in low:
        return f"the run history {path} cannot be written ({text}); check its permissions"
    if "unable to open" in low:
        return f"the run history {path} cannot be opened ({text}); check that its folder exists"
    if isinstance(exc, OSError):
        return f"the run history {path}: {exc.strerror or text}"
    return f"the run history {path} cannot be used ({text})"


class RunStore:
    """Runs in a SQLite file; weights as checkpoint files beside it. Thread-safe, no open handles.

    ``path`` defaults to ``<data dir>/runs.sqlite``; weights go to ``<its folder>/weights/``.
    Opening creates the folders and the schema (or upgrades an older one); a damaged, locked or
    newer-version file raises :class:`RunStoreError`.
    """

    def __init__(self, path: str | os.PathLike | None = None):
        if path is None:
            from nets.data import default_data_dir

            path = default_data_dir() / DB_NAME
        self.path = Path(path).expanduser().absolute()
        self.weights_dir = self.path.parent / WEIGHTS_DIR
        try:
            self.weights_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RunStoreError(f"cannot create the run history folder {self.weights_dir}: "
                                f"{exc.strerror or exc}") from None
        if self.path.is_dir():
            raise RunStoreError(f"the run history {self.path} is a folder, not a file")
        self._migrate()

    def __repr__(self) -> str:
        return f"RunStore({str(self.path)!r})"

    # -- connections

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: we issue BEGIN IMMEDIATE ourselves for writes, and `with conn:`
        # commits (or rolls back) it.
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        conn.row_factory = sqlite3.Row
        return conn

    def _run(self, work: Callable[[sqlite3.Connection], Any]) -> Any:
        """Open a connection, do ``work``, close it; every failure becomes a RunStoreError."""
        try:
            with closing(self._connect()) as conn:
                return work(conn)
        except sqlite3.Error as exc:
            raise RunStoreError(_explain(exc, self.path)) from None

    def _write(self, work: Callable[[sqlite3.Connection], Any]) -> Any:
        """``work`` inside one write transaction (BEGIN IMMEDIATE ... COMMIT or ROLLBACK)."""

        def tx(conn: sqlite3.Connection) -> Any:
            with conn:
                conn.execute("BEGIN IMMEDIATE")
                return work(conn)

        return self._run(tx)

    def _migrate(self) -> None:
        def setup(conn: sqlite3.Connection) -> None:
            version = conn.execute("PRAGMA user_version").fetchone()[0]  # reads the header
            if version > SCHEMA_VERSION:
                raise RunStoreError(
                    f"the run history {self.path} was written by a newer version of D2L Lab "
                    f"(schema {version}, this one knows {SCHEMA_VERSION}); upgrade the app or "
                    f"use another data folder")
            if version < SCHEMA_VERSION:
                with conn:
                    conn.execute("BEGIN IMMEDIATE")
                    version = conn.execute("PRAGMA user_version").fetchone()[0]  # recheck, locked
                    for v in range(version + 1, SCHEMA_VERSION + 1):
                        for statement in _MIGRATIONS[v]:
                            conn.execute(statement)
                    # PRAGMA takes no parameters; SCHEMA_VERSION is a module constant int.
                    conn.execute(f"PRAGMA user_version = {int(SCHEMA_VERSION)}")
            mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
            if str(mode).lower() != "wal":
                conn.execute("PRAGMA journal_mode=WAL")  # persistent; needs no open transaction
            conn.execute("SELECT count(*) FROM runs").fetchone()  # the table is really there

        self._run(setup)

    # -- writing

    def add(self, config: Any, history: Any, state_dict: Mapping[str, Any] | None = None,
            status: str = "done", model: Any = None, *, classes: Iterable[str] | None = None,
            note: str = "", run_id: str | None = None) -> str:
        """Store a finished run; returns its id.

        ``config`` is a TrainConfig (or its ``to_dict()``), ``history`` a History (or its
        ``to_dict()``). Weights come from ``state_dict`` or from ``model`` (an ``nn.Module``);
        with neither, the run is stored without weights. The weights file is written first, then
        the row in one transaction; if the row cannot be written the file is removed again.
        """
        if status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}, got {status!r}")
        cfg = _config_dict(config)
        hist = _history_dict(history)
        if state_dict is None and model is not None:
            state_dict = model.state_dict()
        run_id = _check_id(run_id) if run_id is not None else new_run_id()
        created = time.time()
        try:
            config_json, history_json = _dumps(cfg), _dumps(hist)
        except (TypeError, ValueError) as exc:
            raise RunStoreError(f"the run cannot be stored: {exc}") from None
        weights: Path | None = None
        if state_dict is not None:
            weights = self.weights_dir / f"{run_id}.pt"
            self._save_weights(weights, cfg, hist, state_dict, classes)
        epochs_done = hist.get("epochs") or []
        row = {
            "id": run_id, "created": created,
            "model": str(cfg.get("model", "")), "dataset": str(cfg.get("dataset", "")),
            # what the run used (fast mode scales both; the config keeps what was asked for)
            "optimizer": str(cfg.get("optimizer", "")),
            "lr": float(hist.get("lr") or cfg.get("lr", 0.0)),
            "batch_size": int(hist.get("batch_size") or cfg.get("batch_size", 0)),
            "epochs": int(cfg.get("epochs", len(epochs_done))),
            "device": str(hist.get("device") or cfg.get("device", "")),
            "fast": int(bool(cfg.get("fast", False))), "seed": int(cfg.get("seed", 0)),
            "status": status,
            "final_test_acc": _finite_or_none(hist.get("final_test_acc")),
            "seconds": _finite_or_none(hist.get("seconds")),
            "config_json": config_json, "history_json": history_json,
            # relative to the database's folder, so a data folder can be moved as a whole
            "weights_path": f"{WEIGHTS_DIR}/{weights.name}" if weights is not None else None,
            "note": str(note),
        }
        cols = ", ".join(row)
        marks = ", ".join(f":{k}" for k in row)
        try:
            self._write(lambda conn: conn.execute(
                f"INSERT INTO runs ({cols}) VALUES ({marks})", row))
        except BaseException:
            if weights is not None:  # no row points at it: do not leave it behind
                _unlink(weights)
            raise
        return run_id

    def _save_weights(self, path: Path, cfg: dict, hist: dict, state_dict: Mapping[str, Any],
                      classes: Iterable[str] | None) -> None:
        from nets.train import TrainConfig, checkpoint_payload, write_checkpoint

        try:
            config = TrainConfig.from_dict(cfg)
        except (TypeError, ValueError) as exc:
            raise RunStoreError(f"the run's config cannot be read back: {exc}") from None
        h = SimpleNamespace(epochs=hist.get("epochs") or [],
                            final_test_acc=hist.get("final_test_acc"),
                            stopped=bool(hist.get("stopped", False)),
                            steps=int(hist.get("steps") or 0), device=hist.get("device", ""))
        try:
            write_checkpoint(path, checkpoint_payload(
                state_dict, config, h, list(classes) if classes is not None else None))
        except OSError as exc:
            raise RunStoreError(f"cannot write the weights file {path}: "
                                f"{exc.strerror or exc}") from None

    def set_note(self, run_id: str, note: str) -> None:
        """Replace a run's free-text note."""
        _check_id(run_id)
        self._write(lambda conn: conn.execute("UPDATE runs SET note = ? WHERE id = ?",
                                              (str(note), run_id)))

    def delete(self, run_ids: Iterable[str]) -> int:
        """Delete these runs and their weights files; returns how many rows were deleted.

        Rows go first (one transaction), files after: a crash in between leaves orphan files,
        never a row without its file. Unknown ids are ignored.
        """
        ids = [_check_id(r) for r in run_ids]
        if not ids:
            return 0

        def work(conn: sqlite3.Connection) -> tuple[int, list[str]]:
            paths, count = [], 0
            for rid in ids:
                found = conn.execute("SELECT weights_path FROM runs WHERE id = ?",
                                     (rid,)).fetchone()
                if found is None:
                    continue
                path = self._resolve_weights(found["weights_path"])
                if path is not None:
                    paths.append(path)
                count += conn.execute("DELETE FROM runs WHERE id = ?", (rid,)).rowcount
            return count, paths

        count, paths = self._write(work)
        for p in paths:
            _unlink(p)
        for rid in ids:  # a file left by an earlier crash under the same id
            _unlink(self.weights_dir / f"{rid}.pt")
        return count

    def cleanup_orphans(self, min_age: float = ORPHAN_MIN_AGE_S) -> list[Path]:
        """Remove weights files (and temporary files) no row refers to; returns what it removed.

        Files younger than ``min_age`` seconds are kept: they may belong to an ``add`` that has
        written its weights and is about to insert its row.
        """
        known = {self._resolve_weights(r[0]) for r in self._run(lambda conn: conn.execute(
            "SELECT weights_path FROM runs WHERE weights_path IS NOT NULL").fetchall())}
        removed = []
        now = time.time()
        try:
            entries = list(os.scandir(self.weights_dir))
        except OSError:
            return []
        for entry in entries:
            name = entry.name
            ours = (name.endswith(".pt") and _RUN_ID.match(name[:-3])) or \
                (name.startswith(".ckpt-") and name.endswith(".tmp"))
            if not ours or not entry.is_file(follow_symlinks=False):
                continue
            path = self.weights_dir / name
            if path in known:
                continue
            try:
                if now - entry.stat(follow_symlinks=False).st_mtime < min_age:
                    continue
            except OSError:
                continue
            if _unlink(path):
                removed.append(path)
        return removed

    # -- reading

    def list(self, limit: int = 200, model: str | None = None,
             dataset: str | None = None) -> list[RunRow]:
        """Runs, newest first, optionally only one model and/or dataset."""
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            raise ValueError(f"limit must be a positive whole number, got {limit!r}")
        where, args = [], []
        if model is not None:
            where.append("model = ?")
            args.append(model)
        if dataset is not None:
            where.append("dataset = ?")
            args.append(dataset)
        sql = f"SELECT {_LIST_COLUMNS} FROM runs"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY created DESC, rowid DESC LIMIT ?"
        args.append(limit)
        rows = self._run(lambda conn: conn.execute(sql, args).fetchall())
        out = []
        for r in rows:
            try:
                out.append(self._row(r))
            except RunStoreError as exc:  # one damaged row must not hide every other run
                log.warning("runs store: row %r skipped: %s", r["id"], exc)
        return out

    def count(self) -> int:
        return int(self._run(lambda conn: conn.execute("SELECT count(*) FROM runs").fetchone()[0]))

    def get(self, run_id: str) -> RunRow | None:
        """The run, or None if there is no such run."""
        try:
            _check_id(run_id)
        except KeyError:
            return None
        r = self._run(lambda conn: conn.execute(
            f"SELECT {_LIST_COLUMNS} FROM runs WHERE id = ?", (run_id,)).fetchone())
        return self._row(r) if r is not None else None

    def history(self, run_id: str) -> dict:
        """The run's ``History.to_dict()`` (epochs, points, final_test_acc, ...).

        Raises KeyError for an unknown run.
        """
        _check_id(run_id)
        r = self._run(lambda conn: conn.execute(
            "SELECT history_json FROM runs WHERE id = ?", (run_id,)).fetchone())
        if r is None:
            raise KeyError(f"no run {run_id!r}")
        try:
            return json.loads(r[0])
        except ValueError as exc:
            raise RunStoreError(f"the stored history of run {run_id} is damaged ({exc})") from None

    def weights_path(self, run_id: str) -> Path | None:
        """The run's weights file if it has one and it exists, else None."""
        row = self.get(run_id)
        if row is None or not row.weights_path:
            return None
        p = Path(row.weights_path)
        return p if p.is_file() else None

    def _resolve_weights(self, stored: str | None) -> Path | None:
        """The file a stored ``weights_path`` names, only ever ``<weights dir>/<run id>.pt``.

        Whatever the database says, nothing outside the weights folder is read or deleted.
        """
        if not stored:
            return None
        name = Path(str(stored)).name
        if not (name.endswith(".pt") and _RUN_ID.match(name[:-3])):
            return None
        return self.weights_dir / name

    def _row(self, r: sqlite3.Row) -> RunRow:
        try:
            config = json.loads(r["config_json"])
        except (TypeError, ValueError):
            config = {}
        try:
            return self._row_values(r, config)
        except (TypeError, ValueError) as exc:
            raise RunStoreError(f"run {r['id']!r} cannot be read: {exc}") from None

    def _row_values(self, r: sqlite3.Row, config: Any) -> RunRow:
        return RunRow(
            id=r["id"], created=float(r["created"]), model=r["model"], dataset=r["dataset"],
            optimizer=r["optimizer"], lr=float(r["lr"]), batch_size=int(r["batch_size"]),
            epochs=int(r["epochs"]), device=r["device"], fast=bool(r["fast"]),
            seed=int(r["seed"]), status=r["status"], final_test_acc=r["final_test_acc"],
            seconds=r["seconds"], config=config if isinstance(config, dict) else {},
            weights_path=_str_or_none(self._resolve_weights(r["weights_path"])),
            note=r["note"] or "",
        )


def curve_points(history: Mapping[str, Any]) -> list[dict]:
    """A stored history's chart points (``History.to_dict()``): its intra-epoch points, each
    epoch's test accuracy on the point at that epoch's last step (runs recorded before that
    point carried it lack it), or, for a history without points, one point per epoch."""
    epochs = history.get("epochs") or []
    points = [dict(p) for p in history.get("points") or [] if "epoch_float" in p]
    if not points:
        return [{"epoch_float": float(e.get("epoch", i + 1)), "train_loss": e.get("train_loss"),
                 "train_acc": e.get("train_acc"), "test_acc": e.get("test_acc")}
                for i, e in enumerate(epochs)]
    tested = {e["step"]: e["test_acc"] for e in epochs
              if e.get("test_acc") is not None and "step" in e}
    for p in points:
        if p.get("test_acc") is None and p.get("step") in tested:
            p["test_acc"] = tested[p["step"]]
    return points


def _str_or_none(p: Path | None) -> str | None:
    return str(p) if p is not None else None


def _unlink(path: Path) -> bool:
    try:
        os.unlink(path)
        return True
    except FileNotFoundError:
        return False
    except OSError as exc:
        log.warning("could not remove %s: %s", path, exc)
        return False


# ----------------------------------------------------------------------------- recording jobs


def _tidy(store: RunStore) -> None:
    """Remove weights files a crash left without a row (they would stay forever otherwise)."""
    try:
        removed = store.cleanup_orphans()
    except Exception:  # noqa: BLE001 - tidying up must never cost a run
        log.warning("runs store: orphan clean-up failed", exc_info=True)
        return
    if removed:
        log.info("runs store: removed %d orphan file(s)", len(removed))


def recording(job_fn: Callable[[Any], Any], store_factory: Callable[[], RunStore]
              ) -> Callable[[Any], Any]:
    """Wrap a :func:`nets.jobs.train_job` function so its finished run lands in the store.

    The write happens in the worker thread right after training, so a closed tab or a page that
    crashes loses no finished run. The result gets ``run_id`` (None if not stored) and
    ``store_error`` (None, or one sentence). A store failure is logged and never fails the job.
    A run that took no optimiser step (stopped while loading) is not stored.
    """

    def run(ctx: Any) -> Any:
        result = job_fn(ctx)
        if result is None:
            return None
        run_id, error = None, None
        history = getattr(result, "history", None)
        if history is not None and int(getattr(history, "steps", 1) or 0) > 0:
            status = "stopped" if getattr(history, "stopped", False) else "done"
            try:
                store = store_factory()
                run_id = store.add(
                    result.config, history, getattr(result, "state_dict", None), status=status,
                    classes=getattr(result, "classes", None))
                _tidy(store)
            except Exception as exc:  # noqa: BLE001 - the training result matters more
                error = str(exc) if isinstance(exc, RunStoreError) else \
                    f"the run could not be saved to the history ({type(exc).__name__}: {exc})"
                log.warning("run not recorded: %s", error, exc_info=not isinstance(
                    exc, RunStoreError))
        try:
            result.run_id = run_id
            result.store_error = error
        except AttributeError:  # a result type with slots: nothing to attach to
            pass
        return result

    return run
