"""The bundled default playbook's values, for a playbook that leaves an optional one out.

Its words live once, in ``playbooks/default.yaml``; nothing here repeats them. Light on
purpose (YAML only, read on first use), so the short commands may ask.
"""

from __future__ import annotations

import functools
from typing import Any

from incident_kit.yamlsrc import Loc


@functools.cache
def _bundled_default() -> Any:
    from incident_kit.workspace import bundled_dir
    from incident_kit.yamlsrc import load_file

    return load_file(bundled_dir() / "playbooks" / "default.yaml").data


def bundled_default(loc: Loc) -> Any:
    """The bundled default playbook's value at ``loc`` (None when it has none): the words a
    playbook inherits when it leaves an optional one out, so they live in one YAML file."""
    data = _bundled_default()
    for part in loc:
        data = data.get(part) if isinstance(data, dict) else None
    return data
