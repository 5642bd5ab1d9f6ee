"""Grad mode's thread-local state, in a module of its own so that Tensor can read it without
importing jtorch.autograd (which imports Tensor)."""
from __future__ import annotations

import threading


class _State(threading.local):
    enabled = True
    inference = False


STATE = _State()
