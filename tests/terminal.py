"""Starting a command the way a terminal does, for the tests that press Ctrl-C on it.

A shell that runs a command in the background without job control (``pytest &`` in a script, as CI or a session
tool may run the suite) starts it with SIGINT ignored, and every process it starts inherits that: Python then never
installs its KeyboardInterrupt handler, and a SIGINT the test sends is silently dropped. A test that interrupts a
command starts it with ``preexec_fn=ctrl_c_live``, so Ctrl-C reaches it as from a terminal, however pytest was run.
"""

from __future__ import annotations

import signal


def ctrl_c_live() -> None:
    """In the child, before it runs the command: SIGINT back to its default (Python turns it into KeyboardInterrupt)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
