"""Checks that no two training modules import each other, directly or round a loop.

training/ is a flat folder of scripts that import one another by name (python3 training/<script>.py puts the folder on
sys.path). A cycle there once hid behind a lazy import inside a function (vae.py -> sample.py -> vae.py); this reads
every import statement, lazy ones included, so such a loop cannot come back unseen. Standard library only, no torch.

    /usr/bin/python3 training/check_imports.py [FOLDER]   # prints the import graph; exit status 1 on a cycle
"""
from __future__ import annotations

import argparse
import ast
import glob
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def import_graph(folder: str) -> dict:
    """module -> the sorted names of the folder's modules it imports anywhere in its source."""
    modules = {os.path.basename(p)[:-3]: p for p in glob.glob(os.path.join(folder, "*.py"))}
    graph = {}
    for name, path in modules.items():
        with open(path) as f:
            tree = ast.parse(f.read(), path)
        deps = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                deps |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                deps.add(node.module.split(".")[0])
        graph[name] = sorted(deps & modules.keys())
    return graph


def cycles(graph: dict) -> list:
    """The strongly connected components with more than one module, or one that imports itself (Tarjan's algorithm)."""
    index: dict = {}
    low: dict = {}
    stack: list = []
    found: list = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in graph[v]:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folder", nargs="?", default=HERE, help="the folder of modules to check (default: training/)")
    graph = import_graph(ap.parse_args().folder)
    for module in sorted(graph):
        print(f"{module:15} -> {', '.join(graph[module]) or '-'}")
    loops = cycles(graph)
    print("import cycles:", "; ".join(" <-> ".join(c) for c in loops) if loops else "none")
    sys.exit(1 if loops else 0)
