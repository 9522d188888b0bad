"""`python -m suite eval`: the metric functions on the user's own prediction files."""

from __future__ import annotations

import argparse
from pathlib import Path

from suite.evaluate.mpjpe import METRICS


def add_parser(verbs: argparse._SubParsersAction) -> None:
    evaluate = verbs.add_parser("eval", help="metrics on your own prediction files")
    evaluate.add_argument("metric", choices=sorted(METRICS), help="MPJPE, or after Procrustes alignment")
    evaluate.add_argument("--pred", type=Path, required=True, help="(N, J, 3) .npy, millimetres")
    evaluate.add_argument("--gt", type=Path, required=True, help="(N, J, 3) .npy, millimetres")
    evaluate.add_argument("--json", action="store_true", help='print {"mpjpe": ...} / {"pa_mpjpe": ...}')
    evaluate.set_defaults(run=_eval)


def _eval(args: argparse.Namespace) -> int:
    import json

    from suite.evaluate.mpjpe import evaluate_files

    result = evaluate_files(args.metric, args.pred, args.gt)
    print(json.dumps(result) if args.json else f"{args.metric.upper()}: {next(iter(result.values())):.2f} mm")
    return 0
