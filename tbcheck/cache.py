"""The verdict cache: a cell's records kept on disk under a key made of everything that decides
them, so that a repeat run answers at once and an edited rule file reruns only its own cells.

A verdict is a function of its inputs (budgets count z3's resource units, each cell runs in a
process forked from its rule set's clean template: ``tbcheck.proofs.budget``), so the records a
cell gave once are the records it would give again under the same key. The key holds the rule
set (its name, and for a user's file its source and that of every module of its own it refers
to), the source of every module of the tbcheck package (whatever the engine imports; hashing
all of them is simpler and safer than tracing imports), the versions of tbcheck, z3,
Hypothesis and Python, the machine's architecture, ``PYTHONHASHSEED``, every field of the
envelope, the cell's properties and every option that can change a verdict
(``verdict_options``). A cell stopped by the wall-clock safety net, or whose process died, is
never stored: its record is not a function of the key.

One JSON file a key, written to a temporary file and renamed (``os.replace``), so two runs that
share the folder never see half a file; JSON, not pickle, since the folder may come back from a
CI cache that tbcheck does not own. A file that cannot be read or does not hold the key's
records is a miss; a folder that cannot be written costs a one-line warning, never the run.
"""

from __future__ import annotations

import argparse
import copy
import functools
import hashlib
import json
import os
import platform
import sys
import tempfile
from collections.abc import Callable
from dataclasses import asdict
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from types import ModuleType
from typing import Any

FORMAT = 1  # the files' layout; a change of it changes every key
#: what ``tbcheck.verdicts.gate`` and ``replay_facts`` add to a record at each run (they depend
#: on options outside the key, such as --accept-partial), and the cache's own mark
DERIVED = ("asked_depth", "outcome", "gate", "due", "tolerances", "cached")

Cell = tuple[str, str, list[str]]  # (kind, ref, properties), as prove_cmd schedules them
Record = dict[str, Any]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cache-dir", metavar="DIR",
                   help="the verdict cache's folder (default: $TBCHECK_CACHE_DIR, else "
                        "$XDG_CACHE_HOME/tbcheck, else ~/.cache/tbcheck)")
    p.add_argument("--no-cache", action="store_true",
                   help="decide every cell again, and store nothing in the verdict cache")


def verdict_options(args: argparse.Namespace) -> dict[str, Any]:
    """The options of ``tbcheck prove`` that can change a cell's records, beside the envelope's
    (which the key holds whole). Left out, because they cannot: --timeout (a cell it stops is
    never stored, any other cell's records do not depend on it), --jobs (a cell runs in a
    process forked from its rule set's template whichever worker runs it), --accept-partial
    (the gate, judged again at each run from the record), --json, --junit, --explain (the
    rendering), and the choice of the other cells (a cell's key names its own rule set and
    properties)."""
    return {"rlimit": args.rlimit, "induction": args.induction,
            "random_runs": args.random_runs, "fuzz_examples": args.fuzz_examples,
            "deepen": not args.no_deepen, "induction_first": args.induction_first}


def default_folder() -> Path:
    """$TBCHECK_CACHE_DIR, else $XDG_CACHE_HOME/tbcheck (an absolute one, as the XDG base
    directory specification asks), else ~/.cache/tbcheck."""
    if os.environ.get("TBCHECK_CACHE_DIR"):
        return Path(os.environ["TBCHECK_CACHE_DIR"])
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    if os.path.isabs(xdg):
        return Path(xdg) / "tbcheck"
    return Path.home() / ".cache" / "tbcheck"


class Store:
    """The folder's verdicts: ``get`` a key's records (None: a miss), ``put`` them."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.warned = False

    def _path(self, key: dict[str, Any]) -> Path:
        text = json.dumps(key, sort_keys=True, separators=(",", ":"))
        return self.folder / "verdicts" / (hashlib.sha256(text.encode()).hexdigest() + ".json")

    def get(self, key: dict[str, Any]) -> list[Record] | None:
        try:
            data = json.loads(self._path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):  # missing, unreadable or corrupt: a miss
            return None
        if not isinstance(data, dict) or data.get("key") != _plain(key):  # another key's
            return None
        records = data.get("records")
        props = key["properties"]
        if (not isinstance(records, list) or len(records) != len(props) or
                not all(isinstance(r, dict) and r.get("property") == p and
                        isinstance(r.get("verdict"), str) for r, p in zip(records, props,
                                                                          strict=True))):
            return None
        for r in records:
            r["cached"] = True
        return records

    def put(self, key: dict[str, Any], records: list[Record]) -> None:
        kept = [{k: v for k, v in r.items() if k not in DERIVED} for r in records]
        for r in kept:
            if r.get("counterexample"):
                r["counterexample"] = {k: v for k, v in r["counterexample"].items()
                                       if k != "command"}
        path = self._path(key)
        tmp = None
        try:
            text = json.dumps({"key": _plain(key), "records": kept}, indent=1)
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem[:16]}-",
                                       suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            os.replace(tmp, path)
            tmp = None
        except (OSError, TypeError, ValueError) as exc:
            self._warn(exc)
        finally:
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)

    def _warn(self, exc: Exception) -> None:
        if not self.warned:
            self.warned = True
            print(f"tbcheck: warning: the verdict cache {self.folder} cannot be written "
                  f"({type(exc).__name__}: {exc}); verdicts are not cached", file=sys.stderr)


def open_store(args: argparse.Namespace) -> Store | None:
    """The store the options ask for; None with --no-cache (or without a home folder)."""
    if args.no_cache:
        return None
    if args.cache_dir:
        return Store(Path(args.cache_dir))
    try:
        return Store(default_folder())
    except RuntimeError as exc:  # Path.home() without a home: no cache, said once
        print(f"tbcheck: warning: no verdict cache ({exc}); --cache-dir names one",
              file=sys.stderr)
        return None


def cell_key(cell: Cell, load: Callable[[str, str], Any], env: Any,
             options: dict[str, Any]) -> dict[str, Any] | None:
    """Everything that decides a cell's records (None: its rule file cannot be read)."""
    kind, ref, props = cell
    rules = load(kind, ref)
    try:
        own = _own_sources(rules) if kind == "file" else []
    except OSError:
        return None
    return {**_tools(), "sources": package_digest(),
            "kind": kind, "rule_set": rules.name, "rule_sources": own,
            "properties": list(props), "envelope": asdict(env), "options": options}


