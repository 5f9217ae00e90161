"""The ownership database: which team owns which functionality.

A small YAML file in the workspace (``ownership.yaml`` by default)::

    teams:
      Core Services:
        owns: [logging in, sign up, sessions]
        page: "@core-oncall"
        channel: "#core-services"
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from incident_kit.errors import ProblemsError
from incident_kit.playbook.load import schema_problems
from incident_kit.yamlsrc import load_file


class Team(BaseModel):
    """A team and what it owns."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    owns: list[str] = Field(description="Functionality the team owns, as people name it.")
    page: str | None = Field(default=None, description="How to page the team.")
    channel: str | None = Field(default=None, description="The team's chat channel.")


class Ownership(BaseModel):
    """The ownership database file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    teams: dict[str, Team] = Field(default_factory=dict)


@dataclass(frozen=True)
class Owner:
    """The team found for a functionality."""

    name: str
    team: Team


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower()))


def load_ownership(path: Path) -> Ownership:
    """Read the ownership database; problems are reported with their position."""
    src = load_file(path)
    try:
        return Ownership.model_validate(src.data or {})
    except ValidationError as exc:
        raise ProblemsError(schema_problems(exc, src, Ownership)) from None


def find_owner(db: Ownership, functionality: str) -> Owner | None:
    """The team owning ``functionality``: an exact name first, then the most words shared."""
    wanted = " ".join(sorted(_words(functionality)))
    best: tuple[int, str] | None = None
    for name, team in db.teams.items():
        for owned in team.owns:
            if " ".join(sorted(_words(owned))) == wanted:
                return Owner(name, team)
            shared = len(_words(owned) & _words(functionality))
            if shared and shared == len(_words(owned)) and (best is None or shared > best[0]):
                best = (shared, name)
    return Owner(best[1], db.teams[best[1]]) if best else None
