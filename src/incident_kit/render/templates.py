"""The one Jinja environment factory, and Markdown escaping of typed text.

Every ``{{ expression }}`` is passed through :func:`finalize`: plain strings (what a person
typed: a note, a summary) are escaped so they can never change the document's structure,
while :class:`Md` strings (Markdown a template or playbook author wrote) pass as they are.
Typed text is data: it is never parsed as a template. All templates run in Jinja's sandbox
with ``StrictUndefined``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import stat
import sys
import types
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta, tzinfo
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from incident_kit.dates import Formats
from incident_kit.errors import RenderError
from incident_kit.render.md import Md as Md
from incident_kit.timing import humanize

if TYPE_CHECKING:
    from jinja2.bccache import Bucket

_INLINE = re.compile(r"[\\`*_\[\]<>|~]|&(?=#?[A-Za-z0-9]+;)")
_LINE_START = re.compile(r"^(#{1,6}(?=\s|$)|[-+=]|\d{1,9}(?=[.)]))")


_LEAD = re.compile(r"^\s+")
_TRAIL = re.compile(r"\s+$")
# Text that escape_md gives back as it is: one line (no character str.splitlines breaks
# at), no white space at either end, nothing inline Markdown reads, no line-start marker.
_AS_IS = re.compile(
    r"(?![#]{1,6}(?:\s|$)|[-+=]|\d{1,9}[.)])"
    r"(?!\s)[^\\`*_\[\]<>|~&\n\r\v\f\x1c-\x1e\x85\u2028\u2029]*(?<!\s)"
)


def escape_line(line: str) -> str:
    """One line of typed text, escaped so Markdown shows it literally."""
    # Runs of white space at either end would make code blocks or hard breaks: keep one.
    if line[-1:].isspace():
        line = _TRAIL.sub(" ", line)
    if line[:1].isspace():
        line = _LEAD.sub(" ", line)
    line = _INLINE.sub(r"\\\g<0>", line)
    m = _LINE_START.match(line.lstrip())
    if m:
        token = m.group(0)
        lead = line[: len(line) - len(line.lstrip())]
        rest = line.lstrip()
        # "1." at line start would begin a list: escape the dot or parenthesis; "#", "-", "+"
        # and "=" are escaped themselves.
        cut = len(token) if token[0].isdigit() else 0
        line = lead + rest[:cut] + "\\" + rest[cut:]
    return line


def escape_md(text: str) -> str:
    """Typed text as inline Markdown: its lines kept as hard line breaks, nothing else."""
    text = str(text)
    if _AS_IS.fullmatch(text):  # most typed text: nothing to escape
        return text
    lines = [escape_line(line) for line in text.splitlines()]
    if len(lines) > 1:
        lines = [line.strip() for line in lines if line.strip()]
    return "\\\n".join(lines)


def escape_cell(text: str) -> Md:
    """Typed text for a table cell: one line, pipes escaped."""
    return Md(" ".join(escape_line(line) for line in str(text).splitlines() if line.strip()))


def quote(text: str) -> Md:
    """A block quote of Markdown (``Md``) or of typed text (escaped), paragraphs kept."""
    src = text if isinstance(text, Md) else Md("\n".join(escape_line(x) for x in text.splitlines()))
    lines = src.rstrip("\n").splitlines()
    return Md("\n".join(f"> {line}" if line.strip() else ">" for line in lines))


_LINKABLE = re.compile(r"^(https?|mailto):\S+$", re.IGNORECASE)
_AUTOLINK = re.compile(r"^https?://[^<>\s\\]+$", re.IGNORECASE)


def link(url: str, text: str | None = None) -> Md:
    """A typed URL as a Markdown link; text that is not an http(s) or mailto URL stays text."""
    url = str(url).strip()
    label = escape_md(text if text else url)
    if not _LINKABLE.match(url):
        return Md(label)
    if not text and _AUTOLINK.match(url):
        return Md(f"<{url}>")
    target = url.replace("<", "%3C").replace(">", "%3E")
    return Md(f"[{label}](<{target}>)")


def finalize(value: Any) -> Any:
    """Applied to every ``{{ }}``: escape typed text, pass trusted Markdown."""
    if isinstance(value, Md):
        return value
    if value is None:
        return ""
    if isinstance(value, str):
        return escape_md(value)
    return value


def _tz(ctx: jinja2.runtime.Context) -> tzinfo:
    tz = ctx.get("tz")
    if not isinstance(tz, tzinfo):
        raise RenderError("the template context has no time zone 'tz'")
    return tz


def _formats(ctx: jinja2.runtime.Context) -> Formats:
    playbook = ctx.get("playbook")
    wording = getattr(playbook, "wording", None)
    if wording is None:
        raise RenderError("the template context has no playbook to format dates with")
    return Formats.of(wording)


@jinja2.pass_context
def _clock(ctx: jinja2.runtime.Context, value: datetime) -> str:
    return _formats(ctx).time(value, _tz(ctx))


@jinja2.pass_context
def _stamp(ctx: jinja2.runtime.Context, value: datetime) -> str:
    return _formats(ctx).stamp(value, _tz(ctx))


@jinja2.pass_context
def _date(ctx: jinja2.runtime.Context, value: datetime | date, pattern: str | None = None) -> str:
    """The playbook's date, or the value in a CLDR ``pattern`` of the template's own."""
    fmt, tz = _formats(ctx), _tz(ctx)
    if pattern is None:
        return fmt.date(value, tz)
    try:
        return fmt.pattern(str(pattern), value, tz)
    except Exception as exc:  # Babel raises KeyError, ValueError, … for a bad field
        raise RenderError(f"date({pattern!r}): not a CLDR date pattern ({exc})") from None


@jinja2.pass_context
def _day(ctx: jinja2.runtime.Context, value: datetime | date) -> str:
    return _formats(ctx).day(value, _tz(ctx))


@jinja2.pass_context
def _full_day(ctx: jinja2.runtime.Context, value: datetime | date) -> str:
    return _formats(ctx).full_day(value, _tz(ctx))


@jinja2.pass_context
def _moment(ctx: jinja2.runtime.Context, value: datetime) -> str:
    return _formats(ctx).moment(value, _tz(ctx))


def _duration(value: timedelta) -> str:
    return humanize(value)


def _sentence(text: str) -> str:
    """Text that ends like a sentence: a full stop added when it has no final punctuation."""
    text = str(text).strip()
    return text if not text or text[-1] in ".!?…:" else text + "."


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural or word + 's')}"


FILTERS: Mapping[str, Callable[..., Any]] = {
    "md": lambda v: Md(str(v)),
    "cell": escape_cell,
    "quote": quote,
    "link": link,
    "clock": _clock,
    "stamp": _stamp,
    "date": _date,
    "day": _day,
    "full_day": _full_day,
    "moment": _moment,
    "duration": _duration,
    "plural": _plural,
    "sentence": _sentence,
}


def _plain_finalize(value: Any) -> Any:
    return "" if value is None else value


# What one template may make, and for how long: a workspace template that runs away
# ('a' * 10**9, loops in loops) is stopped with one line instead of filling memory or hanging.
MAX_OUTPUT = 5_000_000
MAX_SECONDS = 10.0


class LocatedRenderError(RenderError):
    """A render error that already names its file and line (a playbook message a document
    template read): :func:`render_file` passes it on as it is."""


class TemplateLimit(Exception):
    """A template went over :data:`MAX_OUTPUT` or :data:`MAX_SECONDS`."""


_METHODS = (types.MethodType, types.BuiltinMethodType)


class LimitedEnvironment(SandboxedEnvironment):
    """Jinja's sandbox, with a cap on the size of a repeated string or list and on powers."""

    intercepted_binops = frozenset(["*", "**"])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._safe: dict[tuple[type, str], bool] = {}

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        """Jinja's answer, kept per type and attribute name: it depends on nothing else
        (the name, and whether the object is a function, method, class, code, frame,
        traceback or generator). An object that claims another class than its type is
        asked every time."""
        kind = type(obj)
        if obj.__class__ is not kind:
            return bool(super().is_safe_attribute(obj, attr, value))
        safe = self._safe.get((kind, attr))
        if safe is None:
            safe = self._safe[(kind, attr)] = bool(super().is_safe_attribute(obj, attr, value))
        return safe

    def getattr(self, obj: Any, attribute: str) -> Any:
        """Jinja's sandboxed attribute lookup, answered at once when this type's attribute
        was found safe before and the value is no method (so not ``str.format``, which
        the sandbox wraps): what Jinja itself would return. Anything else goes to Jinja."""
        kind = type(obj)
        if self._safe.get((kind, attribute)) and obj.__class__ is kind:
            try:
                value = getattr(obj, attribute)
            except AttributeError:
                return super().getattr(obj, attribute)
            if not isinstance(value, _METHODS):
                return value
        return super().getattr(obj, attribute)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for seq, n in ((left, right), (right, left)):
                sized = isinstance(seq, (str, list, tuple)) and isinstance(n, int)
                if sized and len(seq) * n > MAX_OUTPUT:
                    raise TemplateLimit(
                        f"repeats a value {n:,} times (over {MAX_OUTPUT:,} characters)"
                    )
        if operator == "**" and isinstance(right, int) and abs(right) > 1000:
            raise TemplateLimit(f"raises a number to the power {right:,}")
        return super().call_binop(context, operator, left, right)


