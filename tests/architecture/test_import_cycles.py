"""No two modules of the app import each other, directly or round a longer loop.

Imports inside functions and under ``TYPE_CHECKING`` count: hiding an import there keeps
Python from failing at start-up but leaves the two modules just as tangled.
"""

from __future__ import annotations

import grimp

PACKAGES = ("bot", "handlers", "integrations", "storage")


def import_cycles(graph: grimp.ImportGraph) -> list[frozenset[str]]:
    """Every group of modules that can reach each other by imports (Tarjan's SCC)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[frozenset[str]] = []

    def visit(start: str) -> None:
        # Iterative, so a deep import chain cannot hit the recursion limit.
        work = [(start, iter(sorted(graph.find_modules_directly_imported_by(start))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph.find_modules_directly_imported_by(nxt)))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    group = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.add(member)
                        if member == node:
                            break
                    if len(group) > 1:
                        groups.append(frozenset(group))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return groups


def test_app_modules_import_each_other_in_no_circle() -> None:
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    cycles = [sorted(c) for c in import_cycles(graph)]
    assert cycles == [], f"import circles: {cycles}"


def test_the_cycle_finder_sees_a_circle_hidden_inside_a_function() -> None:
    graph = grimp.ImportGraph()
    for name in ("pkg", "pkg.a", "pkg.b", "pkg.c"):
        graph.add_module(name)
    graph.add_import(importer="pkg.a", imported="pkg.b", line_number=1, line_contents="import")
    graph.add_import(importer="pkg.b", imported="pkg.a", line_number=9, line_contents="  import")
    graph.add_import(importer="pkg.b", imported="pkg.c", line_number=2, line_contents="import")
    assert import_cycles(graph) == [frozenset({"pkg.a", "pkg.b"})]
