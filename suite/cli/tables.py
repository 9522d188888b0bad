"""`python -m suite plan | run | status | report | compare`: a paper table's runs, run end to end,
followed and reported, and two of its rows compared with a paired bootstrap interval per column.
`--table all` takes every table as one DAG, each run once, and adds results/README.md, the index.
Building the plan reads the torch-free catalogues; only `run`'s jobs import torch, and `run` itself to
check the --extra-weights files through the importers before it launches anything."""

from __future__ import annotations

import argparse
from pathlib import Path

from suite.orchestration.store import RESULTS
from suite.profiles import PROFILES


def add_parser(verbs: argparse._SubParsersAction) -> None:
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
    _reference_argument(run)
    run.set_defaults(run=_run)

    status = verbs.add_parser("status", help="each run: done / running / queued / failed, and failures' logs")
    _table_arguments(status, required=False)
    status.set_defaults(run=_status)

    report = verbs.add_parser("report", help="write results/tableN.md and its figure from the run records")
    _table_arguments(report)
    report.add_argument("--results", type=Path, default=RESULTS, help="default: the repository's results/")
    _reference_argument(report)
    report.set_defaults(run=_report)

    compare = verbs.add_parser(
        "compare",
        help="two rows of a table, per column: the difference, its 95%% bootstrap interval, verdict",
    )
    _table_arguments(compare)
    compare.add_argument(
        "--rows",
        required=True,
        metavar="A,B",
        help="the rows as printed, e.g. 'Ours IN+CC,Super. IN' (A alone: against the reference row)",
    )
    _reference_argument(compare)
    compare.set_defaults(run=_compare)


def _reference_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--reference",
        metavar="LABEL",
        help='the row differences are taken against (default: the paper\'s, "Super. IN" / "Supervise")',
    )


