"""`python -m suite pretrain`: pre-train a backbone with a method of the catalogue."""

from __future__ import annotations

import argparse
from pathlib import Path

from suite.cli.common import catalogue_verb, typed_changes
from suite.pretrain.catalog import METHODS
from suite.profiles import PROFILES


def add_parser(verbs: argparse._SubParsersAction) -> None:
    pretrain = catalogue_verb(
        verbs,
        "pretrain",
        "pre-train a backbone with a registered method",
        METHODS,
        "--method",
        "%(choices)s, or yours (a plugin's; each method's settings are listed below)",
    )
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


def _pretrain(args: argparse.Namespace) -> int:
    changes = typed_changes(METHODS, args.method, args.set, args.profile, args.variant)

    from suite.pretrain.run import pretrain

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
        changes=changes,
    )
    print(f"checkpoint: {checkpoint}")
    return 0
