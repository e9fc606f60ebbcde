"""A trial that raises, runs out of memory or diverges ends with its status and reason; the
others go on; exit 0 when some trial produced a result, 1 when every trial failed."""

from pathlib import Path

from tuner.store import load_records

# Trials take turns (in the order they build their model, counted in files in TURNS): train,
# raise, run out of memory, produce NaN outputs.
MODELS = '''
import os

from torch import nn

from tuner.models.mlp import build as mlp

TURNS = {turns!r}


def _turn():
    n = 0
    while True:
        try:
            os.close(os.open(os.path.join(TURNS, str(n)), os.O_CREAT | os.O_EXCL))
            return n
        except FileExistsError:
            n += 1


class NaNs(nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return self.inner(x) * float("nan")


def build(config, input_shape, n_outputs):
    kind = ("train", "raise", "oom", "nan")[_turn() % 4]
    if kind == "raise":
        raise RuntimeError("this layer stack is broken on purpose")
    if kind == "oom":
        raise MemoryError("could not allocate 12.0 GiB for the first layer")
    model = mlp(config, input_shape, n_outputs)
    return NaNs(model) if kind == "nan" else model
'''

EXPERIMENT = """
name = "{name}"
[data]
source = "digits"
[model]
factory = "failing_{name}:build"
[space]
module = "mlp"
[search]
searcher = "random"
scheduler = "fifo"
samples = {samples}
max_epochs = 2
seed = 1
[resources]
cpu = 1
"""


class Ran:
    def __init__(self, code: int, stdout: str, stderr: str):
        self.returncode, self.stdout, self.stderr = code, stdout, stderr


def _run(tmp_path, user_modules, tuner_cli, name, samples, first_turn=0):
    """`tuner run` (in this process, on the session's Ray: its workers import the module from
    `user_modules`), then `tuner status`."""
    turns = tmp_path / "turns"
    turns.mkdir()
    for n in range(first_turn):
        (turns / str(n)).touch()
    (user_modules / f"failing_{name}.py").write_text(MODELS.format(turns=str(turns)))
    (tmp_path / f"{name}.toml").write_text(EXPERIMENT.format(name=name, samples=samples))
    storage = tmp_path / "results"
    p = Ran(*tuner_cli("run", tmp_path / f"{name}.toml", "--storage", storage))
    status = Ran(*tuner_cli("status", name, "--storage", storage))
    return p, status, load_records(storage / name)


def test_failing_trials_end_with_reasons_and_the_others_go_on(tmp_path, ray_session,
                                                             user_modules, tuner_cli):
    p, status, records = _run(tmp_path, user_modules, tuner_cli, "mixed", 12)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "Traceback" not in p.stdout + p.stderr
    assert len(records) == 12
    raised = [r for r in records if "RuntimeError: this layer stack is broken on purpose"
              in r.reason]
    oom = [r for r in records if "MemoryError: could not allocate 12.0 GiB" in r.reason]
    nan = [r for r in records if r.status == "diverged"]
    done = [r for r in records if r.status == "completed"]
    assert min(len(raised), len(oom), len(nan), len(done)) >= 2  # every kind, the rest went on
    kinds = {id(r) for r in raised + oom + nan + done}
    odd = [(r.trial, r.status, r.epochs, r.reason) for r in records if id(r) not in kinds]
    assert not odd, f"trials outside the four kinds: {odd}\n{p.stdout[-4000:]}"
    assert all(r.status == "errored" and r.epochs == 0 for r in raised + oom)
    assert all(r.reason.startswith("loss became nan at epoch 1") for r in nan)
    assert all(r.epochs == 2 for r in done)
    summary = [ln for ln in p.stdout.splitlines() if ln.startswith("done in")][0]
    assert f"{len(raised) + len(oom)} errored" in summary
    assert f"{len(nan)} diverged" in summary
    assert "RuntimeError: this layer stack is broken on purpose" in p.stdout
    shown = p.stdout.split("full tracebacks: error.txt in each errored trial's folder, e.g. ")
    trace = Path(shown[1].splitlines()[0]).read_text()  # the whole traceback is there
    assert "failing_mixed.py" in trace and "in build" in trace
    failed = len(raised) + len(oom) + len(nan)
    assert f"{failed} failed" in status.stdout
    for r in raised + oom + nan:
        assert f"{r.trial}  {r.status}" in status.stdout and r.reason in status.stdout


def test_every_trial_failing_exits_1(tmp_path, ray_session, user_modules, tuner_cli):
    p, _, records = _run(tmp_path, user_modules, tuner_cli, "broken", 1, first_turn=1)
    assert p.returncode == 1, p.stdout + p.stderr
    assert [r.status for r in records] == ["errored"]
    assert "no trial produced a result: every trial diverged or errored" in p.stdout