def render_limited(
    template: jinja2.Template,
    context: Mapping[str, Any],
    take: Callable[[list[str]], int] | None = None,
) -> str:
    """``template.render(context)``, stopped past :data:`MAX_OUTPUT` characters or
    :data:`MAX_SECONDS` seconds (:class:`TemplateLimit`). ``take`` is handed the output's
    chunks so far whenever their size passes the size it last answered (a long
    document's DOCX starts while it renders, see ``streaming.py``)."""
    import signal
    import threading
    import time

    deadline = time.monotonic() + MAX_SECONDS
    timed = threading.current_thread() is threading.main_thread() and hasattr(signal, "SIGALRM")
    previous: Any = None
    if timed:

        def stop(_signum: int, _frame: Any) -> None:
            raise TemplateLimit(f"ran for more than {MAX_SECONDS:g} seconds")

        previous = signal.signal(signal.SIGALRM, stop)
        signal.setitimer(signal.ITIMER_REAL, MAX_SECONDS)
    try:
        parts: list[str] = []
        size = 0
        check = take(parts) if take is not None else MAX_OUTPUT
        for chunk in template.generate(context):
            parts.append(chunk)
            size += len(chunk)
            if size > check:
                if size > MAX_OUTPUT:
                    raise TemplateLimit(f"made more than {MAX_OUTPUT:,} characters")
                check = min(take(parts), MAX_OUTPUT) if take is not None else MAX_OUTPUT
            if time.monotonic() > deadline:
                raise TemplateLimit(f"ran for more than {MAX_SECONDS:g} seconds")
        return "".join(parts)
    finally:
        if timed:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)


