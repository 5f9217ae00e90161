"""Who is running the command: the default of every ``--by``.

In team mode several people write one record, so every event says who recorded it. The
name is, first found:

1. ``INCIDENT_USER`` in the environment (set but empty: record no name);
2. ``name:`` in the person's own config file, outside any workspace:
   ``$XDG_CONFIG_HOME/incident-kit/user.yaml`` (``~/.config/incident-kit/user.yaml``);
3. git's ``user.name`` (``git config user.name``).

The workspace's settings are shared by the team, so a person's name never comes from there.
"""

from __future__ import annotations

import os
from pathlib import Path

from incident_kit.errors import UserError

ENV = "INCIDENT_USER"


def user_config() -> Path:
    """The person's own config file (it need not exist)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "incident-kit" / "user.yaml"


def _from_file(path: Path) -> str | None:
    if not path.is_file():
        return None
    from incident_kit.yamlsrc import load_file

    data = load_file(path).data
    if data is None:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("name", ""), str):
        raise UserError(f"{path}: expected `name: Your Name`", hint="fix or remove the file")
    name = str(data.get("name") or "").strip()
    return name or None


def _from_git() -> str | None:
    import subprocess  # only when neither INCIDENT_USER nor the config file names anyone

    try:
        done = subprocess.run(
            ["git", "config", "user.name"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    name = done.stdout.strip()
    return name if done.returncode == 0 and name else None


def default_by() -> str | None:
    """The name every event of this command records, unless ``--by`` says otherwise."""
    if ENV in os.environ:
        return os.environ[ENV].strip() or None
    return _from_file(user_config()) or _from_git()
