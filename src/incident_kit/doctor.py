"""``incident doctor``: what this machine has and lacks for every output format.

Each check says what it found and, when something is missing, the command that installs it.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass


@dataclass(frozen=True)
class Check:
    """One thing checked."""

    name: str
    ok: bool
    found: str
    fix: str = ""
    required: bool = True


def _fonts() -> set[str]:
    if not shutil.which("fc-list"):
        return set()
    done = subprocess.run(["fc-list", ":", "family"], capture_output=True, text=True, check=False)
    return {f.strip() for line in done.stdout.splitlines() for f in line.split(",")}


def checks() -> list[Check]:
    """Everything ``incident doctor`` reports, in order."""
    out: list[Check] = []
    try:
        import weasyprint
        from weasyprint.text import ffi

        out.append(Check("WeasyPrint (PDF)", True, f"WeasyPrint {weasyprint.__version__}"))
        subset = ffi.harfbuzz_subset is not None
        out.append(
            Check(
                "HarfBuzz subsetting (fast PDF fonts)",
                subset,
                "libharfbuzz-subset loaded"
                if subset
                else "not found: fonts are subset in Python, several times slower",
                "apt-get install libharfbuzz-subset0",
            )
        )
    except (ImportError, OSError) as exc:
        out.append(
            Check(
                "WeasyPrint (PDF)",
                False,
                f"cannot load: {str(exc).splitlines()[0][:120]}",
                "apt-get install libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0",
            )
        )
    fonts = _fonts()
    for family, package in (
        ("Carlito", "fonts-crosextra-carlito"),
        ("DejaVu Sans Mono", "fonts-dejavu-core"),
    ):
        out.append(
            Check(
                f"font {family} (print.css)",
                family in fonts,
                "installed" if family in fonts else "missing: PDFs fall back to another font",
                f"apt-get install {package}",
            )
        )
    try:
        import docx

        out.append(Check("python-docx (DOCX)", True, f"python-docx {docx.__version__}"))
    except ImportError:  # pragma: no cover - a dependency
        out.append(Check("python-docx (DOCX)", False, "missing", "pip install python-docx"))
    for tool, package, what in (
        ("soffice", "libreoffice-writer-nogui", "opens DOCX files in the tests"),
        ("pdftotext", "poppler-utils", "reads PDFs back in the tests"),
        ("pdftoppm", "poppler-utils", "renders PDF pages to PNG"),
    ):
        path = shutil.which(tool)
        out.append(
            Check(
                f"{tool} ({what})",
                path is not None,
                path or "missing",
                f"apt-get install {package}",
                required=False,
            )
        )
    return out
