"""Template files are compiled once and kept in the cache folder, without weakening the
sandbox or trusting what someone else could have written; typed text escaped."""

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


def test_text_given_back_as_it_is_is_exactly_what_escaping_would_give() -> None:
    """escape_md's shortcut for text with nothing to escape agrees with escaping it line by
    line, over random text of the characters that matter."""
    import random

    from incident_kit.render import templates

    def escaped_the_long_way(text: str) -> str:
        lines = [templates.escape_line(line) for line in text.splitlines()]
        if len(lines) > 1:
            lines = [line.strip() for line in lines if line.strip()]
        return "\\\n".join(lines)

    alphabet = [*"ab1 9.)#-+=*_`[]<>|~&;\\\t\n\r\x0b\x0c\x1c\x1f\x85\xa0\u2028é", "12. ", "# "]
    rng = random.Random(12)
    texts = ["", " ", "Note 12: fine", "1. x", "1x", "# x", "#x", "####### x", "a ", " a", "a\xa0"]
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8))) for _ in range(20000)]
    shortcut = 0
    for text in texts:
        assert templates.escape_md(text) == escaped_the_long_way(text), repr(text)
        shortcut += templates._AS_IS.fullmatch(text) is not None
    assert shortcut > 1000  # the shortcut was taken, and agreed


def test_the_sandbox_refuses_internal_attributes_every_time(folders: tuple[Path, Path]) -> None:
    """The sandbox's answer per type and attribute is kept; one environment still refuses
    a class's ``mro`` and a generator's frame, however often asked, beside allowed ones."""
    templates, _ = folders
    (templates / "ok.md.j2").write_text("{{ s.upper() }} {{ cls.__name__ is defined }}")
    (templates / "mro.md.j2").write_text("{{ s.upper() }}{{ cls.mro() }}")
    (templates / "frame.md.j2").write_text("{{ gen.gi_frame }}")
    env = make_environment([templates])
    for _ in range(3):
        assert render_limited(env.get_template("ok.md.j2"), {"s": "a", "cls": str}) == "A False"
        with pytest.raises(jinja2.exceptions.SecurityError):
            render_limited(env.get_template("mro.md.j2"), {"s": "a", "cls": str})
        with pytest.raises(jinja2.exceptions.SecurityError):
            render_limited(env.get_template("frame.md.j2"), {"gen": (x for x in "ab")})


class _Holder:
    def __init__(self, f: Any) -> None:
        self.f = f


def test_the_quick_attribute_lookup_still_wraps_str_format(folders: tuple[Path, Path]) -> None:
    """An attribute found safe on a type is read at once next time, unless its value is a
    method: a ``str.format`` held in it is still the sandbox's."""
    templates, _ = folders
    (templates / "fmt.md.j2").write_text(
        '{% for o in objs %}{{ o.f("x") if o.f is callable else o.f }};{% endfor %}'
    )
    env = make_environment([templates])
    plain = [_Holder("plain"), _Holder("again")]
    assert render_limited(env.get_template("fmt.md.j2"), {"objs": plain}) == "plain;again;"
    sneaky = [_Holder("plain"), _Holder("{0.__class__.__mro__}".format)]
    with pytest.raises(jinja2.exceptions.SecurityError):
        render_limited(env.get_template("fmt.md.j2"), {"objs": sneaky})
