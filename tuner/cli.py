"""The `tuner` command. Parses arguments and calls the library; imports torch/Ray only on use.

Exit codes: 0 done, 1 the run failed, 2 bad input (nothing started).
"""

from __future__ import annotations

import argparse
import sys

from tuner.errors import UserError

EPILOG = """examples:
  tuner run experiments/digits_cnn.toml              tune the default experiment
  tuner run experiments/digits_cnn.toml --samples 8 --epochs 5 --dry-run
  tuner resume digits_cnn                            continue an interrupted run
  tuner status                                       experiments and their trials
  tuner best digits_cnn -o best.toml                 the best config with its metrics
  tuner train experiments/digits_cnn.toml --config best.toml
  tuner space cnn                                    priors and size of a search space
  tuner board digits_cnn                             TensorBoard on 127.0.0.1

exit codes: 0 done, 1 the run failed, 2 bad input (nothing started)"""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2, like every other bad input
        raise UserError(f"{self.prog}: {message} (see {self.prog} --help)")


def _positive(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer, but got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, but got {text!r}")
    return v


def _seed(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a non-negative integer, but got {text!r}"
        ) from None
    if not 0 <= v < 2**32:
        raise argparse.ArgumentTypeError(f"must be between 0 and 2**32-1, but got {text!r}")
    return v


def build_parser() -> argparse.ArgumentParser:
    from tuner.experiment import SCHEDULERS, SEARCHERS

    p = _Parser(
        prog="tuner",
        description="Hyperparameter search for PyTorch models on Ray Tune.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version="tuner 0.1.0")
    sub = p.add_subparsers(dest="verb", metavar="VERB", parser_class=_Parser)

    r = sub.add_parser("run", help="tune an experiment file")
    r.add_argument("experiment", help="experiment file, e.g. experiments/digits_cnn.toml")
    r.add_argument("--samples", type=_positive, help="number of trials")
    r.add_argument("--epochs", type=_positive, help="max epochs per trial")
    r.add_argument("--searcher", choices=SEARCHERS)
    r.add_argument("--scheduler", choices=SCHEDULERS)
    r.add_argument("--metric", help="metric to optimize (val_loss, accuracy, f1)")
    r.add_argument("--mode", choices=("min", "max"))
    r.add_argument("--seed", type=_seed)
    r.add_argument("--max-concurrent", type=_positive, help="trials at a time (default: all CPUs)")
    r.add_argument("--time-budget", type=_positive, metavar="SECONDS",
                   help="stop the search after this many seconds of wall time")
    r.add_argument("--name", help="experiment name (default: the file's name)")
    r.add_argument("--storage", help="results root (default: $TUNER_STORAGE or ./results)")
    r.add_argument(
        "--address", help="join a running Ray cluster: auto, HOST:PORT or ray://HOST:PORT"
    )
    r.add_argument(
        "--overwrite", action="store_true", help="replace an existing experiment folder"
    )
    r.add_argument(
        "--dry-run", action="store_true", help="validate and print the plan; start nothing"
    )

    rs = sub.add_parser("resume", help="continue an interrupted experiment")
    rs.add_argument("name", help="experiment name or folder")
    rs.add_argument("--storage")
    rs.add_argument("--address", help="Ray cluster to run on (default: a local Ray on 127.0.0.1)")

    s = sub.add_parser("space", help="show the priors and size of a search space")
    s.add_argument("name", help="space module (cnn, mlp) or an experiment file")

    b = sub.add_parser("best", help="print or write the best config of an experiment")
    b.add_argument("name", help="experiment name or folder")
    b.add_argument("-o", "--output", help="write it to FILE (.toml or .json)")
    b.add_argument("--storage")

    st = sub.add_parser("status", help="experiments, their trials and the best so far")
    st.add_argument("name", nargs="?")
    st.add_argument("--storage")

    t = sub.add_parser("train", help="final training with a config; one test-set evaluation")
    t.add_argument("experiment", help="experiment file")
    src = t.add_mutually_exclusive_group(required=True)
    src.add_argument("--config", help="config file written by `tuner best -o`")
    src.add_argument("--from", dest="from_name", help="take the best config of this experiment")
    t.add_argument(
        "--epochs", type=_positive, help="epochs (default: where the best trial peaked)"
    )
    t.add_argument("--seed", type=_seed)
    t.add_argument("--storage")
    t.add_argument("--out", help="output folder (default: <experiment folder>/final)")

    bd = sub.add_parser("board", help="TensorBoard on 127.0.0.1 for one experiment or all")
    bd.add_argument("name", nargs="?")
    bd.add_argument("--storage")
    bd.add_argument("--port", type=int, default=6006)
    bd.add_argument("--host", default="127.0.0.1", help="bind address (default: loopback only)")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if not args.verb:
            parser.print_help()
            return 2
        from tuner import commands

        return getattr(commands, f"cmd_{args.verb}")(args)
    except UserError as e:
        print(f"tuner: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ntuner: interrupted", file=sys.stderr)
        return 130
