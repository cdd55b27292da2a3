"""Provenance: what a report, a card, a scored file or a fitted priors file came from (the
priors file's title and SHA-256, the kneebayes version, the date and, where there is one,
the data file and its SHA-256), so that a methods section can cite it by hash.

>>> from kneebayes import load_model
>>> from kneebayes.provenance import provenance
>>> provenance(load_model().config).priors_sha256[:8]  # doctest: +SKIP
'4f72cd59'
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from .config import PriorsConfig

__all__ = ["Provenance", "file_sha256", "priors_sha256", "provenance"]

_BLOCK = 1 << 20


def file_sha256(path: str | Path) -> str:
    """The SHA-256 of a file's bytes, read in blocks (data files can be large)."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while block := stream.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def priors_sha256(config: PriorsConfig) -> tuple[str, str]:
    """The SHA-256 of the priors file a config was read from, and what was hashed: the file
    itself, or (for a config with no file of its own, such as a fitted one not yet written)
    the priors file :func:`kneebayes.writer.write_toml` would write for it."""
    path = Path(config.path)
    if path.is_file():
        return file_sha256(path), path.name
    import tomli_w

    from .writer import config_to_data

    text = tomli_w.dumps(config_to_data(config))
    return hashlib.sha256(text.encode("utf-8")).hexdigest(), f"{config.path} (as TOML)"


@dataclass(frozen=True)
class Provenance:
    """Where an output came from.

    Attributes
    ----------
    priors_title, priors_file, priors_sha256 : str
        The model: its title, the file hashed (its name, or a note that the in-memory model
        was hashed as TOML) and the SHA-256.
    kneebayes_version : str
    generated : str
        UTC date and time, ISO 8601.
    data_file, data_sha256 : str or None
        The data file the output was computed from, and its SHA-256.
    """

    priors_title: str
    priors_file: str
    priors_sha256: str
    kneebayes_version: str
    generated: str
    data_file: str | None = None
    data_sha256: str | None = None

    def to_dict(self) -> dict[str, str]:
        """The fields that are set, as strings (for JSON, Parquet metadata and TOML)."""
        return {k: v for k, v in asdict(self).items() if v is not None}

    def markdown(self) -> list[str]:
        """The provenance as Markdown bullet lines, for a report's or card's header."""
        from .summary import markdown_text

        lines = [f"- Model: *{markdown_text(self.priors_title)}*, "
                 f"`{markdown_text(self.priors_file)}`, SHA-256 `{self.priors_sha256}`",
                 f"- kneebayes {self.kneebayes_version}, generated {self.generated} (UTC)"]
        if self.data_file is not None:
            lines.append(f"- Data: `{markdown_text(self.data_file)}`, SHA-256 "
                         f"`{self.data_sha256}`")
        return lines


def provenance(config: PriorsConfig, data: str | Path | None = None) -> Provenance:
    """The provenance of an output computed with `config` (and from the file `data`)."""
    from . import __version__

    digest, hashed = priors_sha256(config)
    return Provenance(
        priors_title=config.title, priors_file=hashed, priors_sha256=digest,
        kneebayes_version=__version__,
        generated=datetime.now(UTC).isoformat(timespec="seconds"),
        data_file=None if data is None else Path(data).name,
        data_sha256=None if data is None else file_sha256(data),
    )
