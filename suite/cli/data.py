"""`python -m suite data ...`: synthesise, sample skeletons, crop, check."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(verbs: argparse._SubParsersAction) -> None:
    data = verbs.add_parser("data", help="datasets: synthesise, sample skeletons, crop, check")
    data_verbs = data.add_subparsers(dest="data_verb", required=True, metavar="ACTION")

    skeletons = data_verbs.add_parser(
        "skeletons", help="sample 3D skeletons from the kinematic prior (paper appendix B)"
    )
    skeletons.add_argument("--n", type=int, default=10000, help="how many skeletons (default 10000)")
    skeletons.add_argument("--seed", type=int, default=0)
    skeletons.add_argument("--out", type=Path, required=True, help="output .npy, (N, 17, 3) float32")
    skeletons.add_argument("--plot", type=Path, help="also draw a grid of skeletons to this image")
    skeletons.add_argument("--plot-count", type=int, default=24, help="skeletons in the grid (default 24)")
    skeletons.set_defaults(run=_skeletons)

    synth = data_verbs.add_parser("synth", help="write SynthHuman: synthetic humans in real dataset formats")
    synth.add_argument("--out", type=Path, required=True, help="root of the synthetic tree")
    synth.add_argument("--n", type=int, default=64, help="training persons/frames per dataset (default 64)")
    synth.add_argument("--seed", type=int, default=0)
    synth.set_defaults(run=_synth)

    crops = data_verbs.add_parser(
        "crops", help="human crops for pre-training (paper appendix A): COCO, or Human3.6M (Table 7)"
    )
    source = crops.add_mutually_exclusive_group(required=True)
    source.add_argument("--coco", type=Path, help="COCO root (annotations/, images/)")
    source.add_argument(
        "--h36m",
        type=Path,
        help="Human3.6M root in the RLE layout (annotations/Sample_trainmin_train_Human36M_protocol_2.json, "
        "images/): the training subjects S1, 5, 6, 7, 8 only",
    )
    crops.add_argument("--out", type=Path, required=True, help="folder for the crops and their index")
    crops.add_argument("--split", default="train2017", help="COCO annotation split (default train2017)")
    crops.add_argument(
        "--all-persons",
        action="store_true",
        help="COCO: also crop persons without labelled keypoints "
        "(about 257k on train2017 instead of the paper's ~150k)",
    )
    crops.add_argument(
        "--stride", type=int, default=1, help="Human3.6M: crop every N-th training frame (default 1: all)"
    )
    crops.set_defaults(run=_crops)

    check = data_verbs.add_parser("check", help="one row per dataset: valid / missing / invalid, and the fix")
    check.add_argument("--root", type=Path, help="check a SynthHuman tree instead of the configured roots")
    check.set_defaults(run=_check)


def _skeletons(args: argparse.Namespace) -> int:
    import io

    import numpy as np

    from suite.data.kinematic_prior import sample_skeletons
    from suite.io import atomic_write_bytes

    skeletons = sample_skeletons(args.n, args.seed)
    buffer = io.BytesIO()
    np.save(buffer, skeletons)
    atomic_write_bytes(args.out, buffer.getvalue())
    print(f"wrote {len(skeletons)} skeletons {skeletons.shape} to {args.out}")
    if args.plot:
        from suite.figures import skeleton_grid

        skeleton_grid(skeletons[: args.plot_count], args.plot, title="Randomly sampled 3D skeletons")
        print(f"drew {min(args.plot_count, len(skeletons))} of them in {args.plot}")
    return 0


def _synth(args: argparse.Namespace) -> int:
    from suite.data.synth import generate

    generate(args.out, n=args.n, seed=args.seed)
    print(f"SynthHuman (n={args.n}, seed={args.seed}) is in {args.out}")
    return 0


def _crops(args: argparse.Namespace) -> int:
    from suite.errors import SuiteError

    if args.h36m is not None and (args.all_persons or args.split != "train2017"):
        raise SuiteError("--split and --all-persons choose COCO persons", fix="leave them out with --h36m")
    if args.coco is not None and args.stride != 1:
        raise SuiteError("--stride subsamples Human3.6M frames", fix="leave it out with --coco")
    if args.h36m is not None:
        from suite.data.h36m_crops import write_h36m_crops

        index = write_h36m_crops(args.h36m, args.out, stride=args.stride)
    else:
        from suite.data.coco import write_crops

        index = write_crops(args.coco, args.out, split=args.split, require_keypoints=not args.all_persons)
    print(f"crops and their index: {index}")
    return 0


def _check(args: argparse.Namespace) -> int:
    """The table on stdout; each invalid dataset as an error on stderr, and exit 2 if there is one."""
    import sys

    from tabulate import tabulate

    from suite.config import dataset_roots
    from suite.data.check import check_all, check_synth_root

    if args.root is not None:
        check_synth_root(args.root)
    rows = check_all(dataset_roots(args.root))
    table = [(row.dataset, row.status, row.root or "-", row.detail, row.fix) for row in rows]
    headers = ("dataset", "status", "root", "found / expected", "fix")
    print(tabulate(table, headers=headers, tablefmt="github"))
    invalid = [row for row in rows if row.status == "invalid"]
    for row in invalid:
        print(f"error: {row.detail}\n  fix: {row.fix}", file=sys.stderr)
    return 2 if invalid else 0
