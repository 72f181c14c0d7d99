"""Lint: every row lock goes through ``marketplace.locks.for_update`` (its one documented order); a
``select_for_update`` anywhere else in the product's code is refused."""

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("marketplace", "shops", "logistics", "fixtures")
ALLOWED = {Path("marketplace/locks.py")}


def offences() -> list[str]:
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if "migrations" in relative.parts or relative in ALLOWED:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(relative))):
                if isinstance(node, ast.Attribute) and node.attr == "select_for_update":
                    found.append(f"{relative}:{node.lineno}: lock rows with marketplace.locks.for_update")
    return found


if __name__ == "__main__":
    problems = offences()
    print("\n".join(problems) or "row locks: all through marketplace.locks")  # noqa: T201  (a lint's report)
    sys.exit(1 if problems else 0)
