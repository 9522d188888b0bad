"""`python -m suite`: the command line. Every verb has --help; user errors print without a traceback.

One module per verb group, each with add_parser(verbs) and its handlers: data.py (data ...),
pretrain.py, finetune.py, tables.py (plan, run, status, report), evaluate.py (eval), export.py.
Building the parser, `--help`, `plan`, `status` and `report` import no torch: the handlers import
what they run, and the method and task names and settings come from the torch-free catalogues.
"""

from __future__ import annotations

import sys

from suite.cli import data, evaluate, export, finetune, pretrain, tables
from suite.cli.common import Parser
from suite.errors import SuiteError

VERB_GROUPS = (data, pretrain, tables, finetune, evaluate, export)  # in the order --help lists them


def build_parser() -> Parser:
    parser = Parser(
        prog="python -m suite",
        description="Reproduce the LiftedCL paper's tables: pre-train, fine-tune, evaluate, report.",
    )
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    for group in VERB_GROUPS:
        group.add_parser(verbs)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)  # reading the catalogue for --method may fail: a plugin
        return args.run(args)
    except SuiteError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
