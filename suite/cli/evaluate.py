"""`python -m suite eval`: the metric functions on the user's own prediction files."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

# metric -> the unit of its printed numbers
UNITS = {"mpjpe": "mm", "pa-mpjpe": "mm", "coco-ap": "%", "pckh": "%", "jdr": "%"}
HELP = """metrics:
  mpjpe, pa-mpjpe  MPJPE / after Procrustes alignment of (N, J, 3) arrays in mm (.npy both)
  coco-ap          COCO keypoint AP/AR (xtcocotools COCOeval, x100) of a result json against the
                   annotation json; apply the OKS-NMS rescoring before writing the results
  pckh             MPII PCKh@0.5 as HRNet computes it: --pred HRNet's pred.mat (preds, 1-based) or
                   an .npy (N, 16, 2) 0-based, --gt annot/gt_valid.mat
  jdr              H36M joint detection rate (distance <= 12.8 px) of (N, 17, 2) .npy files"""


def add_parser(verbs: argparse._SubParsersAction) -> None:
    evaluate = verbs.add_parser(
        "eval",
        help="metrics on your own prediction files",
        epilog=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    evaluate.add_argument("metric", choices=list(UNITS), help="which metric (below)")
    evaluate.add_argument("--pred", type=Path, required=True, help="the predictions (see below per metric)")
    evaluate.add_argument("--gt", type=Path, required=True, help="the ground truth (see below per metric)")
    evaluate.add_argument(
        "--json",
        action="store_true",
        help='print the metrics as one JSON object ({"mpjpe": ...}, {"ap": ...})',
    )
    evaluate.set_defaults(run=_eval)


def evaluate_files(metric: str, pred: Path, gt: Path) -> dict[str, float]:
    """The metric's evaluate_files; imports only that metric's module (none imports torch)."""
    if metric == "coco-ap":
        from suite.evaluate.coco_ap import evaluate_files as coco_ap

        return coco_ap(pred, gt)
    if metric == "pckh":
        from suite.evaluate.pckh import evaluate_files as pckh

        return pckh(pred, gt)
    if metric == "jdr":
        from suite.evaluate.jdr import evaluate_files as jdr

        return jdr(pred, gt)
    from suite.evaluate.mpjpe import evaluate_files as mpjpe

    return mpjpe(metric, pred, gt)


def _eval(args: argparse.Namespace) -> int:
    import json

    result = evaluate_files(args.metric, args.pred, args.gt)
    if args.json:  # NaN (no ground truth for it) as null, for strict JSON readers
        print(json.dumps({key: None if math.isnan(value) else value for key, value in result.items()}))
        return 0
    unit = UNITS[args.metric]
    width = max(map(len, result))
    print(f"{args.metric} of {args.pred} against {args.gt}")
    for key, value in result.items():
        print(f"  {key:<{width}}  {value:8.2f} {unit}")
    return 0