@functools.cache
def _tools() -> dict[str, str]:
    """The versions in every key (read once a process: the package metadata is slow)."""
    import z3

    return {"format": str(FORMAT), "tbcheck": _version("tbcheck"),
            "z3": z3.get_full_version(), "hypothesis": _version("hypothesis"),
            "python": f"{platform.python_implementation()} {sys.version}",
            "machine": platform.machine()}


def lookup(store: Store | None, cells: list[Cell], key_of: Callable[[Cell], Any]
           ) -> tuple[list[Record], list[Cell]]:
    """The records of the cells the store holds, and the cells left to decide."""
    if store is None:
        return [], cells
    found: list[Record] = []
    left: list[Cell] = []
    for cell in cells:
        key = key_of(cell)
        got = store.get(key) if key is not None else None
        if got is None:
            left.append(cell)
            continue
        for r in got:
            r["ref"], r["kind"] = cell[1], cell[0]
        found.extend(got)
    if found:
        print(f"tbcheck: {len(cells) - len(left)} of {len(cells)} cells from the verdict "
              f"cache {store.folder} (--no-cache decides them again)", file=sys.stderr)
    return found, left


def remember(store: Store | None, cells: list[Cell], results: list[Record],
             key_of: Callable[[Cell], Any]) -> None:
    """Store each decided cell's records, and mark them not cached; a cell stopped by the wall
    clock or whose process died (its record says ``wall_clock``) is not stored."""
    for r in results:
        r["cached"] = False
    if store is None:
        return
    for kind, ref, props in cells:
        mine = {r["property"]: r for r in results if (r["kind"], r["ref"]) == (kind, ref)
                and r["property"] in props}
        if len(mine) != len(props) or any("wall_clock" in r for r in mine.values()):
            continue
        key = key_of((kind, ref, props))
        if key is not None:
            store.put(key, [copy.deepcopy(mine[p]) for p in props])


_DIGEST: dict[Path, str] = {}


def package_digest() -> str:
    """SHA-256 of every .py file of the installed tbcheck package, in the order of their paths
    (each path and its bytes): any change to the engine, the properties, the built-in rule
    sets or the tool changes every key."""
    import tbcheck

    root = Path(tbcheck.__file__).resolve().parent
    if root not in _DIGEST:
        h = hashlib.sha256()
        for path in sorted(root.rglob("*.py"), key=lambda p: p.relative_to(root).as_posix()):
            h.update(path.relative_to(root).as_posix().encode() + b"\0")
            h.update(hashlib.sha256(path.read_bytes()).digest())
        _DIGEST[root] = h.hexdigest()
    return _DIGEST[root]


def _own_sources(rules: Any) -> list[str]:
    """SHA-256 of a user's rule file and of every module it refers to, directly or not, that is
    neither tbcheck's (``package_digest``) nor installed with Python (the installation's
    versions stand for those): a helper module beside the rule file is part of the rule set."""
    import sysconfig

    first = sys.modules[rules.__module__]
    main = Path(first.__file__ or "").resolve()
    outside = {Path(p).resolve() for k, p in sysconfig.get_paths().items()
               if k in ("stdlib", "platstdlib", "purelib", "platlib")}
    todo: list[ModuleType] = [first] + [m for c in rules.__mro__
                                        if (m := sys.modules.get(c.__module__)) is not None]
    seen: dict[Path, str] = {}
    while todo:
        module = todo.pop()
        name = getattr(module, "__file__", None)
        path = Path(name).resolve() if name else None
        if path is None or path in seen or module.__name__.split(".")[0] == "tbcheck":
            continue
        if path != main:
            if any(path.is_relative_to(o) for o in outside):
                continue
            seen[path] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            seen[path] = ""  # (its digest comes first, below)
        for v in vars(module).values():
            of = getattr(v, "__module__", None)
            m = v if isinstance(v, ModuleType) else (
                sys.modules.get(of) if isinstance(of, str) else None)
            if isinstance(m, ModuleType):
                todo.append(m)
    seen.pop(main, None)
    return [hashlib.sha256(main.read_bytes()).hexdigest()] + sorted(seen.values())


def _version(dist: str) -> str:
    try:
        return version(dist)
    except PackageNotFoundError:
        return "unknown"


def _plain(key: dict[str, Any]) -> Any:
    """The key as it reads back from JSON (tuples as lists)."""
    return json.loads(json.dumps(key))
