"""Imports point down the layers: every import of every module, function-level ones included.

The one table of the layers is :data:`LAYERS` (docs/architecture.md draws it). A module may
import its own layer and any layer of a LOWER rank; layers of one rank are siblings and never
import each other. A module that no row names fails too, so a new top-level part of the
package gets its place in the table before it gets imports.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.helpers.config import REPO_ROOT

SRC = REPO_ROOT / "src"
ENTRY_POINTS = ("train.py", "evaluate.py", "serve.py")
# the package itself (its __init__) is a row of its own, not a prefix of every module
ROOT_PACKAGE = "wardrobe"

# (rank, layer, module prefixes): lower ranks are imported by higher ones, never the reverse.
LAYERS: tuple[tuple[int, str, tuple[str, ...]], ...] = (
    (0, "vocabulary", (ROOT_PACKAGE, "wardrobe.taxonomy")),
    (1, "colour science", ("wardrobe.colour_science", "wardrobe.colour_naming")),
    (1, "hparams", ("wardrobe.hparams",)),
    (1, "config resolvers", ("wardrobe.config",)),
    (1, "utils", ("wardrobe.utils",)),
    (1, "allocator settings", ("wardrobe.allocator",)),
    (2, "preprocessing", ("wardrobe.preprocessing",)),
    (3, "artifacts", ("wardrobe.artifacts",)),
    (4, "data", ("wardrobe.data",)),
    (5, "models", ("wardrobe.models",)),
    (6, "store", ("wardrobe.store",)),
    (7, "ingestion", ("wardrobe.ingestion",)),
    (7, "recommendation", ("wardrobe.recommendation",)),
    (8, "evaluation", ("wardrobe.evaluation",)),
    (8, "serving", ("wardrobe.serving",)),
    (9, "tasks", ("wardrobe.tasks",)),
    (10, "entry points", ("wardrobe.quickstart", "wardrobe.export", "train", "evaluate", "serve")),
)


def layer_of(module: str) -> tuple[int, str]:
    """``(rank, layer)`` of a dotted module name: the row with the longest matching prefix."""
    matches = [
        (len(prefix), rank, layer)
        for rank, layer, prefixes in LAYERS
        for prefix in prefixes
        if module == prefix or (prefix != ROOT_PACKAGE and module.startswith(prefix + "."))
    ]
    if not matches:
        raise LookupError(f"module {module!r} is in no row of LAYERS")
    _, rank, layer = max(matches)
    return rank, layer


def package_modules() -> dict[str, Path]:
    """Dotted name -> file of every module of ``src/wardrobe`` and of the entry points."""
    modules = {}
    for path in sorted((SRC / "wardrobe").rglob("*.py")):
        parts = path.relative_to(SRC).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    for name in ENTRY_POINTS:
        modules[Path(name).stem] = REPO_ROOT / name
    return modules


MODULES = package_modules()


def _is_package(module: str) -> bool:
    path = MODULES.get(module)
    return path is not None and path.name == "__init__.py"


def imported_modules(module: str, source: str) -> list[tuple[int, str]]:
    """``(line, imported wardrobe module)`` for every import in ``source``, at any depth.

    ``from pkg import name`` counts as ``pkg.name`` when that is a module, else as ``pkg``;
    relative imports resolve against ``module``'s package.
    """
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".") if _is_package(module) else module.split(".")[:-1]
                anchor = package[: len(package) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.append((node.lineno, candidate if candidate in MODULES else base))
    return [(line, name) for line, name in found if name.split(".")[0] == "wardrobe"]


def upward_imports(module: str, source: str, where: str) -> list[str]:
    """``file:line`` messages for each import of ``source`` that does not point down."""
    rank, layer = layer_of(module)
    problems = []
    for line, target in imported_modules(module, source):
        target_rank, target_layer = layer_of(target)
        if target_layer != layer and target_rank >= rank:
            problems.append(
                f"{where}:{line}: {module} ({layer}, rank {rank}) imports {target} "
                f"({target_layer}, rank {target_rank})"
            )
    return problems


def import_closure(starts: list[str]) -> set[str]:
    """Every wardrobe module that importing ``starts`` may import (parent packages included)."""
    seen: set[str] = set()
    todo = list(starts)
    while todo:
        module = todo.pop()
        if module in seen or module not in MODULES:
            continue
        seen.add(module)
        parts = module.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]
        todo += [name for _, name in imported_modules(module, MODULES[module].read_text())]
    return seen


def third_party_imports(modules: set[str]) -> set[str]:
    """Top-level names of the non-wardrobe packages that ``modules`` import."""
    names = set()
    for module in modules:
        for node in ast.walk(ast.parse(MODULES[module].read_text())):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module.split(".")[0])
    return names - {"wardrobe"}


def _starting(*prefixes: str) -> list[str]:
    return [m for m in MODULES if m.startswith(prefixes)]


def test_serving_never_imports_training_code():
    reached = import_closure(_starting("wardrobe.serving"))
    training = {
        m
        for m in reached
        if m in ("wardrobe.tasks", "wardrobe.models.detector.train")
        or (m.startswith("wardrobe.models.") and m.endswith("_module"))
    }
    assert not training, sorted(training)
    assert "lightning" not in third_party_imports(reached)
    # the same closure does reach training code from the top of the stack
    assert "wardrobe.models.detector.train" in import_closure(["wardrobe.tasks"])
    assert "lightning" in third_party_imports(import_closure(["wardrobe.tasks"]))


def test_ingestion_and_recommendation_never_import_litserve():
    reached = import_closure(_starting("wardrobe.ingestion", "wardrobe.recommendation"))
    assert not any(m.startswith("wardrobe.serving") for m in reached)
    assert "litserve" not in third_party_imports(reached)


def test_every_module_has_a_layer():
    unplaced = []
    for module in MODULES:
        try:
            layer_of(module)
        except LookupError as err:
            unplaced.append(str(err))
    assert not unplaced, "\n".join(unplaced)


def test_a_new_top_level_module_needs_a_row():
    # the package row matches the package alone, not every module below it
    with pytest.raises(LookupError, match="no row"):
        layer_of("wardrobe.somewhere_new")


def test_imports_point_down_the_layers():
    problems = []
    for module, path in MODULES.items():
        where = str(path.relative_to(REPO_ROOT))
        problems += upward_imports(module, path.read_text(), where)
    assert not problems, "upward imports:\n" + "\n".join(problems)


# The two back-edges that closed main's import cycle (verbatim, function-level as they were),
# and other shapes an upward import can take: each must be caught, with its line.
@pytest.mark.parametrize(
    ("module", "source", "line"),
    [
        (
            "wardrobe.data.item_features",
            "def build():\n"
            "    if True:\n"
            "        from wardrobe.models.components.backbones import build_backbone\n",
            3,
        ),
        (
            "wardrobe.models.detector",
            "class YoloDetector:\n"
            "    def run(self):\n"
            "        from wardrobe.tasks import instantiate_group\n",
            3,
        ),
        ("wardrobe.data.polyvore_datamodule", "from ..models import detector\n", 1),
        ("wardrobe.models.detector.train", "from ... import tasks\n", 1),
        ("wardrobe.serving.app", "import wardrobe.evaluation.runner\n", 1),  # siblings
        ("wardrobe.store.records", "from wardrobe.ingestion.decode import decode_image\n", 1),
    ],
)
def test_an_upward_import_is_reported_with_its_line(module, source, line):
    (problem,) = upward_imports(module, source, "snippet.py")
    assert problem.startswith(f"snippet.py:{line}: {module} ")


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("wardrobe.models.detector.inference", "from wardrobe.artifacts import load_bundle\n"),
        ("wardrobe.models.detector.train", "from .net import YoloNet\n"),
        ("wardrobe.tasks", "def f():\n    from wardrobe.serving.app import run_server\n"),
        ("wardrobe.data.polyvore_datamodule", "from wardrobe import taxonomy\n"),
        ("wardrobe.colour_science", "import numpy\nfrom wardrobe.taxonomy import COLOURS\n"),
    ],
)
def test_downward_and_same_layer_imports_pass(module, source):
    assert upward_imports(module, source, "snippet.py") == []


def test_relative_imports_resolve_against_the_package():
    assert imported_modules("wardrobe.data.item_features", "from ..models import detector") == [
        (1, "wardrobe.models.detector")
    ]
    assert imported_modules("wardrobe.models", "from . import base_module") == [
        (1, "wardrobe.models.base_module")
    ]
