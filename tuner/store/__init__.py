"""Results on disk: the trials ledger, the best config, the results table (no Ray import).

<storage>/<name>/
    experiment.json   the validated experiment (so best / train / status need no file)
    trials.json       one record per trial: config, best metrics, epochs, status
    trials.csv        the same as a table with config/<param> columns
    best.toml         the best trial's config and metrics
"""

from tuner.store.best import best_document, best_record, read_config_file, write_best
from tuner.store.records import TrialRecord, load_records, save_records
from tuner.store.storage import find_experiment, storage_root
from tuner.store.summary import Summary, best_of, experiments, summarize
from tuner.store.table import check_output, export_table, table, write_table
from tuner.store.toml import to_toml, toml_value

__all__ = [
    "Summary",
    "TrialRecord",
    "best_of",
    "best_document",
    "best_record",
    "check_output",
    "experiments",
    "export_table",
    "find_experiment",
    "load_records",
    "read_config_file",
    "save_records",
    "storage_root",
    "summarize",
    "table",
    "to_toml",
    "toml_value",
    "write_best",
    "write_table",
]
