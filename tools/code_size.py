"""Print the largest modules (lines) and the longest functions (lines) of the project's code.

Used for the before/after figures of a restructuring: `python tools/code_size.py [--most N]`.
Counts every line of a module (blank and comment lines too) and a function from its `def` line to
its last line, decorators excluded, as `ast` reports them.
"""

from __future__ import annotations

import argparse
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("app", "models", "migrations", "bench", "tools")


def python_files() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def function_lengths(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            found.append((length, f"{path.relative_to(ROOT)}:{node.lineno} {node.name}"))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--most", type=int, default=10, help="rows per list (default 10)")
    args = parser.parse_args()
    files = python_files()
    modules = sorted(
        ((len(p.read_text().splitlines()), str(p.relative_to(ROOT))) for p in files), reverse=True
    )
    functions = sorted((f for p in files for f in function_lengths(p)), reverse=True)
    print(f"largest modules (lines), of {len(files)} in {', '.join(PACKAGES)}:")
    for lines, name in modules[: args.most]:
        print(f"  {lines:5d}  {name}")
    print("longest functions (lines):")
    for lines, name in functions[: args.most]:
        print(f"  {lines:5d}  {name}")


if __name__ == "__main__":
    main()
