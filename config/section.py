"""The base of every config section: strict, camelCase in YAML, unknown keys refused.

Pure: no Pulumi imports.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

from config.catalog import CatalogEntry

_COMMIT_HASH = re.compile(r"^[0-9a-f]{40}$")


def _commit_hash(value: str) -> str:
    if not _COMMIT_HASH.match(value):
        raise ValueError(
            "must be a full 40-character commit hash of the model repository (its 'Files and "
            "versions' history on the Hub), never a branch or tag, which can move"
        )
    return value


CommitHash = Annotated[str, AfterValidator(_commit_hash)]


class Section(CatalogEntry):
    """Every config section: camelCase keys, unknown keys rejected, immutable."""
