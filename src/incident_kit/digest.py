"""SHA-256 without loading OpenSSL, for the short commands' cache keys and checksums.

``hashlib.sha256`` is OpenSSL's: loading libcrypto costs a short command about 2 ms, a
tenth of what it may spend beyond the interpreter's start. The interpreter's own
implementation (the one hashlib itself falls back to without OpenSSL) gives the same
digest; its module is ``_sha256`` up to Python 3.11 and ``_sha2`` after.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from hashlib import _Hash


def _builtin() -> Callable[..., _Hash]:
    for module, name in (("_sha256", "sha256"), ("_sha2", "sha256")):
        try:
            return cast("Callable[..., _Hash]", getattr(importlib.import_module(module), name))
        except (ImportError, AttributeError):
            continue
    import hashlib

    return hashlib.sha256


sha256 = _builtin()


def hexdigest(data: bytes) -> str:
    """The SHA-256 of ``data``, as hex."""
    return sha256(data).hexdigest()