class CompiledTemplates(jinja2.FileSystemBytecodeCache):
    """Template files compiled once and kept in the cache folder (``INCIDENT_CACHE``, else
    the user's, under ``templates/``), so a render does not compile them again.

    Jinja checks each entry against the SHA-1 of the template's source, so an edited
    template is compiled again. The key also holds what else decides the compiled code:
    Jinja's version and this environment's options (escaping, block trimming, the
    sandbox's intercepted operators). A cached entry is code this process runs, so only a
    regular file that this user owns and that nobody else may write is read; a folder that
    cannot be made or written means templates are compiled, nothing else.
    """

    def __init__(self, directory: Path, flavour: str) -> None:
        super().__init__(str(directory), "%s.jinja")
        self.flavour = flavour

    @classmethod
    def open(cls, flavour: str) -> CompiledTemplates | None:
        from incident_kit.playbook.cache import cache_dir

        base = cache_dir()
        if base is None or not hasattr(os, "getuid"):
            return None
        folder = base / "templates"
        try:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            st = os.stat(folder, follow_symlinks=False)
        except OSError:
            return None
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o022:
            return None
        return cls(folder, flavour)

    def get_cache_key(self, name: str, filename: str | None = None) -> str:
        text = f"{self.flavour}\0{name}\0{filename or ''}"
        return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()

    def load_bytecode(self, bucket: Bucket) -> None:
        path = os.path.join(self.directory, self.pattern % (bucket.key,))
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            return
        with os.fdopen(fd, "rb") as fh:
            st = os.fstat(fh.fileno())
            if stat.S_ISREG(st.st_mode) and st.st_uid == os.getuid() and not st.st_mode & 0o022:
                bucket.load_bytecode(fh)

    def dump_bytecode(self, bucket: Bucket) -> None:
        # A full or read-only cache: the next render compiles again.
        with contextlib.suppress(OSError):
            super().dump_bytecode(bucket)


