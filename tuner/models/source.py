"""Source models for fine-tuning: the final/ folder `tuner train` writes, checked without torch.

A folder holds `model.pt` (a state_dict) and `config.toml` (the factory, config, input shape and
classes of the model). `read_source` checks it in the driver, before Ray starts, and says how to
make the folder when something is missing; `fit_space` gives the experiment's space the source's
number of conv blocks and the folder's path (the one thing about the source a trial carries).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tuner.errors import UserError, parse_problem

MODEL_FILE = "model.pt"
CONFIG_FILE = "config.toml"
SOURCE_FACTORIES = ("cnn",)  # factories whose models `finetune` knows how to cut into blocks
WEIGHTS_KEY = "weights"


@dataclass(frozen=True)
class Source:
    """What a final/ folder's config.toml says about the model in its model.pt."""

    folder: Path
    experiment: str
    factory: str
    config: dict
    input_shape: tuple
    classes: list
    seeds: int = 1  # several: model.pt holds their ensemble, seed_<i>/model.pt each

    @property
    def one_model(self) -> Path:
        """The file of one trained net (the first seed's when model.pt is an ensemble)."""
        return self.folder / ("seed_1" if self.seeds > 1 else "") / MODEL_FILE

    @property
    def blocks(self) -> int:
        """Conv blocks of the source model: what `freeze_blocks` counts."""
        return int(self.config["conv_blocks"])


def train_hint(folder: Path) -> str:
    """How to make the folder: `tuner train` of the experiment it is the final/ of."""
    folder = Path(folder)
    if folder.name == "final" and folder.parent.name not in ("", ".", ".."):
        name = folder.parent.name
        guess = Path("experiments") / f"{name}.toml"
        exp = str(guess) if guess.is_file() else "EXPERIMENT.toml"
        return f"run `tuner train {exp} --from {name}` first"
    return ("name the final/ folder `tuner train` writes, e.g. weights = "
            "\"results/digits04_cnn/final\" after `tuner train experiments/digits04_cnn.toml "
            "--from digits04_cnn`")


def _shape(v) -> tuple | None:
    if (isinstance(v, list) and v and all(isinstance(n, int) and not isinstance(n, bool) and n > 0
                                          for n in v)):
        return tuple(v)
    return None


def read_source(weights, *, where: str = "[model] weights",
                factories: tuple = SOURCE_FACTORIES) -> Source:
    """The source a weights folder holds, checked without torch; UserError naming the fix.
    `factories`: those whose models the reader takes (finetune's: cnn)."""
    import tomllib

    if not isinstance(weights, str) or not weights.strip() or "\x00" in weights:
        raise UserError(
            f"{where}: must be the path of the folder `tuner train` wrote, e.g. weights = "
            f"\"results/digits04_cnn/final\", but got {weights!r}"
        )
    try:
        folder = Path(weights).expanduser()
    except RuntimeError:  # ~user for a user this machine does not know
        raise UserError(f"{where}: {weights}: cannot expand {weights.split('/')[0]!r}: no such "
                        f"user's home folder; give the full path") from None
    hint = train_hint(folder)
    if not folder.exists():
        raise UserError(f"{where}: {weights}: no such folder (paths resolve from the current "
                        f"directory, {Path.cwd()}); {hint}")
    if not folder.is_dir():
        raise UserError(f"{where}: {weights}: is a file, not a folder; name the final/ folder "
                        f"that holds {MODEL_FILE} and {CONFIG_FILE}")
    for name in (MODEL_FILE, CONFIG_FILE):
        if not (folder / name).is_file():
            raise UserError(f"{where}: {folder / name}: not found; the folder must hold what "
                            f"`tuner train` writes ({MODEL_FILE}, {CONFIG_FILE}): {hint}")
    cfg = folder / CONFIG_FILE
    again = hint.replace(" first", " again")
    try:
        doc = tomllib.loads(cfg.read_bytes().decode("utf-8"))
    except OSError as e:
        raise UserError(f"{where}: {cfg}: cannot read it ({e.strerror})") from None
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise UserError(f"{where}: {cfg}: is not the TOML `tuner train` writes "
                        f"({parse_problem(e)}); {again}") from None
    config, shape, classes = doc.get("config"), _shape(doc.get("input_shape")), doc.get("classes")
    factory = doc.get("factory")
    if not (isinstance(config, dict) and shape and isinstance(classes, list) and classes
            and isinstance(factory, str)):
        raise UserError(f"{where}: {cfg}: lacks the factory, config, input_shape or classes "
                        f"`tuner train` writes; {again}")
    if factory not in factories:
        raise UserError(
            f"{where}: {cfg}: the source model was built by factory {factory!r}, but finetune "
            f"takes models of the {' or '.join(SOURCE_FACTORIES)} factory; tune and train a "
            f"cnn experiment and name its final/ folder" if factories == SOURCE_FACTORIES else
            f"{where}: {cfg}: the model was built by factory {factory!r}; this takes models of "
            f"the {' or '.join(factories)} factory")
    blocks = config.get("conv_blocks")
    if factory in SOURCE_FACTORIES and (isinstance(blocks, bool) or not isinstance(blocks, int)
                                        or blocks < 1):  # finetune cuts at its conv blocks
        raise UserError(f"{where}: {cfg}: config.conv_blocks must be a positive integer, but got "
                        f"{blocks!r}; {again}")
    experiment = doc.get("experiment") if isinstance(doc.get("experiment"), str) else ""
    seeds = doc.get("seeds", 1)
    seeds = seeds if isinstance(seeds, int) and not isinstance(seeds, bool) and seeds > 0 else 1
    if seeds > 1 and not (folder / "seed_1" / MODEL_FILE).is_file():
        raise UserError(f"{where}: {folder / 'seed_1' / MODEL_FILE}: not found; {cfg} says "
                        f"{seeds} seeds were trained, and `tuner train` writes each one's "
                        f"model in seed_<i>/: {again}")
    return Source(folder, experiment, factory, config, shape, classes, seeds)


