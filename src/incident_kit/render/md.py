"""The type of trusted Markdown (light: the short commands use it without a template engine)."""

from __future__ import annotations


class Md(str):
    """Markdown written by a trusted author (template, playbook): never escaped again."""

    __slots__ = ()
