"""`python -m suite`: the command line. Every verb has --help; user errors print without a traceback."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from suite.errors import SuiteError
from suite.profiles import PROFILES

RESULTS = Path(__file__).resolve().parents[1] / "results"


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
        epochs=args.epochs,
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


def _table_plan(args: argparse.Namespace):
    """The plan of --table at --profile in --workdir, with the extra methods' rows."""
    from suite.plan import make_plan
    from suite.profiles import run_profile
    from suite.store import workdir
    from suite.tables import table, with_extra_methods

    spec = with_extra_methods(table(args.table), tuple(args.extra_method))
    return make_plan(spec, run_profile(args.profile), workdir(args.workdir), tuple(args.seeds))


def _plan(args: argparse.Namespace) -> int:
    from suite.launch import plan_states
    from suite.show import plan_table

    plan = _table_plan(args)
    print(plan_table(plan, plan_states(plan)))
    return 0


def _run(args: argparse.Namespace) -> int:
    from suite.cluster import read_cluster
    from suite.launch import default_executor, launch, plan_states
    from suite.report import report
    from suite.show import plan_table

    plan = _table_plan(args)
    executor = args.executor or default_executor()
    cluster = read_cluster(args.cluster) if executor == "slurm" else None
    print(plan_table(plan, plan_states(plan)))
    print(f"executor: {executor}" + (f", cluster profile {cluster.path}" if cluster else ""))
    complete = launch(plan, executor, cluster, wait=args.wait, poll_s=args.poll)
    if executor == "slurm" and not args.wait:
        print(
            f"submitted; follow with `python -m suite status --table {args.table} --profile {args.profile}`"
            f", then `python -m suite report --table {args.table} --profile {args.profile}`"
        )
        return 0
    paths = report(plan, args.results)
    print(f"wrote {', '.join(map(str, paths))}")
    if not complete:
        print(f"not every run finished: `python -m suite status --table {args.table}` says why")
    return 0 if complete else 1


def _status(args: argparse.Namespace) -> int:
    from suite.launch import plan_states
    from suite.show import plan_table, workdir_table

    if args.table is None:
        from suite.store import workdir

        print(workdir_table(workdir(args.workdir)))
        return 0
    plan = _table_plan(args)
    print(plan_table(plan, plan_states(plan), logs=True))
    return 0


def _report(args: argparse.Namespace) -> int:
    from suite.report import report

    paths = report(_table_plan(args), args.results)
    print(f"wrote {', '.join(map(str, paths))}")
    return 0


def _finetune(args: argparse.Namespace) -> int:
    import json

    from suite.finetune.run import finetune, task_data

    changes = {key: _literal(value) for key, value in (s.split("=", 1) for s in args.set)}
    metrics = finetune(
        args.task,
        task_data(args.task, args.data),
        args.profile,
        args.out,
        init=args.init,
        seed=args.seed,
        resume=True,
        max_steps=args.max_steps,
        changes=changes,
    )
    print(json.dumps(metrics, indent=2))
    return 0


def _seeds(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


def _table_arguments(parser: argparse.ArgumentParser, required: bool = True) -> None:
    parser.add_argument("--table", type=int, required=required, help="the paper's table, 1-9")
    parser.add_argument("--profile", default="paper", choices=PROFILES, help="default: paper")
    parser.add_argument(
        "--workdir", type=Path, help="runs and the lock (default $SUITE_WORKDIR, else ./work)"
    )
    parser.add_argument(
        "--seeds", type=_seeds, default=[0], help="fine-tuning seeds, e.g. 0,1,2 (default 0): mean ± std"
    )
    parser.add_argument(
        "--extra-method",
        action="append",
        default=[],
        metavar="NAME",
        help="add a row for a registered method (on COCO crops from MoCo-v2's IN weights, as LiftedCL)",
    )


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
    pretrain.add_argument("--profile", default="paper", choices=PROFILES)
    pretrain.add_argument("--out", type=Path, required=True, help="run folder (checkpoints, logs, figures)")
    pretrain.add_argument("--init", type=Path, help="start the backbone from this checkpoint (stage II)")
    pretrain.add_argument("--max-steps", type=int, help="stop after N steps (same schedule)")
    pretrain.add_argument("--seed", type=int, default=0)
    pretrain.add_argument("--batch-size", type=int, help="global batch (default: the profile's)")
    pretrain.add_argument("--epochs", type=int, help="epochs of the schedule (default: the profile's)")
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

    plan = verbs.add_parser("plan", help="the runs a table needs: done or to run, estimated device-hours")
    _table_arguments(plan)
    plan.set_defaults(run=_plan)

    run = verbs.add_parser("run", help="run a table end to end: pre-train, fine-tune, evaluate, report")
    _table_arguments(run)
    run.add_argument(
        "--executor",
        choices=("slurm", "local", "debug"),
        help="default: slurm when sbatch is reachable, else local (local and debug always wait)",
    )
    run.add_argument("--cluster", default="example", help="slurm/NAME.yaml or a YAML file (default: example)")
    run.add_argument("--wait", action="store_true", help="follow the SLURM jobs to the end, then report")
    run.add_argument("--poll", type=float, default=5.0, help="seconds between checks of the jobs (default 5)")
    run.add_argument("--results", type=Path, default=RESULTS, help="where tableN.md goes (default results/)")
    run.set_defaults(run=_run)

    status = verbs.add_parser("status", help="each run: done / running / queued / failed, and failures' logs")
    _table_arguments(status, required=False)
    status.set_defaults(run=_status)

    report = verbs.add_parser("report", help="write results/tableN.md and its figure from the run records")
    _table_arguments(report)
    report.add_argument("--results", type=Path, default=RESULTS, help="default: the repository's results/")
    report.set_defaults(run=_report)

    finetune = verbs.add_parser("finetune", help="fine-tune and evaluate a backbone on a downstream task")
    finetune.add_argument("--task", required=True, help="h36m-3d, or another registered task")
    finetune.add_argument(
        "--init", type=Path, help="backbone checkpoint (any supported format); none: random"
    )
    finetune.add_argument(
        "--data", type=Path, help="the task's dataset root, or a SynthHuman tree (default: suite.toml)"
    )
    finetune.add_argument("--profile", default="paper", choices=PROFILES)
    finetune.add_argument("--out", type=Path, required=True, help="run folder (resumes what it holds)")
    finetune.add_argument("--seed", type=int, default=0)
    finetune.add_argument("--max-steps", type=int, help="stop training after N steps (same schedule)")
    finetune.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a task setting")
    finetune.set_defaults(run=_finetune)

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
