"""What the ``ledgerrun`` executable does to start fast: two import-time probes by libraries it
uses, each asking whether an optional library is installed by importing it, answered "no".

* pyarrow, the first time it turns a Python value into an Arrow one, asks whether pandas is
  installed (to check the value is not a pandas object) by importing it. ledgerrun never hands
  pyarrow a pandas object, so every command that reads a ledger lets that one probe find no
  pandas (:func:`skip_pandas_probe`): ``validate --offline`` of the 240-row demo ledger takes
  about half the CPU (``benchmarks/startup.py``; docs/benchmarks.md, "Start-up"). Nothing is lost:
  whenever pandas is really needed later (``Table.to_pandas``, ``Table.from_pandas``), pyarrow
  imports it again and uses it as usual; a test holds pyarrow to that.
* The Stripe SDK, when it is imported, looks for every HTTP library it could use by default
  (requests, httpx with anyio, aiohttp, pycurl, App Engine's urlfetch) by importing each one:
  0.1 s of CPU here, for libraries ledgerrun never uses, since it hands the SDK its own HTTP
  client (:mod:`ledgerrun.stripe.transport`). :func:`skip_sdk_probe` lets those probes, and only
  those (asked from the SDK's ``_resolve_sync_client`` and ``_resolve_async_client``), find
  nothing; the SDK's default client becomes its ``urllib`` one, which no ledgerrun command uses.
  Any other import of those libraries, by the SDK's own clients or by anyone else, is untouched,
  and should the SDK ever probe otherwise the answer is simply not given (nothing breaks, the
  imports cost what they cost). Only the executable does this: a program that uses ledgerrun as a
  library keeps the SDK's defaults.

* pyarrow, when it is imported, imports numpy if it is installed (pandas brings it), to convert
  numpy arrays. ledgerrun builds its columns with pyarrow alone, and no command hands pyarrow a
  numpy array or asks for one (``to_numpy``, ``to_pandas``): only :mod:`ledgerrun.api`'s pandas
  frames do, and the executable never imports them. :func:`skip_numpy_for_pyarrow` answers that
  one import, asked by pyarrow itself, with "not installed": 0.06-0.15 s of CPU off every command
  that reads a ledger (docs/benchmarks.md, "Start-up"). pyarrow supports running without numpy;
  its numpy conversions then raise an error naming numpy, and a test runs every command of the
  executable with the hook in place.

The answers are import hooks on ``sys.meta_path``, public Python machinery; none changes a
line of any library.

It also gives pyarrow the allocator that keeps a command's memory bounded
(:func:`lean_allocator`), and ends the process without the interpreter's teardown once a command
is done (:func:`leave`).
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Collection, MutableMapping
from types import FrameType
from typing import Any, NoReturn

SDK_PROBED = frozenset(("requests", "httpx", "anyio", "aiohttp", "pycurl", "google"))
SDK_PROBES = frozenset(("_resolve_sync_client", "_resolve_async_client"))
SDK_MODULE = "stripe._http_client"


class _NoPandasForTheProbe:
    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name == "pandas" or name.startswith("pandas."):
            raise ModuleNotFoundError("not imported for pyarrow's probe", name=name)
        return None


def skip_pandas_probe() -> None:
    """Answer pyarrow's one-time "is pandas here?" probe with no, without importing pandas."""
    if "pandas" in sys.modules:
        return
    finder = _NoPandasForTheProbe()
    sys.meta_path.insert(0, finder)
    try:
        import pyarrow as pa

        pa.scalar(0)  # the first conversion runs the probe
    finally:
        sys.meta_path.remove(finder)


class _NoHttpLibrariesForTheSdkProbe:
    """Finds nothing for the SDK's probes of optional HTTP libraries; stands aside for every
    other import (a set look-up of the name's first part)."""

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name.partition(".")[0] in SDK_PROBED and _asked_by_sdk_probe(sys._getframe(1)):
            raise ModuleNotFoundError("not imported for the Stripe SDK's probe", name=name)
        return None


