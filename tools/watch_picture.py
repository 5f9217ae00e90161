"""Make docs/images/watch.png: `incident watch` in a real terminal (tmux), captured and drawn.

    python tools/watch_picture.py

Builds a workspace with a live incident (several people's notes, an overdue update), runs
`incident watch` in a detached tmux session, captures the pane with its colours
(`tmux capture-pane -e`), and draws the text with Pillow in DejaVu Sans Mono.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "docs" / "images" / "watch.png"
COLS, ROWS = 96, 27
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"
BOLD_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf"
COLOURS = {"31": (230, 80, 80), "32": (120, 200, 120), "2": (140, 140, 140)}
FG, BG = (225, 225, 225), (28, 28, 32)


def incident(ws: Path, *args: str, minutes_ago: int, who: str | None = None) -> None:
    at = (datetime.now(UTC) - timedelta(minutes=minutes_ago)).isoformat(timespec="seconds")
    env = {**os.environ, "INCIDENT_USER": who or ""}
    cmd = [sys.executable, "-m", "incident_kit", "--workspace", str(ws), *args, "--at", at]
    subprocess.run(cmd, check=True, env=env, capture_output=True)


def build(ws: Path) -> None:
    subprocess.run([sys.executable, "-m", "incident_kit", "init", str(ws)], check=True)
    incident(
        ws,
        "declare",
        "--functionality",
        "logging in",
        "--state",
        "broken",
        "--audience",
        "all users",
        "--severity",
        "SEV1",
        "--manager",
        "Priya Shah",
        minutes_ago=41,
        who="Priya Shah",
    )
    incident(ws, "check", "declaration.pin-summary", minutes_ago=39, who="Priya Shah")
    incident(ws, "check", "declaration.notify-team", minutes_ago=38, who="Priya Shah")
    incident(
        ws, "note", "Error rate on /login at 40% since 09:02", minutes_ago=35, who="Emily Chen"
    )
    incident(ws, "milestone", "Cause suspected: the 09:00 deploy", minutes_ago=22, who="Omar")
    incident(ws, "note", "Rolling back the 09:00 deploy", minutes_ago=6, who="Omar")
    incident(ws, "note", "Rollback done; errors falling", minutes_ago=1, who="Emily Chen")


def capture(ws: Path) -> str:
    name = f"watch{os.getpid()}"
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    cmd = f"{sys.executable} -m incident_kit --workspace {ws} watch"
    subprocess.run(
        ["tmux", "new-session", "-d", "-s", name, "-x", str(COLS), "-y", str(ROWS), cmd],
        check=True,
        env={**env, "TERM": "xterm-256color"},
    )
    try:
        time.sleep(4)
        done = subprocess.run(
            ["tmux", "capture-pane", "-e", "-p", "-t", name],
            check=True,
            capture_output=True,
            text=True,
        )
        return done.stdout
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], check=False)


def draw(text: str) -> Image.Image:
    size = 13
    font, bold = ImageFont.truetype(FONT, size), ImageFont.truetype(BOLD_FONT, size)
    cw = font.getlength("M")
    lh = size + 4
    lines = text.rstrip("\n").split("\n")
    img = Image.new("RGB", (int(COLS * cw) + 24, len(lines) * lh + 20), BG)
    d = ImageDraw.Draw(img)
    for row, line in enumerate(lines):
        x, colour, is_bold = 12.0, FG, False
        for part in re.split(r"(\x1b\[[0-9;]*m)", line):
            if part.startswith("\x1b["):
                for code in part[2:-1].split(";") or ["0"]:
                    if code in ("", "0", "39", "22"):
                        colour, is_bold = FG, False
                    elif code == "1":
                        is_bold = True
                    elif code in COLOURS:
                        colour = COLOURS[code]
                continue
            d.text((x, 10 + row * lh), part, font=bold if is_bold else font, fill=colour)
            x += cw * len(part)
    return img


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp) / "ws"
        build(ws)
        text = capture(ws)
    draw(text).save(OUT, optimize=True)
    print(f"wrote {OUT.relative_to(REPO)}")


if __name__ == "__main__":
    main()
