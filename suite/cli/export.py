"""`python -m suite export`: any supported checkpoint as a torchvision or mmpose backbone file."""

from __future__ import annotations

import argparse
from pathlib import Path

from suite.checkpoints.formats import FORMATS, TARGETS


def add_parser(verbs: argparse._SubParsersAction) -> None:
    export = verbs.add_parser("export", help="a pre-trained backbone as a torchvision or mmpose checkpoint")
    export.add_argument(
        "checkpoint",
        type=Path,
        help="ours (a pre-training checkpoint or a fine-tuned model.pt), or any format --init reads",
    )
    export.add_argument("--to", choices=TARGETS, required=True)
    export.add_argument("--out", type=Path, required=True)
    export.add_argument("--format", choices=FORMATS, help="the checkpoint's format (default: detected)")
    export.add_argument(
        "--trust", action="store_true", help="allow Python objects in the file (only for files you trust)"
    )
    export.set_defaults(run=_export)


def _export(args: argparse.Namespace) -> int:
    from suite.checkpoints.export import export

    report = export(args.checkpoint, args.to, args.out, expected_format=args.format, trust=args.trust)
    print(report)
    print(f"wrote {args.out}")
    return 0