def skip_sdk_probe() -> None:
    """Let the Stripe SDK's import-time probes of HTTP libraries find none (see the module
    docstring). Does nothing once the SDK is imported."""
    if "stripe" in sys.modules:
        return
    if not any(isinstance(f, _NoHttpLibrariesForTheSdkProbe) for f in sys.meta_path):
        sys.meta_path.insert(0, _NoHttpLibrariesForTheSdkProbe())


def _asked_by_sdk_probe(frame: FrameType | None) -> bool:
    """Whether the import under way was asked for by the SDK's probe (a few frames up, past
    the import system's own)."""
    for _ in range(12):
        if frame is None:
            return False
        code = frame.f_code
        if code.co_name in SDK_PROBES and frame.f_globals.get("__name__") == SDK_MODULE:
            return True
        frame = frame.f_back
    return False


class _NoNumpyForPyarrow:
    """Finds nothing for numpy when one of pyarrow's modules asks for it as it is imported;
    stands aside for every other import, numpy's included."""

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name.partition(".")[0] == "numpy" and _by_pyarrow(_importer(sys._getframe(1))):
            raise ModuleNotFoundError("not imported for pyarrow's numpy conversions", name=name)
        return None


def skip_numpy_for_pyarrow() -> None:
    """Let pyarrow's import find no numpy (see the module docstring). Does nothing once
    pyarrow is imported."""
    if "pyarrow" in sys.modules:
        return
    if not any(isinstance(f, _NoNumpyForPyarrow) for f in sys.meta_path):
        sys.meta_path.insert(0, _NoNumpyForPyarrow())


def _importer(frame: FrameType | None) -> str | None:
    """The module whose code asked for the import under way: the first frame past the import
    system's own. pyarrow's compiled modules (``pyarrow.lib``, ``pyarrow._compute``) run no
    Python frame of their own, so their imports of numpy show as asked by the pyarrow module
    that imports them (``pyarrow``, or ``ledgerrun.compute`` for ``pyarrow._compute``)."""
    while frame is not None:
        name = frame.f_globals.get("__name__")
        if name not in _IMPORT_SYSTEM:
            return name if isinstance(name, str) else None
        frame = frame.f_back
    return None


def _by_pyarrow(module: str | None) -> bool:
    """Whether ``module`` imports numpy only on pyarrow's behalf: one of pyarrow's own, or
    ``ledgerrun.compute``, which imports pyarrow's compiled compute module and nothing else
    that would ask for numpy."""
    return module is not None and (module.partition(".")[0] == "pyarrow" or module == _COMPUTE)


_COMPUTE = "ledgerrun.compute"


_IMPORT_SYSTEM = frozenset(("importlib._bootstrap", "importlib._bootstrap_external"))


