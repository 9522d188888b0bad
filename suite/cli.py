"""`python -m suite`: the command line. Every verb has --help; user errors print without a traceback."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from suite.errors import SuiteError


def _skeletons(args: argparse.Namespace) -> int:
    import io

    import numpy as np

    from suite.data.images import atomic_write_bytes
    from suite.data.kinematic_prior import sample_skeletons

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
    from suite.data.coco import write_crops

    index = write_crops(args.coco, args.out, split=args.split, require_keypoints=not args.all_persons)
    print(f"crops and their index: {index}")
    return 0


def _check(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    from suite.config import dataset_roots
    from suite.data.check import check_all

    rows = check_all(dataset_roots(args.root))
    table = [(row.dataset, row.status, row.root or "-", row.detail, row.fix) for row in rows]
    headers = ("dataset", "status", "root", "found / expected", "fix")
    print(tabulate(table, headers=headers, tablefmt="github"))
    return 1 if any(row.status == "invalid" for row in rows) else 0


def _pretrain(args: argparse.Namespace) -> int:
    from suite.pretrain.run import pretrain

    changes = dict(setting.split("=", 1) for setting in args.set)
    checkpoint = pretrain(
        args.method,
        args.data,
        args.profile,
        args.out,
        init=args.init,
        max_steps=args.max_steps,
        seed=args.seed,
        resume=args.resume,
        variant=args.variant,
        batch_size=args.batch_size,
        changes={key: _literal(value) for key, value in changes.items()},
    )
    print(f"checkpoint: {checkpoint}")
    return 0


def _literal(text: str):
    """A --set value: a Python literal if it parses as one (numbers, booleans, None), else the string."""
    import ast

    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _eval(args: argparse.Namespace) -> int:
    import json

    from suite.evaluate.mpjpe import evaluate_files

    result = evaluate_files(args.metric, args.pred, args.gt)
    print(json.dumps(result) if args.json else f"{args.metric.upper()}: {next(iter(result.values())):.2f} mm")
    return 0


def _export(args: argparse.Namespace) -> int:
    from suite.export import export

    report = export(args.checkpoint, args.to, args.out, expected_format=args.format, trust=args.trust)
    print(report)
    print(f"wrote {args.out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m suite",
        description="Reproduce the LiftedCL paper's tables: pre-train, fine-tune, evaluate, report.",
    )
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

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

    crops = data_verbs.add_parser("crops", help="COCO human crops for pre-training (paper appendix A)")
    crops.add_argument("--coco", type=Path, required=True, help="COCO root (annotations/, images/)")
    crops.add_argument("--out", type=Path, required=True, help="folder for the crops and their index")
    crops.add_argument("--split", default="train2017", help="annotation split (default train2017)")
    crops.add_argument(
        "--all-persons",
        action="store_true",
        help="also crop persons without labelled keypoints "
        "(about 257k on train2017 instead of the paper's ~150k)",
    )
    crops.set_defaults(run=_crops)

    check = data_verbs.add_parser("check", help="one row per dataset: valid / missing / invalid, and the fix")
    check.add_argument("--root", type=Path, help="check a SynthHuman tree instead of the configured roots")
    check.set_defaults(run=_check)

    pretrain = verbs.add_parser("pretrain", help="pre-train a backbone with a registered method")
    pretrain.add_argument("--method", required=True, help="liftedcl, moco-v2, densecl, pixpro, or yours")
    pretrain.add_argument(
        "--data", type=Path, required=True, help="ImageFolder tree, COCO crops folder, or flat image folder"
    )
    pretrain.add_argument("--profile", default="paper", choices=("paper", "demo"))
    pretrain.add_argument("--out", type=Path, required=True, help="run folder (checkpoints, logs, figures)")
    pretrain.add_argument("--init", type=Path, help="start the backbone from this checkpoint (stage II)")
    pretrain.add_argument("--max-steps", type=int, help="stop after N steps (same schedule)")
    pretrain.add_argument("--seed", type=int, default=0)
    pretrain.add_argument("--batch-size", type=int, help="global batch (default: the profile's)")
    pretrain.add_argument(
        "--variant",
        help="a named variant of the method's settings, e.g. liftedcl's 'official'",
    )
    pretrain.add_argument("--resume", action="store_true", help="continue from the last checkpoint, if any")
    pretrain.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="change one of the method's settings, e.g. --set losses=inv+equiv or --set queue_size=65536",
    )
    pretrain.set_defaults(run=_pretrain)

    from suite.evaluate.mpjpe import METRICS

    evaluate = verbs.add_parser("eval", help="metrics on your own prediction files")
    evaluate.add_argument("metric", choices=sorted(METRICS), help="MPJPE, or after Procrustes alignment")
    evaluate.add_argument("--pred", type=Path, required=True, help="(N, J, 3) .npy, millimetres")
    evaluate.add_argument("--gt", type=Path, required=True, help="(N, J, 3) .npy, millimetres")
    evaluate.add_argument("--json", action="store_true", help='print {"mpjpe": ...} / {"pa_mpjpe": ...}')
    evaluate.set_defaults(run=_eval)

    from suite.baselines.importers import FORMATS
    from suite.export import TARGETS

    export = verbs.add_parser("export", help="a pre-trained backbone as a torchvision or mmpose checkpoint")
    export.add_argument(
        "checkpoint", type=Path, help="ours, or an official MoCo/LiftedCL/ReSim/PixPro/DenseCL file"
    )
    export.add_argument("--to", choices=TARGETS, required=True)
    export.add_argument("--out", type=Path, required=True)
    export.add_argument("--format", choices=FORMATS, help="the checkpoint's format (default: detected)")
    export.add_argument(
        "--trust", action="store_true", help="allow Python objects in the file (only for files you trust)"
    )
    export.set_defaults(run=_export)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except SuiteError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
