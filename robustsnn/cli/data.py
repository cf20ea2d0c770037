"""``robustsnn data list | check | fetch``."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    data = sub.add_parser("data", help="list, check and fetch the datasets")
    verbs = data.add_subparsers(dest="verb", metavar="VERB")
    verbs.required = True

    p = verbs.add_parser("list", help="names, languages, classes and split sizes found")
    p.set_defaults(func=cmd_list)

    p = verbs.add_parser("check", help="validate files: header, UTF-8, labels, row counts")
    p.add_argument("names", nargs="*", help="datasets to check (default: all)")
    p.add_argument("--sha256", action="store_true", help="also compare with the published sha256")
    p.set_defaults(func=cmd_check)

    p = verbs.add_parser("fetch", help="download the public sources and rebuild the files (needs network)")
    p.add_argument("names", nargs="+", help="datasets to fetch (or 'all')")
    p.add_argument("--out", type=Path, default=None, help="target root (default: $ROBUSTSNN_DATA or ./data)")
    p.add_argument("--mirror", default=None,
                   help="base URL holding the raw files by name, instead of GitHub (file:// works)")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds per download")
    p.set_defaults(func=cmd_fetch)


def _names(names: list[str]) -> list[str]:
    from ..data.registry import DATASETS, get_dataset_spec

    if not names or names == ["all"]:
        return list(DATASETS)
    return [get_dataset_spec(n).name for n in names]


def cmd_list(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    from ..data.check import count_rows
    from ..data.registry import DATASETS
    from ..paths import data_dir

    root = data_dir()
    rows = []
    for spec in DATASETS.values():
        sizes = {s: count_rows(root / spec.name / f"{s}.tsv") for s in spec.splits}
        found = " ".join(f"{s}={n if n is not None else 'missing'}" for s, n in sizes.items())
        dev = "file" if spec.has_dev else "10% of train (stratified, seeded)"
        rows.append([spec.name, spec.language, spec.num_classes, found, dev, spec.max_len])
    print(f"data root: {root}")
    print(tabulate(rows, headers=["dataset", "lang", "classes", "splits found", "dev", "max_len"]))
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from ..data.check import check_datasets
    from ..errors import UserError
    from ..paths import data_dir

    root = data_dir()
    reports = check_datasets(_names(args.names), root, verify_sha256=args.sha256)
    bad = 0
    for r in reports:
        status = "ok" if not r.problems else "FAIL"
        print(f"{r.dataset}/{r.split}: {status} ({r.rows if r.rows is not None else '-'} rows)")
        for problem in r.problems:
            print(f"  {problem}")
        bad += bool(r.problems)
    if bad:
        raise UserError(f"{bad} of {len(reports)} split files in {root} failed the check")
    print(f"all {len(reports)} split files in {root} are valid")
    return 0


def cmd_fetch(args: argparse.Namespace) -> int:
    from ..data.fetch import fetch_dataset
    from ..paths import data_dir

    out = (args.out or data_dir()).resolve()
    for name in _names(args.names):
        for path in fetch_dataset(name, out, mirror=args.mirror, timeout=args.timeout):
            print(f"wrote {path} (sha256 verified)")
    return 0
