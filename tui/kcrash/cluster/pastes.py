"""Diagnose from what people paste: kubectl's text output turned into what `core.diagnose` reads.

    detect(text)                -> "objects" | "describe" | "get-pods" | "events" | "logs" | "unknown"
    parse_paste(text, name=...) -> PasteFacts: what one paste says
    combine(facts, now=...)     -> [PastedPod]: several pastes about one pod put together
    inputs_from_pastes(pairs, now) -> [DiagnosisInput]: (name, text) pairs ready for diagnose()
    quote_pasted(diagnosis, pasted_pod) -> Diagnosis: evidence quoting the pasted lines
    load_pastes(files, logs, stdin=..., now=...) -> LoadedPastes: files read, checked, put together

Parsing is pure; `load_pastes` is the one place that reads the files, for `kcrash diagnose --from`
and the console's `--from` alike (refusals are `PasteLoadError`, one line). Forms read:
`kubectl describe pod` (space- or tab-aligned, 1.10 to today, cut off anywhere, several pods),
`kubectl get pods` (-o wide, -A), `kubectl get events` (today's, -A, -o wide, and the old
LASTSEEN/FIRSTSEEN form), `kubectl events`, `kubectl logs` (with kubectl's own error lines read as
facts), and `kubectl get -o yaml|json` through `cluster.parse` (a bare `status:` stanza too). One
paste may hold several outputs one after another, each under its prompt line, or pieces of them
without prompts (event lines, YAML or JSON fragments, describe's State lines, `get pods -w` rows,
`oc status` findings, markdown tables of pods, errors quoted in a sentence), read block by block
(`paste.mixed`). A field selected on the command line (yq, jq, `-o jsonpath`) is put back where its
path says (`paste.selected`). `trouble_signs` tells which pods a paste asks about when none is failing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from kcrash.cluster.paste.combine import combine
from kcrash.cluster.paste.detect import detect
from kcrash.cluster.paste.evidence import quote_pasted
from kcrash.cluster.paste.facts import parse_paste
from kcrash.cluster.paste.load import (
    NAME_THE_LOG,
    STDIN,
    STDIN_NAME,
    LoadedPastes,
    OrphanLogError,
    PasteLoadError,
    label,
    load_pastes,
    matches_selector,
)
from kcrash.cluster.paste.model import (
    LogFacts,
    Missing,
    PastedEvent,
    PastedPod,
    PasteFacts,
    PasteKind,
    PodFacts,
    Skipped,
)
from kcrash.cluster.paste.trouble import crash_looping, trouble_signs
from kcrash.core.records import DiagnosisInput

__all__ = [
    "NAME_THE_LOG",
    "STDIN",
    "STDIN_NAME",
    "LoadedPastes",
    "LogFacts",
    "Missing",
    "OrphanLogError",
    "PasteFacts",
    "PasteKind",
    "PasteLoadError",
    "PastedEvent",
    "PastedPod",
    "PodFacts",
    "Skipped",
    "combine",
    "crash_looping",
    "detect",
    "inputs_from_pastes",
    "label",
    "load_pastes",
    "matches_selector",
    "parse_paste",
    "quote_pasted",
    "trouble_signs",
]


def inputs_from_pastes(texts: Sequence[tuple[str, str]], now: datetime) -> list[DiagnosisInput]:
    """(name, text) pairs -> one DiagnosisInput per pod they speak of.

    `now` is used only where no paste tells when it was taken; otherwise the input's `now` is the
    moment the pastes describe, so "last crash 2m ago" reads as the paste said it.
    """
    pasted = combine([parse_paste(text, name=name) for name, text in texts], now=now)
    return [pod.diagnosis_input(now) for pod in pasted]
