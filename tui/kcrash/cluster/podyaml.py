"""`kubectl get pod -o yaml`, with `metadata.managedFields` folded to one line.

managedFields is the bookkeeping of server-side apply: often longer than the rest of the pod and
of no help in an incident, so it is shown as one line naming its managers (k9s hides it too).
Keys are sorted as kubectl prints them. The pod holds no Secret data: a Secret it uses appears by
name only, in a volume or an env reference.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

FOLDED = "managedFields"


def folded_managed_fields(entries: list[Any]) -> str:
    """One line in place of the entries: how many, and which managers wrote them."""
    managers = sorted({str(e.get("manager", "?")) for e in entries if isinstance(e, Mapping)})
    return f"<{len(entries)} entries folded: {', '.join(managers) or 'no manager'}>"


def pod_yaml(pod: Mapping[str, Any]) -> str:
    """The pod as YAML, keys sorted, managedFields folded."""
    doc = dict(pod)
    meta = doc.get("metadata")
    if isinstance(meta, Mapping) and isinstance(meta.get(FOLDED), list):
        doc["metadata"] = {**meta, FOLDED: folded_managed_fields(meta[FOLDED])}
    text: str = yaml.safe_dump(
        doc, sort_keys=True, default_flow_style=False, allow_unicode=True, width=10_000
    )
    return text
