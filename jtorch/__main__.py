"""`python -m jtorch SCRIPT [ARGS]`: run an unmodified PyTorch script on jtorch.

`python -m jtorch -m MODULE [ARGS]` and `python -m jtorch -c COMMAND [ARGS]` likewise. The
script sees what `python SCRIPT` would give it (sys.argv, `__name__ == "__main__"`, an
absolute `__file__`, its directory first on sys.path), with `import torch` and every
`torch.X.Y` resolving to jtorch (`jtorch.install_as_torch()`). An uncaught exception prints
its traceback from the script's first frame down and exits with status 1.
"""
from __future__ import annotations

import builtins
import importlib.machinery
import io
import os
import runpy
import signal
import sys
import types
import zipfile

USAGE = """\
usage: python -m jtorch SCRIPT [ARGS ...]
       python -m jtorch -m MODULE [ARGS ...]
       python -m jtorch -c COMMAND [ARGS ...]

Runs a PyTorch program with `import torch` resolving to jtorch."""

# frames of this runner and of runpy, dropped from the top of a script's traceback
_RUNNER_FILES = {__file__, runpy.run_module.__code__.co_filename}


def _fresh_main(**attrs) -> types.ModuleType:
    main = types.ModuleType("__main__")
    main.__dict__.update(__builtins__=builtins, __package__=None, __spec__=None, **attrs)
    sys.modules["__main__"] = main
    return main


def _run_script(path: str) -> None:
    if os.path.isdir(path) or os.path.isfile(path) and zipfile.is_zipfile(path):
        runpy.run_path(path, run_name="__main__")     # a directory or zip with __main__.py
        return
    absolute = os.path.abspath(path)
    try:
        with io.open_code(absolute) as f:
            source = f.read()
    except OSError as e:
        print(f"{sys.executable}: can't open file {absolute!r}: [Errno {e.errno}] "
              f"{e.strerror}", file=sys.stderr)
        raise SystemExit(2) from None
    if not sys.flags.safe_path:
        sys.path[0] = os.path.dirname(os.path.realpath(absolute))
    main = _fresh_main(__file__=absolute, __cached__=None,
                       __loader__=importlib.machinery.SourceFileLoader("__main__", absolute))
    exec(compile(source, absolute, "exec", dont_inherit=True), main.__dict__)


def _run_command(command: str) -> None:
    main = _fresh_main(__loader__=importlib.machinery.BuiltinImporter)
    exec(compile(command, "<string>", "exec", dont_inherit=True), main.__dict__)


def _report(exc: BaseException) -> None:
    """Print `exc` as Python does for an uncaught exception, minus this runner's frames."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename in _RUNNER_FILES:
        tb = tb.tb_next
    # Python's default hook prints exc.__traceback__ whatever tb it is given
    sys.excepthook(type(exc), exc.with_traceback(tb), tb)


def main(argv: list[str]) -> None:
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE, file=sys.stdout if argv else sys.stderr)
        raise SystemExit(0 if argv else 2)
    if argv[0] == "--version":
        import jtorch
        print(f"jtorch {jtorch.version.jtorch} (torch API {jtorch.__version__})")
        return
    if argv[0] in ("-m", "-c") and len(argv) < 2:
        print(f"Argument expected for the {argv[0]} option\n{USAGE}", file=sys.stderr)
        raise SystemExit(2)

    from jtorch import install_as_torch
    install_as_torch()
    try:
        if argv[0] == "-m":
            sys.argv = [argv[1], *argv[2:]]       # run_module puts the file's path first
            runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
        elif argv[0] == "-c":
            sys.argv = ["-c", *argv[2:]]
            _run_command(argv[1])
        else:
            sys.argv = list(argv)
            _run_script(argv[0])
    except SystemExit:
        raise
    except KeyboardInterrupt as e:
        _report(e)
        # as Python does: die of SIGINT, so the parent shell sees an interrupted program
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
        raise SystemExit(130) from None
    except BaseException as e:                     # noqa: BLE001 - reported as Python would
        _report(e)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main(sys.argv[1:])
