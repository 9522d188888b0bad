"""`python -m suite eval`: the metric functions on the user's own prediction files."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

# metric -> the unit of its printed numbers
UNITS = {
    "mpjpe": "mm",
    "pa-mpjpe": "mm",
    "coco-ap": "%",
    "pckh": "%",
    "jdr": "%",
    "parsing": "%",
    "reconstruction-error": "mm",
}
HELP = """metrics:
  mpjpe, pa-mpjpe  MPJPE / after Procrustes alignment of (N, J, 3) arrays in mm (.npy both)
  coco-ap          COCO keypoint AP/AR (xtcocotools COCOeval, x100) of a result json against the
                   annotation json; apply the OKS-NMS rescoring before writing the results
  pckh             MPII PCKh@0.5 as HRNet computes it: --pred HRNet's pred.mat (preds, 1-based) or
                   an .npy (N, 16, 2) 0-based, --gt annot/gt_valid.mat
  jdr              H36M joint detection rate (distance <= 12.8 px) of (N, 17, 2) .npy files
  parsing          LIP human parsing mIoU / mACC / pixel accuracy (SCHP's confusion matrix): --pred a
                   folder of <id>.png class-id maps at the original size, --gt val_segmentations/
  reconstruction-error
                   3DPW reconstruction error (PA-MPJPE) and MPJPE in mm on the 14 LSP joints from
                   J_regressor_h36m, pelvis-relative (SPIN's protocol): --pred an .npz of SMPL pose
                   (N, 72) axis-angle or (N, 24, 3, 3) and betas (N, 10), posed on the neutral model;
                   --gt SPIN's 3dpw_test.npz (pose, shape, gender: male/female models) or the one a
                   pw3d-shape run writes; either may instead be an .npy of (N, 14, 3) joints in mm.
                   The body models: the smpl root of suite.toml or SUITE_SMPL_ROOT"""


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
    if metric == "reconstruction-error":
        from suite.evaluate.reconstruction import evaluate_files as reconstruction

        return reconstruction(pred, gt)
    if metric == "parsing":
        from suite.evaluate.parsing import evaluate_files as parsing

        return parsing(pred, gt)
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
