"""Searchers and schedulers by name: registries of builders that import Ray on use."""

from tuner.search.schedulers import SCHEDULERS, build_scheduler
from tuner.search.searchers import SEARCHERS, build_searcher

__all__ = ["SCHEDULERS", "SEARCHERS", "build_scheduler", "build_searcher"]
