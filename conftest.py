"""Skip doctests of optional modules whose extras are not installed."""

import importlib.util

collect_ignore = []
if importlib.util.find_spec("torch") is None:
    collect_ignore.append("src/regionscope/torch_import.py")
if importlib.util.find_spec("matplotlib") is None:
    collect_ignore.append("src/regionscope/lab.py")
