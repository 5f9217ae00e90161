"""Print the README's set-up commands, so CI runs them exactly as written.

``python3 tools/readme_commands.py N`` prints the N-th ``sh`` code block (1-based) of the
README's "Set up" section. ``.ci/run`` executes block 1 (create the virtual environment,
install, run the demo) and block 2 (install the test tools, run the tests) with bash; a
test checks that the blocks and the CI script agree. Standard library only: it runs before
anything is installed.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def setup_blocks(text: str) -> list[str]:
    """The ``sh`` code blocks of the "Set up" section, in order."""
    section = re.search(r"^## Set up\n(.*?)(?=^## )", text, re.S | re.M)
    if not section:
        raise SystemExit("README.md has no '## Set up' section")
    return re.findall(r"^```sh\n(.*?)^```$", section.group(1), re.S | re.M)


def main() -> None:
    blocks = setup_blocks(README.read_text(encoding="utf-8"))
    try:
        number = int(sys.argv[1])
        sys.stdout.write(blocks[number - 1])
    except (IndexError, ValueError):
        raise SystemExit(
            f"usage: readme_commands.py N (1..{len(blocks)}): the README's set-up blocks"
        ) from None


if __name__ == "__main__":
    main()