def check_data(weights: str, input_shape: tuple, *, where: str) -> Source:
    """UserError unless data shaped `input_shape` fits the source model (before Ray starts)."""
    src = read_source(weights, where=where)
    if tuple(input_shape) != src.input_shape:
        raise UserError(
            f"{where}: the source model in {weights} takes inputs shaped "
            f"{'×'.join(map(str, src.input_shape))}, but [data] gives "
            f"{'×'.join(map(str, input_shape))}; fine-tune it on data shaped like its own"
        )
    return src


def fit_space(space, weights: str, *, user_set, path: str):
    """The experiment's space for a source: `freeze_blocks` up to the source's conv blocks
    (checked against them when the file sets it) and `weights` fixed to the folder's absolute
    path, which is how the path reaches every trial (and is recorded in every config)."""
    from tuner.spaces import Fixed, IntRange, SearchSpace
    from tuner.spaces.space import PerLayer, When

    src = read_source(weights, where=f"{path}: [model] weights")
    entries = dict(space.entries)
    if "freeze_blocks" in entries:
        if "freeze_blocks" in user_set:
            entry = entries["freeze_blocks"]
            prior = entry.prior if isinstance(entry, PerLayer | When) else entry
            top = max(prior.values()) if prior.discrete else prior.high
            if top > src.blocks:
                raise UserError(
                    f"{path}: [space] freeze_blocks: the source model in {weights} has "
                    f"{src.blocks} conv block(s), so at most {src.blocks}, but got up to {top}"
                )
        else:
            entries["freeze_blocks"] = IntRange(0, src.blocks)
    entries[WEIGHTS_KEY] = Fixed(str(src.folder.resolve()))
    return SearchSpace(entries, description=space.description, defaults=space.defaults)


def model_options(m: dict, factory: str, path: str, sources: bool) -> dict:
    """[model] weights: required by the finetune factory (the source's final/ folder, checked
    now and kept as an absolute path: it resolves from the current directory), else an error."""
    pretrained = {}
    if "pretrained" in m:
        value = m["pretrained"]
        if not isinstance(value, bool):
            raise UserError(f"{path}: [model] pretrained: must be true or false, but got "
                            f"{value!r}")
        if factory not in ("backbone", "auto"):
            raise UserError(f"{path}: [model] pretrained: only read by the backbone factory "
                            f"(ImageNet weights), but [model] factory = {factory!r}; remove "
                            f"it, or set factory = \"backbone\"")
        pretrained = {"pretrained": value}
    where = f"{path}: [model] weights"
    if factory != "finetune":
        if "weights" in m:
            raise UserError(
                f"{where}: only read by the finetune factory, but [model] factory = "
                f"{factory!r}; remove weights, or set factory = \"finetune\" to fine-tune the "
                f"model in that folder"
            )
        return pretrained
    if "weights" not in m:
        raise UserError(
            f"{where}: required with factory = \"finetune\": the folder `tuner train` wrote for "
            f"the source model, e.g. weights = \"results/digits04_cnn/final\""
        )
    weights = m["weights"]
    if sources:
        return {"weights": str(read_source(weights, where=where).folder.resolve())}
    if not isinstance(weights, str) or not weights.strip():
        raise UserError(f"{where}: must be a folder path, but got {weights!r}")
    return {"weights": weights}
