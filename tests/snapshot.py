"""The one normaliser between a synthesized template and its snapshot.

It replaces only what changes without a change in the constructs: asset hashes and
CDK-version noise (the bootstrap-version parameter and rule). Everything else,
logical ids included, is kept so that a snapshot diff shows real changes.
"""

from __future__ import annotations

import re
from typing import Any

ASSET_HASH = re.compile(r"\b[0-9a-f]{64}\b")
ASSET_PLACEHOLDER = "<asset-hash>"
VERSION_NOISE_PARAMETERS = ("BootstrapVersion",)
VERSION_NOISE_RULES = ("CheckBootstrapVersion",)


def normalise(template: dict[str, Any]) -> dict[str, Any]:
    """Return a copy of ``template`` with asset hashes and CDK-version noise replaced."""
    result = _replace_hashes(template)
    for section, names in (
        ("Parameters", VERSION_NOISE_PARAMETERS),
        ("Rules", VERSION_NOISE_RULES),
    ):
        entries = result.get(section)
        if isinstance(entries, dict):
            for name in names:
                entries.pop(name, None)
            if not entries:
                result.pop(section)
    return result


def _replace_hashes(value: Any) -> Any:
    if isinstance(value, str):
        return ASSET_HASH.sub(ASSET_PLACEHOLDER, value)
    if isinstance(value, dict):
        return {key: _replace_hashes(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_replace_hashes(item) for item in value]
    return value
