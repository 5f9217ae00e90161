"""Template files are compiled once and kept in the cache folder; what is kept never
weakens the sandbox, and nothing kept is trusted that someone else could have written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
import pytest

from incident_kit.render.templates import TemplateLimit, make_environment, render_limited


@pytest.fixture
def folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    templates = tmp_path / "templates"
    templates.mkdir()
    cache = tmp_path / "cache"
    monkeypatch.setenv("INCIDENT_CACHE", str(cache))
    return templates, cache


def render(templates: Path, name: str, **context: Any) -> tuple[str, int]:
    """(the output, how many templates this fresh environment compiled)."""
    env = make_environment([templates])
    compiled = 0
    compile_ = env.compile

    def counting(*args: Any, **kwargs: Any) -> Any:
        nonlocal compiled
        compiled += 1
        return compile_(*args, **kwargs)

    env.compile = counting  # type: ignore[method-assign]
    return render_limited(env.get_template(name), context), compiled


def test_a_template_is_compiled_once_then_read_back(folders: tuple[Path, Path]) -> None:
    templates, cache = folders
    (templates / "a.md.j2").write_text("# {{ title }}\n{% for n in notes %}- {{ n }}\n{% endfor %}")
    first = render(templates, "a.md.j2", title="T*", notes=["x_y", "z"])
    assert first == ("# T\\*\n- x\\_y\n- z\n", 1)
    assert len(list((cache / "templates").glob("*.jinja"))) == 1
    assert render(templates, "a.md.j2", title="T*", notes=["x_y", "z"]) == (first[0], 0)
    # Edited: compiled again, never the old code.
    (templates / "a.md.j2").write_text("## {{ title }}\n")
    assert render(templates, "a.md.j2", title="U") == ("## U\n", 1)


def test_the_kept_code_is_still_sandboxed_and_limited(folders: tuple[Path, Path]) -> None:
    templates, _ = folders
    (templates / "attr.md.j2").write_text("{{ title.__class__.__mro__ }}")
    (templates / "big.md.j2").write_text("{{ 'a' * 10000000 }}")
    for kept in (False, True):
        with pytest.raises(jinja2.exceptions.SecurityError):
            render(templates, "attr.md.j2", title="x")
        with pytest.raises(TemplateLimit):
            render(templates, "big.md.j2")
        assert kept or len(list(folders[1].glob("templates/*.jinja"))) == 2


def test_an_entry_others_may_write_or_a_damaged_one_is_not_used(
    folders: tuple[Path, Path],
) -> None:
    templates, cache = folders
    (templates / "a.md.j2").write_text("{{ n }}")
    assert render(templates, "a.md.j2", n=1) == ("1", 1)
    (entry,) = (cache / "templates").glob("*.jinja")
    entry.chmod(0o666)
    assert render(templates, "a.md.j2", n=2) == ("2", 1)
    entry.chmod(0o600)
    assert render(templates, "a.md.j2", n=3) == ("3", 0)
    entry.write_bytes(b"j2\x00garbage")
    assert render(templates, "a.md.j2", n=4) == ("4", 1)
    assert render(templates, "a.md.j2", n=5) == ("5", 0)  # written again, whole


def test_a_folder_others_may_write_is_not_used(folders: tuple[Path, Path]) -> None:
    templates, cache = folders
    (cache / "templates").mkdir(parents=True, mode=0o777)
    (cache / "templates").chmod(0o777)
    (templates / "a.md.j2").write_text("{{ n }}")
    assert render(templates, "a.md.j2", n=1) == ("1", 1)
    assert render(templates, "a.md.j2", n=2) == ("2", 1)
    assert not list((cache / "templates").iterdir())


def test_no_cache_folder_means_compiled_each_time(
    folders: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    templates, cache = folders
    monkeypatch.setenv("INCIDENT_CACHE", "")
    (templates / "a.md.j2").write_text("{{ n }}")
    assert render(templates, "a.md.j2", n=1) == ("1", 1)
    assert render(templates, "a.md.j2", n=2) == ("2", 1)
    assert not cache.exists()