def make_environment(
    search_path: list[Path] | None = None, *, markdown: bool = True, trim_blocks: bool = True
) -> SandboxedEnvironment:
    """The Jinja environment every template runs in.

    ``search_path`` lists template folders, the first one winning (a workspace's own
    ``templates/`` before the bundled ones). ``markdown=False`` gives plain text (subject
    lines, addresses, channel names): nothing is escaped. Template files are compiled once
    (:class:`CompiledTemplates`); templates from strings are not kept.
    """
    loader = jinja2.FileSystemLoader([str(p) for p in search_path]) if search_path else None
    flavour = (
        f"jinja2 {jinja2.__version__}; {LimitedEnvironment.__qualname__} "
        f"{sorted(LimitedEnvironment.intercepted_binops)}; markdown={markdown}; "
        f"trim_blocks={trim_blocks}; lstrip_blocks; keep_trailing_newline"
    )
    env = LimitedEnvironment(
        loader=loader,
        bytecode_cache=CompiledTemplates.open(flavour) if loader else None,
        undefined=jinja2.StrictUndefined,
        finalize=finalize if markdown else _plain_finalize,
        autoescape=False,
        trim_blocks=trim_blocks,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(FILTERS)
    return env


def template_line(tb: TracebackType | None, filename: str) -> int | None:
    """The line of ``filename`` (a template) where an exception was raised, from its traceback."""
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def describe_error(exc: Exception) -> str:
    """What went wrong inside a template, in words."""
    if isinstance(exc, jinja2.UndefinedError):
        return f"{exc.message}; the template uses a variable this document does not provide"
    if isinstance(exc, jinja2.TemplateError):
        return exc.message or type(exc).__name__
    if isinstance(exc, TemplateLimit):
        return f"the template {exc} and was stopped; the previous outputs are kept"
    return f"{type(exc).__name__}: {exc}"


def render_file(
    env: jinja2.Environment,
    name: str,
    context: Mapping[str, Any],
    take: Callable[[list[str]], int] | None = None,
) -> Md:
    """Render template file ``name``; errors name the template file and line (``take``:
    see :func:`render_limited`)."""
    try:
        template = env.get_template(name)
    except jinja2.TemplateNotFound:
        raise RenderError(
            f"template '{name}' not found; put it under templates/ or fix the playbook"
        ) from None
    except jinja2.TemplateSyntaxError as exc:
        raise RenderError(f"{exc.filename or name}:{exc.lineno}: {exc.message}") from None
    try:
        return Md(render_limited(template, context, take))
    except LocatedRenderError as exc:
        raise RenderError(exc.message, hint=exc.hint) from None
    except Exception as exc:
        filename = template.filename or name
        line = template_line(sys.exc_info()[2], filename)
        raise RenderError(f"{filename}:{line or 1}: {describe_error(exc)}") from None
