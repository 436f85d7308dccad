"""`serve --loop`: which event loop factory each choice gives (issue 10, serial-bridge[fast])."""

from __future__ import annotations

import asyncio
import importlib.util
import sys

import pytest

from bridge.commands.serve import loop_factory
from bridge.errors import UserError
from bridge.leanloop import LeanEventLoop

HAVE_UVLOOP = importlib.util.find_spec("uvloop") is not None


def test_asyncio_is_the_standard_librarys_loop() -> None:
    """--loop asyncio: asyncio.new_event_loop, named so in the log."""
    factory, name = loop_factory("asyncio")
    assert factory is asyncio.new_event_loop
    assert name.startswith("asyncio")


@pytest.mark.skipif(not HAVE_UVLOOP, reason="uvloop not installed")
@pytest.mark.parametrize("choice", ["auto", "uvloop"])
def test_uvloop_is_taken_when_installed(choice: str) -> None:
    """auto and uvloop give uvloop's loop when it is installed."""
    factory, name = loop_factory(choice)
    loop = factory()
    try:
        assert type(loop).__module__.startswith("uvloop")
        assert name.startswith("uvloop ")
    finally:
        loop.close()


def test_lean_is_asyncios_selector_loop_with_the_short_dispatch() -> None:
    """--loop lean: bridge.leanloop.LeanEventLoop, a subclass of the standard library's selector loop."""
    factory, name = loop_factory("lean")
    assert factory is LeanEventLoop and name.startswith("lean")
    loop = factory()
    try:
        assert isinstance(loop, asyncio.SelectorEventLoop)
    finally:
        loop.close()


def test_without_uvloop_auto_falls_back_and_uvloop_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without uvloop (its import fails): auto is the lean loop; --loop uvloop says how to install it."""
    monkeypatch.setitem(sys.modules, "uvloop", None)  # makes `import uvloop` raise ImportError
    factory, name = loop_factory("auto")
    assert factory is LeanEventLoop and name.startswith("lean")
    with pytest.raises(UserError, match=r"serial-bridge\[fast\]"):
        loop_factory("uvloop")


@pytest.mark.parametrize("installed", [True, False], ids=["uvloop installed", "not installed"])
def test_tls_ports_keep_asyncios_loop(installed: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ports with tls = true: auto takes the lean loop (asyncio's), and --loop uvloop is one clear error."""
    if not installed:
        monkeypatch.setitem(sys.modules, "uvloop", None)
    factory, name = loop_factory("auto", tls=True)
    assert factory is LeanEventLoop
    with pytest.raises(UserError, match="tls = true"):
        loop_factory("uvloop", tls=True)


def test_serve_runs_on_the_lean_loop_unless_another_is_asked_for() -> None:
    """uvloop is experimental (docs/performance.md): installing it does not switch serve to it."""
    import argparse

    from bridge.commands import serve

    parser = argparse.ArgumentParser()
    serve.add_arguments(parser)
    assert parser.parse_args(["--config", "b.toml"]).loop == "lean"
    assert parser.parse_args(["--config", "b.toml", "--loop", "asyncio"]).loop == "asyncio"
    assert parser.parse_args(["--config", "b.toml", "--loop", "uvloop"]).loop == "uvloop"
