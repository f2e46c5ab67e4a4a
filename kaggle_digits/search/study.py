"""An Optuna study of one preset: its storage (an SQLite file in the runs folder by default, or any database URL that
many machines share), created or joined by many processes at once, refused when it searches another recipe."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import ConfigError, KaggleDigitsError
from ..logs import quiet

INSTALL = "pip install 'kaggle-digits[tune]'"
STUDY_FILE = "tune.db"  # the default storage, in the runs folder
PRUNERS = ("median", "hyperband")
CONNECT_TIMEOUT_S = 10
SCHEMA_TRIES = 3  # processes starting together race to create the storage's tables: the loser reads them


def optuna() -> Any:
    """Optuna, or one line saying what to install."""
    try:
        import optuna
    except ImportError:
        raise KaggleDigitsError(f"tune needs Optuna: {INSTALL}") from None
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # a failed trial's traceback stays out of the terminal
    return optuna


def default_storage(runs_dir: Path) -> str:
    return f"sqlite:///{(Path(runs_dir) / STUDY_FILE).resolve()}"


def shown(url: str) -> str:
    """A storage URL as it may be printed: without its password."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("@")[-1] if "@" in url else url


def open_storage(url: str, runs_dir: Path, create: bool = True) -> Any:
    """Optuna's RDB storage at `url`, reached now: an unreachable server or a wrong URL is one line. Without
    `create`, an SQLite file that does not exist is one line too, and is not made."""
    opt = optuna()
    file = Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None
    if file is not None and not create and not file.is_file():
        raise KaggleDigitsError(f"no study storage at {file}; start a study with: kaggle-digits tune")
    if url == default_storage(runs_dir):
        Path(runs_dir).mkdir(parents=True, exist_ok=True)
    connect = {"timeout": 30} if url.startswith("sqlite") else {"connect_timeout": CONNECT_TIMEOUT_S}
    try:
        for attempt in range(SCHEMA_TRIES):
            try:
                with quiet("sqlalchemy"), one_creator(file):
                    storage = opt.storages.RDBStorage(url, engine_kwargs={"connect_args": connect})
                if url.startswith("sqlite"):
                    _write_locks_first(storage.engine)
                return storage
            except Exception as exc:
                if attempt + 1 == SCHEMA_TRIES or not _raced(exc):
                    raise
        raise AssertionError("unreachable")
    except ModuleNotFoundError as exc:
        raise KaggleDigitsError(f"the storage {shown(url)} needs {exc.name}: {INSTALL}") from None
    except Exception as exc:  # sqlalchemy's ArgumentError, OperationalError…: the URL or the server
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise KaggleDigitsError(f"cannot open the study storage {shown(url)} ({reason})") from None


@contextlib.contextmanager
def one_creator(file: Path | None) -> Iterator[None]:
    """Processes opening one SQLite file at once take turns creating its tables (a second `CREATE TABLE` fails
    rather than waits): each holds an flock on the file itself meanwhile, which SQLite's own fcntl locks ignore."""
    if file is None or not file.parent.is_dir():
        yield
        return
    import fcntl

    with open(file, "ab") as handle:  # an empty file is a new SQLite database
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _write_locks_first(engine: Any) -> None:
    """Every SQLite transaction takes the write lock when it begins. A transaction that reads, then writes, while
    another process writes cannot wait for the lock (SQLite refuses at once, "database is locked", whatever the
    timeout), and two `tune` processes on one file do exactly that; one that asks first waits its turn instead."""
    from sqlalchemy import event

    def on_connect(connection: Any, _: Any) -> None:
        connection.isolation_level = None  # the driver leaves BEGIN to us

    def on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    event.listen(engine, "connect", on_connect)
    event.listen(engine, "begin", on_begin)
    engine.dispose()  # connections opened before the listeners are closed


def make_pruner(name: str) -> Any:
    """Optuna's median pruner (stops a trial below the median of earlier trials at the same epoch, after 2 trials and
    2 epochs) or Hyperband (successive halving over epochs)."""
    opt = optuna()
    if name == "median":
        return opt.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=2)
    if name == "hyperband":
        return opt.pruners.HyperbandPruner(min_resource=1)
    raise ConfigError({"pruner": name}, f"choose {' or '.join(PRUNERS)}")


def open_study(storage: Any, name: str, preset: str, fixed: dict[str, Any], pruner: str, create: bool = True) -> Any:
    """The study `name`, created if it is new (two processes may race to create it: both go on with the one study);
    refused when it searches another preset or fixes other knobs."""
    opt = optuna()
    if not create:
        try:
            return opt.load_study(study_name=name, storage=storage)
        except KeyError:
            raise KaggleDigitsError(f"no study {name!r} in this storage; start one with: kaggle-digits tune") from None
    sampler, chosen = opt.samplers.TPESampler(), make_pruner(pruner)
    try:
        study = opt.create_study(
            study_name=name, storage=storage, direction="maximize", sampler=sampler, pruner=chosen,
            load_if_exists=True,
        )  # fmt: skip
    except Exception as exc:  # DuplicatedStudyError or the database's IntegrityError: another process won the race
        if not _duplicate(exc):
            raise
        study = opt.load_study(study_name=name, storage=storage, sampler=sampler, pruner=chosen)
    attrs = study.user_attrs
    if not attrs:
        study.set_user_attr("preset", preset)
        study.set_user_attr("fixed", fixed)
    elif attrs.get("preset") != preset:
        raise ConfigError(
            {"study": name}, f"searches the preset {attrs.get('preset')}, not {preset}; name another study"
        )
    elif attrs.get("fixed", {}) != fixed:
        given = " ".join(f"{k}={v}" for k, v in sorted(attrs.get("fixed", {}).items())) or "nothing"
        raise ConfigError({"study": name}, f"fixes {given} (--param); give the same, or name another study")
    return study


def _raced(exc: Exception) -> bool:
    """Another process created the same tables or schema version a moment earlier: trying again finds them."""
    names = {kind.__name__ for kind in type(exc).__mro__}
    return bool(names & {"IntegrityError", "ProgrammingError"}) or "already exists" in str(exc)


def _duplicate(exc: Exception) -> bool:
    names = {kind.__name__ for kind in type(exc).__mro__}
    return bool(names & {"DuplicatedStudyError", "IntegrityError"})
