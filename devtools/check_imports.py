"""Lint: no import inside a function (or a class body) in the project's code.

An import inside a function hides a dependency from the import-linter contracts and usually dodges a cycle
(docs/conventions: publish a domain event through the outbox, or move the code where it belongs). The
only ones allowed are listed, by file and imported module, in ``ALLOWED`` below, each with its reason (an
optional heavy library loaded only when used). Prints each offence as ``file:line`` and exits
non-zero when there is one. Run by ``make lint``.

Checked: the product packages, and tests/factories.py (the test support every test depends on). Not
checked: the tests themselves (an import inside a test is local to it, and pytest's hooks run before Django
is set up), migrations (Django writes them), bench/ and devtools/ (scripts), and an app's ``apps.py``:
Django loads it before the models, so its AppConfig's methods (Oscar's ``get_urls``, Django's ``ready``)
import views and subscribers when called, as Django and Oscar document.
"""

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECKED = ("marketplace", "shops", "logistics", "fixtures", "tests/factories.py")

# (file, imported module) pairs allowed, each with its reason. None dodges a cycle; do not add one that does.
ALLOWED: frozenset[tuple[str, str]] = frozenset(
    {
        # reportlab is loaded only when a statement PDF is drawn.
        ("shops/settlement/exports.py", "reportlab.lib"),
        ("shops/settlement/exports.py", "reportlab.lib.pagesizes"),
        ("shops/settlement/exports.py", "reportlab.lib.styles"),
        ("shops/settlement/exports.py", "reportlab.lib.units"),
        ("shops/settlement/exports.py", "reportlab.pdfbase"),
        ("shops/settlement/exports.py", "reportlab.pdfbase.cidfonts"),
        ("shops/settlement/exports.py", "reportlab.platypus"),
    }
)


def _imported(node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.ImportFrom):
        return ["." * node.level + (node.module or "")]
    return [alias.name for alias in node.names]


def nested_imports(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, module) of every import that is not at module level (in a function or class body)."""
    found: list[tuple[int, str]] = []

    def visit(node: ast.AST, nested: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom) and nested:
                found.extend((child.lineno, module) for module in _imported(child))
            inner = nested or isinstance(
                child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda
            )
            visit(child, inner)

    visit(tree, False)
    return found


def offences(root: Path = ROOT) -> list[str]:
    lines: list[str] = []
    for checked in CHECKED:
        start = root / checked
        paths = [start] if start.is_file() else sorted(start.rglob("*.py"))
        for path in paths:
            relative = path.relative_to(root).as_posix()
            if "/migrations/" in relative or path.name == "apps.py":
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=relative)
            for line, module in nested_imports(tree):
                if (relative, module) not in ALLOWED:
                    lines.append(f"{relative}:{line}: import of {module} inside a function")
    return lines


def main() -> int:
    found = offences()
    for line in found:
        print(line)  # noqa: T201
    if found:
        print(  # noqa: T201
            f"{len(found)} import(s) inside a function: move them to the top of the module "
            "(docs/architecture.md says how to break a cycle)."
        )
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
