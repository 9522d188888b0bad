"""`python -m suite finetune`: fine-tune and evaluate a backbone on a task of the catalogue."""

from __future__ import annotations

import argparse
from pathlib import Path

from suite.cli.common import catalogue_verb, typed_changes
from suite.finetune.catalog import TASKS
from suite.profiles import PROFILES


def add_parser(verbs: argparse._SubParsersAction) -> None:
    finetune = catalogue_verb(
        verbs,
        "finetune",
        "fine-tune and evaluate a backbone on a downstream task",
        TASKS,
        "--task",
        "%(choices)s, or another registered task (each task's settings are listed below)",
    )
    finetune.add_argument(
        "--init",
        type=Path,
        help="backbone checkpoint (any supported format, a fine-tuned model.pt too); none: random",
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


def _finetune(args: argparse.Namespace) -> int:
    changes = typed_changes(TASKS, args.task, args.set, args.profile)

    import json

    from suite.finetune.run import finetune, task_data

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
