"""Drawing a PROV document: Graphviz DOT text, and a PNG picture without Graphviz.

DOT comes from the ``prov`` library's own converter (``prov.dot``, with
pydot), in the W3C's conventional shapes and colours. Rendering DOT needs the
Graphviz ``dot`` program, which pip cannot install, so the picture is drawn
with packages pip can: the ``prov`` library turns the document into a
NetworkX graph, the graph is laid out in layers (newest at the top, the
delivery at the bottom, the people and the tool in a column of their own),
and matplotlib draws it in the same colours: entities yellow ovals,
activities blue boxes, agents orange.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput, StorageError

if TYPE_CHECKING:
    import prov.model as pm

COLOURS = {"ProvEntity": "#FFFC87", "ProvActivity": "#9FB1FC", "ProvAgent": "#FED37F"}
BOXES = {"ProvEntity": "round,pad=0.4", "ProvActivity": "square,pad=0.4", "ProvAgent": "round4,pad=0.4"}
RELATIONS = {"ProvGeneration": "wasGeneratedBy", "ProvUsage": "used", "ProvDerivation": "wasDerivedFrom",
             "ProvAssociation": "wasAssociatedWith", "ProvAttribution": "wasAttributedTo",
             "ProvMembership": "hadMember"}


def to_dot(document: pm.ProvDocument) -> str:
    """Graphviz DOT of the document, by ``prov.dot.prov_to_dot``."""
    from prov.dot import prov_to_dot

    return prov_to_dot(document, show_element_attributes=True, show_relation_attributes=False).to_string()


def to_png(document: pm.ProvDocument, path: Path) -> Path:
    """Draw the document into ``path`` (PNG), written whole or not at all."""
    if path.suffix.lower() != ".png":
        raise InvalidInput(f"{path}: the picture is a PNG; name the file *.png")
    import matplotlib

    matplotlib.use("Agg")  # no display: draw into the file only
    import matplotlib.pyplot as plt

    graph, positions = _layout(document)
    width = max((x for x, _ in positions.values()), default=0) + 1
    height = max((-y for _, y in positions.values()), default=0) + 1
    figure, axes = plt.subplots(figsize=(max(8.0, 4.2 * width), max(4.0, 1.6 * height)))
    try:
        _draw(axes, graph, positions)
        axes.set_xlim(-0.8, width - 0.2)
        axes.set_ylim(-height + 0.4, 0.6)
        axes.axis("off")
        tmp = path.with_name(f".{path.name}.partial")
        figure.savefig(tmp, format="png", dpi=100, bbox_inches="tight")
        tmp.replace(path)
    except OSError as exc:
        raise StorageError(f"{path}: cannot write the picture ({exc.strerror or exc})") from exc
    finally:
        plt.close(figure)
    return path


def _layout(document: pm.ProvDocument) -> tuple[Any, dict[Any, tuple[float, float]]]:
    """Layers by longest path from the newest element (relations point from new to old), each ordered
    under its parents; a release's files stacked in a column on the left, the agents in one on the right."""
    import networkx as nx
    from prov.graph import prov_to_graph

    graph = prov_to_graph(document)
    agents = sorted((n for n in graph if _kind(n) == "ProvAgent"), key=_name)
    files = sorted((n for n in graph if "ipd:ReleaseFile" in _types(n)), key=_name)
    things = nx.DiGraph(graph.subgraph([n for n in graph if n not in agents and n not in files]))
    if not nx.is_directed_acyclic_graph(things):  # PROV allows cycles: lay out a spanning forest instead
        things = nx.dfs_tree(things)
    layer: dict[Any, int] = {}
    for node in nx.topological_sort(things):
        layer[node] = max((layer[p] + 1 for p in things.predecessors(node)), default=0)
    positions: dict[Any, tuple[float, float]] = {}
    for depth in range(max(layer.values(), default=-1) + 1):
        row = [n for n in layer if layer[n] == depth]

        def under_parents(node, depth=depth):  # the mean place of its parents, so edges cross less
            places = [positions[p][0] for p in things.predecessors(node) if p in positions]
            return (sum(places) / len(places) if places else 0.0, _name(node))

        for x, node in enumerate(sorted(row, key=under_parents)):
            positions[node] = (float(x) + (1.0 if files else 0.0), -float(depth))
    for index, file in enumerate(files):
        positions[file] = (0.0, -index * 0.5)
    column = max((x for x, _ in positions.values()), default=-1.0) + 1
    rows = max(layer.values(), default=0) + 1
    for index, agent in enumerate(agents):
        positions[agent] = (column, -index * max(1.0, rows / max(len(agents), 1)))
    return graph, positions


def _kind(node) -> str:
    return type(node).__name__


def _name(node) -> str:
    return str(node.identifier)


def _types(node) -> set[str]:
    return {str(t) for t in node.get_attribute("prov:type")} if node.bundle is not None else set()


def _draw(axes, graph, positions) -> None:
    for start, end, data in graph.edges(data=True):
        kind = _relation(data["relation"])
        (x1, y1), (x2, y2) = positions[start], positions[end]
        axes.annotate("", xy=(x2, y2), xytext=(x1, y1), zorder=1,
                      arrowprops={"arrowstyle": "-|>", "color": "#555555", "shrinkA": 18, "shrinkB": 18,
                                  "connectionstyle": "arc3,rad=0.08"})
        axes.text((x1 + x2) / 2, (y1 + y2) / 2, kind, fontsize=6,
                  color="#333333", ha="center", va="center", zorder=2,
                  bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.8})
    for node, (x, y) in positions.items():
        kind = type(node).__name__
        axes.text(x, y, _label(node), fontsize=7, ha="center", va="center", zorder=3, wrap=True,
                  bbox={"boxstyle": BOXES.get(kind, "round"), "fc": COLOURS.get(kind, "#EEEEEE"), "ec": "#808080"})


def _relation(relation) -> str:
    """The PROV name of a relation; a revision is a derivation of type prov:Revision."""
    from prov.model import PROV

    kind = type(relation).__name__
    if kind == "ProvDerivation" and PROV["Revision"] in relation.get_asserted_types():
        return "wasRevisionOf"
    return RELATIONS.get(kind, kind.removeprefix("Prov"))


def _label(node) -> str:
    """The identifier without the namespace, and the hash or fingerprint that pins the thing down."""
    name = str(node.identifier).removeprefix("ipd:")
    if "ipd:ReleaseFile" in _types(node):
        name = str(next(iter(node.get_attribute("ipd:path")), name))
    for attribute in ("ipd:sha256", "ipd:fingerprint"):
        values = list(node.get_attribute(attribute)) if node.bundle is not None else []
        if values:
            return f"{name}\n{attribute.removeprefix('ipd:')} {str(values[0]).removeprefix('sha256:')[:12]}…"
    return name
