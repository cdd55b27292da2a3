"""Your own data as it comes: a column map renames a file's columns to the model's ids (age
in years renamed to ``age`` is read through its bands), keeps the columns the model does not
know that should pass through to the output, and can ignore every other unknown column.

A column map file (TOML)::

    [rename]                      # file column = model id
    "Age (years)" = "age"
    "Groin pain" = "groin_pain"

    [keep]                        # passed through to the scored file, as they came in
    columns = ["visit_date", "clinician"]

    ignore_extra = true           # drop any other column the model does not know
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .config import PriorsConfig, read_toml
from .errors import ConfigError, EvidenceError, suggest

__all__ = ["ColumnMap", "read_column_map"]

_KIND = "column map file"


@dataclass(frozen=True)
class ColumnMap:
    """How a file's columns become the model's.

    Attributes
    ----------
    rename : mapping of str to str
        File column -> model id.
    keep : tuple of str
        Columns (file names) the model does not know, passed through to a scored file.
    ignore_extra : bool
        Drop every other column the model does not know, instead of refusing it.
    """

    rename: Mapping[str, str] = field(default_factory=dict)
    keep: tuple[str, ...] = ()
    ignore_extra: bool = False

    def check(self, config: PriorsConfig, where: str = "column map") -> None:
        """Refuse renames to ids the model does not have."""
        known = set(config.nodes)
        bad = [f"{where}: rename.{name!r} = {target!r}: not an id of the model."
               + suggest(target, known)
               for name, target in self.rename.items() if target not in known]
        if bad:
            raise EvidenceError("\n".join(bad))

    def apply(self, frame: pd.DataFrame, config: PriorsConfig, labels: Sequence[str] = (),
              where: str = "cases") -> tuple[pd.DataFrame, pd.DataFrame]:
        """Split `frame` into the model's columns (renamed) and the kept ones.

        Parameters
        ----------
        frame : pandas.DataFrame
        config : PriorsConfig
        labels : sequence of str
            Other columns to leave in the first frame (an evaluation's label columns).
        where : str
            The file's name, for errors.

        Returns
        -------
        (pandas.DataFrame, pandas.DataFrame)
            The columns for the model (with any unknown column left in, to be refused,
            unless `ignore_extra`), and the kept columns, as they came in.
        """
        self.check(config)
        missing = [c for c in self.keep if c not in frame.columns]
        if missing:
            raise EvidenceError(f"{where}: keep.columns {missing} are not columns of the file; "
                                f"its columns are {list(frame.columns)[:8]}.")
        kept = frame[list(self.keep)]
        renamed = frame.drop(columns=list(self.keep)).rename(columns=dict(self.rename))
        if self.ignore_extra:
            wanted = set(config.nodes) | set(labels)
            renamed = renamed[[c for c in renamed.columns if c in wanted]]
        return renamed, kept


def read_column_map(path: str | Path) -> ColumnMap:
    """Read a column map file (see the module docstring).

    Raises
    ------
    ConfigError
        Naming the file and the key of every malformed entry.
    """
    data = read_toml(path, _KIND)
    problems = [f"{key}: unknown key; expected rename, keep or ignore_extra."
                for key in set(data) - {"rename", "keep", "ignore_extra"}]
    rename = data.get("rename", {})
    if not isinstance(rename, dict) or not all(isinstance(v, str) for v in rename.values()):
        problems.append(f'rename: expected a table of "file column" = "model id", got '
                        f"{rename!r}.")
        rename = {}
    if isinstance(data.get("keep"), dict):
        # a key written after [keep] belongs to it: ignore_extra there would do nothing
        problems += [f"keep.{key}: unknown key; [keep] takes columns only (write "
                     f"{key} before any [table] to set it for the whole map)."
                     for key in set(data["keep"]) - {"columns"}]
        keep = data["keep"].get("columns", [])
    else:
        keep = data.get("keep", [])
    if not isinstance(keep, list) or not all(isinstance(c, str) for c in keep):
        problems.append(f"keep.columns: expected an array of column names, got {keep!r}.")
        keep = []
    ignore = data.get("ignore_extra", False)
    if not isinstance(ignore, bool):
        problems.append(f"ignore_extra: expected true or false, got {ignore!r}.")
    if problems:
        raise ConfigError(str(path), problems, _KIND)
    return ColumnMap(dict(rename), tuple(keep), bool(ignore))
