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
    """The team found for a functionality, and the name in the database that matched."""

    name: str
    team: Team
    matched: str
    exact: bool


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def _stems(text: str) -> list[str]:
    """English stems of the words: 'logging in' → ['log', 'in'], 'payments' → ['payment']."""
    import snowballstemmer

    return list(snowballstemmer.stemmer("english").stemWords(_words(text)))


def _runs(stems: list[str]) -> set[str]:
    """Every run of adjacent stems, written together: 'log in' gives 'log', 'in', 'login'."""
    return {"".join(stems[i:j]) for i in range(len(stems)) for j in range(i + 1, len(stems) + 1)}


def load_ownership(path: Path) -> Ownership:
    """Read the ownership database; problems are reported with their position."""
    src = load_file(path)
    try:
        return Ownership.model_validate(src.data or {})
    except ValidationError as exc:
        raise ProblemsError(schema_problems(exc, src, Ownership)) from None


def find_owner(db: Ownership, functionality: str) -> Owner | None:
    """The team owning ``functionality``: the same words first; else the owned name whose
    word stems all appear in it, written apart or together ('login' owns 'logging in' and
    'log in'; 'passwords' owns 'password reset'), the longest such name winning."""
    wanted = _words(functionality)
    stems = _stems(functionality)
    runs = _runs(stems)
    best: tuple[int, str, str] | None = None
    for name, team in db.teams.items():
        for owned in team.owns:
            if _words(owned) == wanted:
                return Owner(name, team, owned, exact=True)
            owned_stems = _stems(owned)
            if not owned_stems:
                continue
            together = "".join(owned_stems)
            found = together in runs or set(owned_stems) <= set(stems)
            if found and (best is None or len(together) > best[0]):
                best = (len(together), name, owned)
    if best is None:
        return None
    return Owner(best[1], db.teams[best[1]], best[2], exact=False)
