"""The incident write-up (Markdown) and the JSON form of a diagnosis."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from msgspec.structs import replace

from kcrash.cluster.parse import ParsedObjects, parse_objects
from kcrash.core.diagnose import diagnose
from kcrash.core.records import Diagnosis, DiagnosisInput, Event, Evidence, Pod
from kcrash.core.summary import diagnosis_json, incident_markdown

PODS = Path(__file__).resolve().parent.parent / "data" / "pods"
NOW = datetime(2026, 11, 20, 10, 30, tzinfo=UTC)


def recorded(name: str) -> tuple[ParsedObjects, Pod, Diagnosis, str | None]:
    parsed = parse_objects(orjson.loads((PODS / f"{name}.json").read_bytes()))
    pod = parsed.pods[0]
    log_path = PODS / f"{name}.previous.log"
    log = log_path.read_text() if log_path.exists() else None
    deployment = parsed.deployments[0] if parsed.deployments else None
    revisions = parsed.revisions_of(deployment) if deployment else ()
    inp = DiagnosisInput(
        pod=pod, now=NOW, events=parsed.events, previous_log=log, deployment=deployment, revisions=revisions
    )
    return parsed, pod, diagnose(inp), log


def markdown(name: str, **overrides: object) -> str:
    parsed, pod, diag, log = recorded(name)
    deployment = parsed.deployments[0] if parsed.deployments else None
    args: dict[str, object] = {
        "status": "CrashLoopBackOff",
        "events": parsed.events,
        "log_tail": log,
        "revisions": parsed.revisions_of(deployment) if deployment else (),
        "now": NOW,
    }
    args.update(overrides)
    return incident_markdown(pod, diag, **args)  # type: ignore[arg-type]


# --- JSON -------------------------------------------------------------------------------------------


def test_diagnosis_json_fields_and_types() -> None:
    _, pod, diag, _ = recorded("oom-leak")
    data = diagnosis_json(pod, diag, "CrashLoopBackOff", 4, 137)
    assert set(data) == {
        "namespace",
        "pod",
        "container",
        "status",
        "restarts",
        "exit_code",
        "cause",
        "detail",
        "headline",
        "evidence",
        "next_steps",
        "rollout_hint",
    }
    assert (data["namespace"], data["pod"], data["container"]) == (
        "crashlab",
        "oom-leak-7f6b5c4d9-r8tnm",
        "worker",
    )
    assert (data["status"], data["restarts"], data["exit_code"], data["cause"], data["detail"]) == (
        "CrashLoopBackOff",
        4,
        137,
        "oom-killed",
        "over-limit",  # no memory samples here to show the climb
    )
    assert data["evidence"][0] == {
        "source": "lastState.terminated",
        "quote": "exitCode: 137, reason: OOMKilled",
    }
    assert data["next_steps"] == list(diag.next_steps)
    assert orjson.loads(orjson.dumps(data)) == data  # plain JSON types only


def test_diagnosis_json_without_an_exit() -> None:
    _, pod, diag, _ = recorded("missing-secret")
    data = diagnosis_json(pod, diag, "CreateContainerConfigError", 0, None)
    assert (data["exit_code"], data["cause"], data["detail"], data["rollout_hint"]) == (
        None,
        "config-missing",
        "missing-secret",
        "",
    )


# --- Markdown ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "must_have"),
    [
        (
            "bad-rollout",
            (
                "## crashlab/bad-rollout-8c7f6d9b5-fj4rt: app-error",
                "**Rollout:** began with revision 3",
                "### Evidence",
                "- previous log: `panic: runtime error: invalid memory address or nil pointer dereference`",
                "1. Restore service while you fix revision 3: "
                "`kubectl rollout undo deployment/bad-rollout -n crashlab`",
                "| 3 (this pod) | bad-rollout-8c7f6d9b5 | ghcr.io/kcrash/orders:2.3.0 | 0/1 |",
                "| 2 | bad-rollout-7d9c5b6f8 | ghcr.io/kcrash/orders:2.2.1 | 2/2 | - |",
                "### Previous log of `api` (last 9 lines)",
                "**Restarts:** 4",
                "**Written:** 2026-11-20 10:30:00 UTC",
            ),
        ),
        (
            "slow-start-liveness",
            (
                "## crashlab/slow-start-liveness-84d6c9f7b-w7xzp: liveness-probe",
                "| Warning | Unhealthy | ×21 | spec.containers{web} | Liveness probe failed:",
                "- event Killing ×7: `Container web failed liveness probe, will be restarted`",
            ),
        ),
        ("healthy-web", ("## crashlab/healthy-web-5c6d7f8b9-9mnbv: healthy", "**Status:** CrashLoopBackOff")),
    ],
)
def test_incident_markdown_sections(fixture: str, must_have: tuple[str, ...]) -> None:
    text = markdown(fixture)
    for piece in must_have:
        assert piece in text, piece
    assert text.endswith("\n") and not text.endswith("\n\n")


def test_sections_without_content_are_left_out() -> None:
    text = markdown("missing-secret", log_tail=None, revisions=(), events=())
    assert "### Events" not in text
    assert "### Revisions" not in text
    assert "### Previous log" not in text
    assert "### Next steps" in text


def test_empty_previous_log_is_said() -> None:
    assert "### Previous log of `api`\n\n(empty)" in markdown("crash-missing-env", log_tail="")


def _event(message: str) -> Event:
    return Event(
        "crashlab",
        "e",
        "Warning",
        "Failed",
        message,
        involved_name="crash-missing-env-6d8f7c9b5d-x2lqp",
        last_seen=NOW,
    )


def test_event_cells_cannot_break_the_table_or_make_links() -> None:
    text = markdown("crash-missing-env", events=(_event("a | b\nnew row [click](http://x) <b>bold</b> *x*"),))
    row = next(line for line in text.splitlines() if "click" in line)
    assert row.count(" | ") == 5  # six columns, the message's pipe escaped
    assert "\\|" in row and "\\[click\\]" in row and "\\<b\\>" in row and "\\*x\\*" in row
    assert "new row" in row  # the newline became a space inside the same row


def test_terminal_controls_never_reach_the_markdown() -> None:
    evil = "boom\x1b]52;c;ZXZpbA==\x07\x1b[31m red \u202e"
    text = markdown("crash-missing-env", events=(_event(evil),), log_tail=f"line one\n{evil}\n")
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f\u202e]", text)


def test_log_fence_outlasts_backticks_in_the_log() -> None:
    text = markdown("crash-missing-env", log_tail="start\n```\nnot markdown\n`````\nend\n")
    fence = re.search(r"\n(`{3,})text\n", text)
    assert fence is not None and len(fence.group(1)) == 6
    assert text.rstrip().endswith(fence.group(1))


def test_log_is_cut_to_its_tail() -> None:
    log = "".join(f"line {i}\n" for i in range(500))
    text = markdown("crash-missing-env", log_tail=log)
    assert "line 499" in text and "line 459" not in text and "(last 40 lines)" in text


def test_evidence_quotes_with_backticks_stay_one_code_span() -> None:
    _, pod, diag, _ = recorded("crash-missing-env")
    diag = replace(diag, evidence=(Evidence("previous log", "use `kubectl` now"),))
    text = incident_markdown(pod, diag, status="Error", events=(), log_tail=None, revisions=(), now=NOW)
    assert "- previous log: ``use `kubectl` now``" in text
