"""Signals in a command-line run (leadtool.signals): noted while files are renamed, and no longer
an interruption once the outputs are in place (exit 130 always means the old files are there)."""

from __future__ import annotations

import signal

import pytest

from leadtool import signals


@pytest.fixture
def command_line(monkeypatch):
    """The state of a command-line run, without touching this process's handlers."""
    monkeypatch.setattr(signals, "_installed", True)
    monkeypatch.setattr(signals, "_in_place", False)
    monkeypatch.setattr(signals, "_pending", None)
    monkeypatch.setattr(signals, "_received", None)


def test_a_signal_while_the_outputs_are_put_in_place_ends_nothing(command_line):
    with signals.deferred():
        signals._handler(signal.SIGTERM, None)  # arrives during the renames: noted
        assert signals.pending() == signal.SIGTERM
        signals.outputs_in_place()
    signals._handler(signal.SIGINT, None)  # and after them, as the run says what it wrote
    assert signals.exit_code(0) == 0


def test_a_signal_before_the_outputs_are_in_place_interrupts(command_line):
    with pytest.raises(signals.Interrupted), signals.deferred():
        signals._handler(signal.SIGTERM, None)
    with pytest.raises(signals.Interrupted):
        signals._handler(signal.SIGINT, None)
    assert signals.exit_code(130) == 128 + signal.SIGTERM


def test_the_library_keeps_its_callers_signals(monkeypatch):
    monkeypatch.setattr(signals, "_installed", False)
    monkeypatch.setattr(signals, "_in_place", False)
    signals.outputs_in_place()  # not the command line: nothing changes
    assert signals._in_place is False
