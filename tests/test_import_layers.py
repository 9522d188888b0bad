"""The layers of the suite: what may import what, and the orchestration verbs without torch.

    suite.io, registry, data, models, evaluate,  the shared layers: none of the stages above them
      checkpoints, training
    suite.pretrain + baselines  /  suite.finetune the two stages: neither imports the other's code
    suite.orchestration, suite.report            plan, status and report: the catalogues, never torch
    suite.cli                                    the top: nothing imports it

`plan`, `status` and `report` read the torch-free catalogues (suite.pretrain.catalog,
suite.finetune.catalog); only a job imports a method's or a task's code.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SUITE = ROOT / "suite"
STAGES = ("suite.orchestration", "suite.cli", "suite.pretrain", "suite.finetune", "suite.baselines")
# (the layer, the packages no module of it may import)
ABOVE_STAGES = ("suite.orchestration", "suite.cli")
FORBIDDEN = [
    ("suite.io", STAGES),
    ("suite.registry", STAGES),
    ("suite.training", STAGES),
    ("suite.data", STAGES),
    ("suite.models", STAGES),
    ("suite.evaluate", STAGES),
    ("suite.checkpoints", STAGES),
    ("suite.finetune", ("suite.pretrain", "suite.baselines", *ABOVE_STAGES)),
    ("suite.pretrain", ("suite.finetune", "suite.baselines", *ABOVE_STAGES)),
    ("suite.baselines", ("suite.finetune", *ABOVE_STAGES)),
    ("suite.orchestration", ("suite.cli",)),
]
TORCH = ("torch", "torchvision")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules(package: str) -> list[Path]:
    folder = ROOT.joinpath(*package.split("."))
    return sorted(folder.rglob("*.py")) if folder.is_dir() else [folder.with_suffix(".py")]


def _absolute(node: ast.ImportFrom, path: Path) -> str:
    """The module an ImportFrom names, relative imports resolved against the file's package."""
    if not node.level:
        return node.module or ""
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    base = package[: len(package) - node.level + 1]
    return ".".join([*base, *([node.module] if node.module else [])])


def imported(path: Path, top_level_only: bool = False, source: str | None = None) -> list[tuple[int, str]]:
    """(line, module) of every import in the file (or only those run on import: not in a function's
    body nor under `if TYPE_CHECKING:`); `from a import b` counts as a and a.b."""
    tree = ast.parse(path.read_text() if source is None else source, filename=str(path))
    found: list[tuple[int, str]] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if top_level_only and isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                continue
            if top_level_only and isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                visit(ast.Module(body=child.orelse, type_ignores=[]))
                continue
            if isinstance(child, ast.Import):
                found.extend((child.lineno, alias.name) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                module = _absolute(child, path)
                found.append((child.lineno, module))
                found.extend((child.lineno, f"{module}.{alias.name}") for alias in child.names)
            visit(child)

    visit(tree)
    return found


def _within(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == package or module.startswith(package + ".") for package in packages)


@pytest.mark.parametrize(("layer", "forbidden"), FORBIDDEN, ids=[layer for layer, _ in FORBIDDEN])
def test_a_layer_imports_nothing_above_it(layer, forbidden):
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in modules(layer)
        for line, module in imported(path)
        if _within(module, forbidden)
    ]
    assert not wrong, "\n".join(wrong)


def test_orchestration_imports_torch_only_inside_functions():
    files = [*modules("suite.orchestration"), *modules("suite.report"), *modules("suite.profiles")]
    files += [*modules("suite.tables"), *modules("suite.registry"), *modules("suite.io")]
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {module} on import"
        for path in files
        for line, module in imported(path, top_level_only=True)
        if _within(module, TORCH)
    ]
    assert not wrong, "\n".join(wrong)


def test_the_checker_sees_imports_in_functions_and_relative_ones():
    probe = SUITE / "training" / "probe.py"  # not a file: the source is given
    source = (
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import torch\n"
        "def f():\n    import torchvision\nfrom ..pretrain import method\n"
    )
    everything = {module for _, module in imported(probe, source=source)}
    assert {"torch", "torchvision", "suite.pretrain", "suite.pretrain.method"} <= everything
    on_import = {module for _, module in imported(probe, top_level_only=True, source=source)}
    assert not on_import & {"torch", "torchvision"} and "suite.pretrain" in on_import


def _imports_of(arguments: list[str], cwd: Path) -> dict[str, str]:
    """{module: the chain of imports that first loaded it} of `python -X importtime -m suite ARGS`.

    importtime writes a module after the modules it imported, each indented one more than its
    importer: the chain of a line is the next line less indented, and so on to the top."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "suite", *arguments],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = [
        line.rsplit("|", 1)[-1]
        for line in result.stderr.splitlines()
        if line.startswith("import time:") and line.count("|") == 2
    ]
    chains = {}
    for i, line in enumerate(lines):
        depth, chain = len(line) - len(line.lstrip()), [line.strip()]
        for later in lines[i + 1 :]:
            if len(later) - len(later.lstrip()) < depth:
                depth = len(later) - len(later.lstrip())
                chain.append(later.strip())
        chains.setdefault(line.strip(), " <- ".join(chain))
    return chains


def test_plan_status_and_report_import_no_torch(tmp_path):
    table = ["--table", "4", "--profile", "smoke", "--workdir", str(tmp_path / "work")]
    verbs = {
        "plan": ["plan", *table],
        "status": ["status", *table],
        "status of the work directory": ["status", "--workdir", str(tmp_path / "work")],
        "report": ["report", *table, "--results", str(tmp_path / "results")],
    }
    for verb, arguments in verbs.items():
        loaded = _imports_of(arguments, ROOT)
        wrong = [loaded[name] for name in TORCH if name in loaded]
        assert not wrong, f"`{verb}` imports " + "; ".join(wrong)
    assert (tmp_path / "results" / "table4.md").is_file()


def test_the_catalogues_and_the_orchestration_modules_import_no_torch():
    code = (
        "import sys\n"
        "import suite.orchestration.plan, suite.orchestration.launch, suite.orchestration.show\n"
        "import suite.orchestration.jobs, suite.orchestration.cluster, suite.report, suite.profiles\n"
        "from suite.pretrain.catalog import METHODS\n"
        "from suite.finetune.catalog import TASKS\n"
        "for name in METHODS.names(): METHODS.settings(name, profile='demo')\n"
        "for name in TASKS.names(): TASKS.settings(name, profile='demo')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'torchvision')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