def _seeds(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


def _tables(text: str) -> tuple[int, ...]:
    from suite.tables import TABLES

    if text == "all":
        return tuple(TABLES)
    if text.isdigit() and int(text) in TABLES:
        return (int(text),)
    raise argparse.ArgumentTypeError(f"expected one of {', '.join(map(str, TABLES))} or all, got {text!r}")


def _label_file(text: str) -> tuple[str, str]:
    label, equals, path = text.partition("=")
    if not (equals and label.strip() and path):
        raise argparse.ArgumentTypeError(f"expected LABEL=FILE, got {text!r}")
    return label.strip(), str(Path(path).expanduser())


def _table_arguments(parser: argparse.ArgumentParser, required: bool = True) -> None:
    parser.add_argument(
        "--table", type=_tables, required=required, help="the paper's table, 1-9, or all of them: all"
    )
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
    parser.add_argument(
        "--extra-weights",
        action="append",
        default=[],
        type=_label_file,
        metavar="LABEL=FILE",
        help="add a row LABEL fine-tuned from the checkpoint FILE (any format `export` reads; keyed by "
        "its SHA-256, so FILE must stay readable for status and report)",
    )


def _table_plans(args: argparse.Namespace) -> list:
    """The plan of each --table at --profile in --workdir, with the rows of --extra-method and
    --extra-weights."""
    from suite.orchestration.plan import make_plan
    from suite.orchestration.store import workdir
    from suite.profiles import run_profile
    from suite.tables import table, with_extra_methods, with_extra_weights

    profile, root, seeds = run_profile(args.profile), workdir(args.workdir), tuple(args.seeds)
    tables = [
        with_extra_weights(
            with_extra_methods(table(number), tuple(args.extra_method)), tuple(args.extra_weights)
        )
        for number in args.table
    ]
    return [make_plan(spec, profile, root, seeds) for spec in tables]


def _one_plan(plans: list):
    """One table's plan, or every table's runs as one DAG."""
    from suite.orchestration.plan import combine

    return plans[0] if len(plans) == 1 else combine(plans)


def _plan(args: argparse.Namespace) -> int:
    from suite.orchestration.launch import plan_states
    from suite.orchestration.show import plan_table

    plan = _one_plan(_table_plans(args))
    print(plan_table(plan, plan_states(plan)))
    return 0


def _run(args: argparse.Namespace) -> int:
    from suite.orchestration.cluster import read_cluster
    from suite.orchestration.launch import default_executor, launch, plan_states
    from suite.orchestration.show import plan_table

    plans = _table_plans(args)
    plan = _one_plan(plans)
    _check_extra_weights(args)
    executor = args.executor or default_executor()
    cluster = read_cluster(args.cluster) if executor == "slurm" else None
    print(plan_table(plan, plan_states(plan)))
    print(f"executor: {executor}" + (f", cluster profile {cluster.path}" if cluster else ""))
    complete = launch(plan, executor, cluster, wait=args.wait, poll_s=args.poll)
    tables = "all" if len(plans) > 1 else str(plans[0].table.number)
    if executor == "slurm" and not args.wait:
        print(
            f"submitted; follow with `python -m suite status --table {tables} --profile {args.profile}`"
            f", then `python -m suite report --table {tables} --profile {args.profile}`"
        )
        return 0
    _write_reports(plans, args.results, args.reference)
    if not complete:
        print(f"not every run finished: `python -m suite status --table {tables}` says why")
    return 0 if complete else 1


def _check_extra_weights(args: argparse.Namespace) -> None:
    """Each --extra-weights file through the importers, its load report printed, before anything runs:
    a file that does not load into the profile's trunk stops `run` here (SuiteError, exit 2)."""
    if not args.extra_weights:
        return
    from suite.checkpoints.extra_weights import import_for
    from suite.profiles import finetune_profile

    arch = finetune_profile(args.profile).arch
    for label, path in args.extra_weights:
        _, report = import_for(path, arch)
        print(f"--extra-weights {label}:\n{report}")


def _status(args: argparse.Namespace) -> int:
    from suite.orchestration.launch import plan_states
    from suite.orchestration.show import plan_table, workdir_table

    if args.table is None:
        from suite.orchestration.store import workdir

        print(workdir_table(workdir(args.workdir)))
        return 0
    plan = _one_plan(_table_plans(args))
    print(plan_table(plan, plan_states(plan), logs=True))
    return 0


def _report(args: argparse.Namespace) -> int:
    _write_reports(_table_plans(args), args.results, args.reference)
    return 0


def _write_reports(plans: list, results: Path, reference: str | None = None) -> None:
    """Each table's page, CSV and figure; with several tables, the index of them all."""
    from suite.report import report
    from suite.results_index import write_index

    paths = [path for plan in plans for path in report(plan, results, reference)]
    if len(plans) > 1:
        paths.append(write_index(plans, results))
    print(f"wrote {', '.join(map(str, paths))}")


def _compare(args: argparse.Namespace) -> int:
    """Per column: A, B, A − B, its 95% paired bootstrap interval and A's verdict against B."""
    import pandas as pd

    from suite.differences import find_row, reference_row, row_difference, row_name
    from suite.errors import SuiteError
    from suite.report import DECIMALS, collect

    plans = _table_plans(args)
    if len(plans) != 1:
        raise SuiteError("compare takes one table", fix="pass --table N, not --table all")
    plan = plans[0]
    names = [name.strip() for name in args.rows.split(",") if name.strip()]
    if len(names) not in (1, 2):
        raise SuiteError(f"--rows {args.rows!r} names {len(names)} rows", fix="pass --rows A,B or --rows A")
    a = find_row(plan.table, names[0])
    b = find_row(plan.table, names[1]) if len(names) == 2 else reference_row(plan.table, args.reference)
    if b is None:
        raise SuiteError(f"Table {plan.table.number} has no reference row", fix="pass --rows A,B")
    frame = collect(plan, intervals=False)
    lines = []
    for column in plan.table.columns:
        mean_a, mean_b = (_mean(frame, label, column.name) for label in (a, b))
        compared = row_difference(plan, a, b, column)
        interval = compared.interval
        lines.append(
            {
                "column": column.name + (" ↓" if column.lower_is_better else " ↑"),
                row_name(a): _number(mean_a),
                row_name(b): _number(mean_b),
                "A − B": _number(mean_a - mean_b, signed=True),
                "95% interval": f"[{interval.low:+.{DECIMALS}f}, {interval.high:+.{DECIMALS}f}]"
                if interval
                else "-",
                "verdict": compared.verdict or compared.reason or "no number",
            }
        )
    print(
        f"Table {plan.table.number}: {row_name(a)} (A) against {row_name(b)} (B), profile {plan.profile.name}"
    )
    print(pd.DataFrame(lines).to_markdown(index=False, disable_numparse=True))
    return 0


def _mean(frame, label: tuple[str, ...], column: str) -> float:
    line = frame[(frame.row == label) & (frame.column == column)]
    return float(line.iloc[0]["mean"]) if len(line) else float("nan")


def _number(value: float, signed: bool = False) -> str:
    from suite.report import DECIMALS

    if value != value:  # NaN
        return "-"
    return f"{value + 0.0:+.{DECIMALS}f}" if signed else f"{value:.{DECIMALS}f}"
