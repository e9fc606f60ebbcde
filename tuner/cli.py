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
  tuner submit experiments/digits_cnn.toml --address http://HEAD:8265 --follow
  tuner status                                       experiments and their trials
  tuner best digits_cnn -o best.toml                 the best config with its metrics
  tuner train experiments/digits_cnn.toml --config best.toml
  tuner space cnn                                    priors and size of a search space
  tuner board digits_cnn                             TensorBoard on 127.0.0.1

exit codes: 0 done, 1 the run failed, 2 bad input (nothing started)"""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2, like every other bad input
        raise UserError(f"{self.prog}: {message} (see {self.prog} --help)")


# what `tuner train` writes into its output folder, which it replaces on the next run
_FINAL_FILES = ("model.pt", "config.toml", "metrics.json", "events.out.tfevents", "seed_",
                "tokenizer.json")


def _out_folder(text: str) -> str:
    """--out of `tuner train`: replaced on every run, so it must be new, empty or its own."""
    from pathlib import Path

    try:
        p = Path(text).expanduser()
        if p.exists() and not p.is_dir():
            raise argparse.ArgumentTypeError(f"{text!r} is a file; give a folder for the model")
        other = sorted(q.name for q in p.iterdir() if not q.name.startswith(_FINAL_FILES)) \
            if p.is_dir() else []
    except (OSError, RuntimeError, ValueError) as e:  # unreadable, ~unknown_user, NUL byte
        raise argparse.ArgumentTypeError(f"{text!r} is no usable folder ({e})") from None
    if other:
        raise argparse.ArgumentTypeError(
            f"{text!r} holds files tuner did not write (e.g. {other[0]!r}) and would be "
            f"replaced; give a new or empty folder"
        )
    return text


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="tuner",
        description="Hyperparameter search for PyTorch models on Ray Tune.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version="tuner 0.1.0")
    sub = p.add_subparsers(dest="verb", metavar="VERB", parser_class=_Parser)
    _tuning_verbs(sub)
    _reading_verbs(sub)
    return p


def _tuning_verbs(sub) -> None:
    """run, submit and resume: the verbs that start trials."""
    from tuner.flags import FLAGS, positive

    # what `run` and `submit` share: the experiment and the flags that override it
    fl = argparse.ArgumentParser(add_help=False)
    fl.add_argument("experiment", help="experiment file, e.g. experiments/digits_cnn.toml")
    for flag in FLAGS.values():
        flag.add_to(fl)
    fl.add_argument(
        "--overwrite", action="store_true", help="replace an existing experiment folder"
    )

    r = sub.add_parser("run", parents=[fl], help="tune an experiment file")
    r.add_argument("--storage", help="results root: a folder, or a URI every node reaches "
                                     "(s3://bucket/path, gs://...); default: $TUNER_STORAGE "
                                     "or ./results")
    r.add_argument(
        "--address", help="join a running Ray cluster: auto, HOST:PORT or ray://HOST:PORT"
    )
    r.add_argument(
        "--dry-run", action="store_true", help="validate and print the plan; start nothing"
    )
    r.add_argument("--warm-start", metavar="NAME",
                   help="seed the searcher (hyperopt, optuna) with an earlier experiment's best "
                        "trials and their results")
    r.add_argument("--top", type=positive, default=10, metavar="K",
                   help="how many of its best trials --warm-start reuses (default 10)")

    sb = sub.add_parser("submit", parents=[fl], help="run an experiment as a Ray Job on a cluster")
    sb.add_argument("--address", help="the cluster's Ray Jobs API, e.g. http://HEAD:8265")
    sb.add_argument("--storage", help="results root as the cluster sees it: a URI "
                                      "(s3://bucket/path, passed unchanged) or a shared folder "
                                      "(default: $TUNER_STORAGE or ./results, absolute)")
    sb.add_argument("--follow", action="store_true",
                    help="stream the job's output until it ends; exit with its outcome")

    rs = sub.add_parser("resume", help="continue an interrupted experiment")
    rs.add_argument("name", help="experiment name or folder")
    rs.add_argument("--storage")
    rs.add_argument("--address", help="Ray cluster to run on (default: a local Ray on 127.0.0.1)")


def _reading_verbs(sub) -> None:
    """The verbs that read a space or an experiment's results, and final training."""
    from tuner.flags import count, positive

    s = sub.add_parser("space", help="show the priors and size of a search space")
    s.add_argument("name", help="space module (cnn, mlp) or an experiment file")

    b = sub.add_parser("best", help="print or write the best config of an experiment")
    b.add_argument("name", help="experiment name or folder")
    b.add_argument("-o", "--output", help="write it to FILE (.toml or .json)")
    b.add_argument("--storage")

    rp = sub.add_parser("report", help="an HTML report of what the search learned, with advice "
                                       "on the space")
    rp.add_argument("name", help="experiment name or folder")
    rp.add_argument("--storage")
    rp.add_argument("--out", help="output folder (default: <experiment folder>/report)")

    rs_ = sub.add_parser("results", help="one row per trial as a table (CSV or Parquet)")
    rs_.add_argument("name", help="experiment name or folder")
    rs_.add_argument("-o", "--output", required=True, help="trials.csv or trials.parquet")
    rs_.add_argument("--storage")

    st = sub.add_parser("status", help="experiments, their trials and the best so far")
    st.add_argument("name", nargs="?")
    st.add_argument("--storage")
    st.add_argument("--jobs", action="store_true",
                    help="only the jobs `tuner submit` started, with their state on the cluster")

    t = sub.add_parser("train", help="final training with a config; one test-set evaluation")
    t.add_argument("experiment", nargs="?",
                   help="experiment file (default with --from: the experiment as it was run)")
    src = t.add_mutually_exclusive_group(required=True)
    src.add_argument("--config", help="config file written by `tuner best -o`")
    src.add_argument("--from", dest="from_name", help="take the best config of this experiment")
    t.add_argument(
        "--epochs", type=positive, help="epochs (default: where the best trial peaked)"
    )
    t.add_argument("--seed", type=count)
    t.add_argument("--seeds", type=positive, default=None, metavar="N",
                   help="train N seeds of the config and save their ensemble (averaged "
                        "probabilities or forecasts): its test metrics, and each seed's mean ± "
                        "sd; default: as many as cost at most a quarter of the search's trial "
                        "epochs, up to 5")
    t.add_argument("--no-reference", dest="reference", action="store_false", default=None,
                   help="skip the off-the-shelf model (gradient boosting, MiniRocket, TF-IDF "
                        "+ logistic regression) fitted beside the tuned one on the same rows "
                        "(TUNER_REFERENCE=off does the same)")
    t.add_argument("--storage")
    t.add_argument("--out", type=_out_folder,
                   help="output folder, replaced (default: <experiment folder>/final)")

    pr = sub.add_parser("predict", help="classify new texts with a text model `tuner train` "
                                        "wrote")
    pr.add_argument("model", help="its final/ folder (or the experiment folder holding it)")
    pr.add_argument("texts", help="a UTF-8 text file, one text per line")

    bd = sub.add_parser("board", help="TensorBoard on 127.0.0.1 for one experiment or all")
    bd.add_argument("name", nargs="?")
    bd.add_argument("--storage")
    bd.add_argument("--port", type=int, default=6006)
    bd.add_argument("--host", default="127.0.0.1", help="bind address (default: loopback only)")


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