def lean_allocator(pool: str = "system") -> None:
    """Let pyarrow allocate from ``pool``, the one that measured leanest for the command, unless
    the user chose an allocator (``ARROW_DEFAULT_MEMORY_POOL``). Measured on 2026-12-05
    (docs/benchmarks.md, "Memory"): the C library's ``malloc`` (pyarrow's "system" pool) for
    every command but reconcile: ``validate --offline`` of a million rows peaked at 388-397 MB
    with it, 428-475 MB with jemalloc and 428 MB with pyarrow's default, mimalloc (which keeps
    the pages each thread freed for that thread), and a first night of 60,000 rows at 236 MB
    against jemalloc's 255 MB. ``reconcile`` of that night peaked at 247-252 MB with jemalloc
    against 278-279 MB with ``malloc``, so it asks for jemalloc (where pyarrow has it).
    ``validate`` asks for mimalloc: after ingest's own rework it peaks at 372-378 MB with it
    (0.92x a bare read of the file) against 317-358 MB with ``malloc``, and takes 0.61-0.77 s
    against 0.79-0.87 s, since trimming ``malloc``'s heap after each stage costs system time
    (docs/benchmarks.md, "Ingest"). Only the ``ledgerrun`` executable's own process is changed,
    never a program that imports ledgerrun.

    ``set_memory_pool`` only reaches what pyarrow's Python functions allocate; Arrow's own code
    (the Parquet writer, among others) allocates from the default it reads from
    ``ARROW_DEFAULT_MEMORY_POOL`` as pyarrow is imported. So, called before pyarrow is imported,
    this sets the variable for that import (and takes it away after: a process the command
    starts chooses for itself): writing a large night's rows to Parquet otherwise left 16-18 MB
    in mimalloc that giving memory back (:func:`ledgerrun.ingest.read.give_back`) never
    reached (docs/benchmarks.md, "Memory"). Not for jemalloc, which not every build of pyarrow
    has (Arrow would warn)."""
    if pool == "system":
        fewer_malloc_arenas()
    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        return
    if "pyarrow" not in sys.modules and pool in ("system", "mimalloc"):
        os.environ["ARROW_DEFAULT_MEMORY_POOL"] = pool
        try:
            import pyarrow as pa

            pa.default_memory_pool()  # Arrow's default, chosen now
        finally:
            del os.environ["ARROW_DEFAULT_MEMORY_POOL"]
    import pyarrow as pa

    chosen = {"jemalloc": pa.jemalloc_memory_pool, "mimalloc": pa.mimalloc_memory_pool}
    try:
        pa.set_memory_pool(chosen.get(pool, pa.system_memory_pool)())
    except NotImplementedError:  # a pyarrow built without that pool (Windows): its default stays
        return


MALLOC_ARENAS = 2  # what a run's threads share (glibc's own limit is 8 per core)
_M_ARENA_MAX = -8  # mallopt's parameter for it (malloc.h)


def fewer_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Let the threads a command starts share ``arenas`` of the C library's ``malloc``, unless
    the user set ``MALLOC_ARENA_MAX``. glibc gives threads arenas of their own, up to 8 per
    core, and what a thread freed stays in its arena: after a large night's pre-flight and
    sending (64 and 32 threads) trimming gave back far less than was free. At 200,000 rows
    two arenas took 28 MB off the run's size once it had sent, and as much off its peak
    (docs/benchmarks.md, "Memory"); the threads allocate mostly while holding the GIL, so they
    seldom wait for one another. True when the limit was set (glibc on Linux); elsewhere
    nothing changes."""
    if os.environ.get("MALLOC_ARENA_MAX") or not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # pragma: no cover - a C library without mallopt
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    return bool(mallopt(_M_ARENA_MAX, arenas))


def on_first_use(
    namespace: MutableMapping[str, Any], names: Collection[str], source: str
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A module's ``__getattr__`` and ``__dir__`` for ``names`` it offers but does not import:
    each is imported from module ``source`` when first asked for, then kept in ``namespace``
    (the module's globals), so that importing the module costs nothing for them."""
    module = namespace["__name__"]

    def __getattr__(name: str) -> Any:
        if name in names:
            value = getattr(importlib.import_module(source), name)
            namespace[name] = value
            return value
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(names))

    return __getattr__, __dir__


def leave(code: int) -> NoReturn:
    """End the process with ``code`` as the interpreter would, less its teardown: once the
    command is done, the threads it started have ended, every exit handler (``atexit``, which
    also runs ``weakref.finalize`` and logging's flush) has run and stdout and stderr are
    flushed, nothing ledgerrun wrote is left to lose, and freeing hundreds of modules one by one
    only costs CPU: 15% of a one-row run's, and a tenth of an offline validate's
    (docs/benchmarks.md, "Start-up"). Any thread still running, or an output that will not
    flush (a closed pipe), and the process exits the ordinary way instead, which waits for the
    threads and reports the pipe as Python always does."""
    import atexit
    import threading

    main = threading.main_thread()
    if any(t is not main and not t.daemon and t.is_alive() for t in threading.enumerate()):
        sys.exit(code)
    atexit._run_exitfuncs()
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
    except (OSError, ValueError):
        sys.exit(code)
    os._exit(code)
