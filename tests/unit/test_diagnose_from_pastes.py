"""`kcrash diagnose --from`: whatever people paste, diagnosed from the command line with no cluster.

The corpus in tests/data/pastes/ (one folder per case: the pasted files and an expected.json) is run
through `main()` exactly as a user would: every file given with `--from`, JSON out.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import kcrash
from kcrash.cluster.pastes import OrphanLogError, PasteLoadError, load_pastes
from kcrash.diagnose_cmd import main

DATA = Path(__file__).parents[1] / "data"
CORPUS = DATA / "pastes"
CASES = sorted(p.name for p in CORPUS.iterdir() if (p / "expected.json").is_file())
FAILING = 1


def run(*argv: str, stdin: str | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err, stdin=io.StringIO(stdin or ""))
    return code, out.getvalue(), err.getvalue()


def run_json(*argv: str, stdin: str | None = None) -> tuple[int, list[dict[str, Any]], str]:
    code, out, err = run(*argv, "-o", "json", stdin=stdin)
    return code, json.loads(out) if out else [], err


def pasted(case: str) -> list[str]:
    """`--from FILE` for every file of a case."""
    files = sorted(p for p in (CORPUS / case).iterdir() if p.name != "expected.json")
    return [arg for path in files for arg in ("--from", str(path))]


def expected(case: str) -> list[dict[str, Any]]:
    return json.loads((CORPUS / case / "expected.json").read_text())["pods"]  # type: ignore[no-any-return]


def row_of(rows: list[dict[str, Any]], name: str) -> dict[str, Any]:
    found = [r for r in rows if r["pod"] == name]
    assert len(found) == 1, f"{name!r} in {[r['pod'] for r in rows]}"
    return found[0]


# --- the corpus ------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_every_pasted_pod_is_diagnosed_right(case: str, request: pytest.FixtureRequest) -> None:
    pods = expected(case)
    if any("engine_gap" in pod for pod in pods):
        request.applymarker(pytest.mark.xfail(strict=True, reason="the engine does not say it yet"))
    code, rows, _ = run_json(*[pod["name"] for pod in pods], *pasted(case))
    found = {
        pod["name"]: (row_of(rows, pod["name"])["cause"], row_of(rows, pod["name"])["container"])
        for pod in pods
    }
    assert found == {pod["name"]: (pod["cause"], pod.get("container", "")) for pod in pods}
    assert code == (FAILING if any(pod["cause"] != "healthy" for pod in pods) else 0)


@pytest.mark.parametrize("case", CASES)
def test_without_names_every_failing_pod_and_no_healthy_one(case: str) -> None:
    _, rows, _ = run_json(*pasted(case))
    shown = {row["pod"] for row in rows}
    pods = expected(case)
    assert {p["name"] for p in pods if p["cause"] != "healthy"} <= shown
    assert not {p["name"] for p in pods if p["cause"] == "healthy"} & shown


@pytest.mark.parametrize("case", CASES)
def test_missing_facts_are_in_the_json(case: str) -> None:
    pods = [pod for pod in expected(case) if "missing" in pod]
    _, rows, _ = run_json(*[pod["name"] for pod in pods], *pasted(case))
    for pod in pods:
        missing = row_of(rows, pod["name"])["missing"]
        assert [m["what"] for m in missing] == pod["missing"]
        assert all(set(m) == {"what", "command"} for m in missing)


# --- reading what was pasted -----------------------------------------------------------------------


def test_standard_input() -> None:
    describe = (CORPUS / "oom-killed-new-created-container-message" / "describe.txt").read_text()
    code, rows, err = run_json("--from", "-", stdin=describe)
    assert (code, err) == (FAILING, "")
    assert [(r["pod"], r["cause"]) for r in rows] == [("report-worker-5f8c6d7b9-kq4zt", "oom-killed")]


def test_standard_input_and_a_file_combine() -> None:
    folder = CORPUS / "app-error-missing-env"
    log = (folder / "previous.log").read_text()
    code, rows, _ = run_json("--from", str(folder / "describe.txt"), "--from", "-", stdin=log)
    (row,) = rows
    assert code == FAILING and "PAYMENT_API_KEY" in row["headline"]


def test_the_previous_log_from_standard_input() -> None:
    folder = CORPUS / "app-error-missing-env"
    log = (folder / "previous.log").read_text()
    code, rows, err = run_json("--from", str(folder / "describe.txt"), "--logs", "-", stdin=log)
    (row,) = rows
    assert (code, err) == (FAILING, "")
    assert "PAYMENT_API_KEY" in row["headline"] and row["missing"] == []


def test_a_describe_and_its_log_make_one_diagnosis() -> None:
    folder = CORPUS / "app-error-missing-env"
    _, alone, _ = run_json("--from", str(folder / "describe.txt"))
    _, both, _ = run_json("--from", str(folder / "describe.txt"), "--from", str(folder / "previous.log"))
    _, declared, _ = run_json("--from", str(folder / "describe.txt"), "--logs", str(folder / "previous.log"))
    assert "PAYMENT_API_KEY" not in alone[0]["headline"]
    assert [m["what"] for m in alone[0]["missing"]] == ["no previous log"]
    for rows in (both, declared):
        (row,) = rows
        assert (row["pod"], row["container"], row["cause"]) == (
            "payment-gateway-5f6a7b8c9d-w2e4r",
            "gateway",
            "app-error",
        )
        assert "PAYMENT_API_KEY" in row["headline"] and row["missing"] == []
        assert ("previous log", "Error: required environment variable PAYMENT_API_KEY is not set") in [
            (e["source"], e["quote"]) for e in row["evidence"]
        ]


def test_evidence_quotes_the_pasted_lines() -> None:
    code, out, _ = run(*pasted("oom-killed-new-created-container-message"))
    assert code == FAILING
    assert "    - lastState.terminated: Reason: OOMKilled / Exit Code: 137" in out.splitlines()
    assert "    - spec container worker resources.limits.memory: memory: 256Mi" in out.splitlines()


@pytest.mark.parametrize(
    ("encoding", "newline"),
    [("utf-8", "\n"), ("utf-8-sig", "\n"), ("utf-16", "\r\n"), ("utf-8", "\r\n")],
)
def test_files_as_shells_write_them(tmp_path: Path, encoding: str, newline: str) -> None:
    """Windows PowerShell's `>` writes UTF-16 with a BOM and CRLF line ends."""
    describe = (CORPUS / "config-missing-secret-describe" / "describe.txt").read_text()
    saved = tmp_path / "describe.txt"
    saved.write_bytes(describe.replace("\n", newline).encode(encoding))
    _, rows, err = run_json("--from", str(saved))
    assert err == ""
    assert [(r["pod"], r["cause"]) for r in rows] == [("checkout-84d9f6c7b5-m3n8p", "config-missing")]


def test_unknown_cause_lists_what_is_missing_and_how_to_get_it() -> None:
    code, out, _ = run(*pasted("cut-off-describe"))
    lines = out.splitlines()
    assert code == FAILING
    assert lines[1].startswith("  unknown: ")
    start = lines.index("  missing (paste the output of these to settle it):")
    assert lines[start + 1 : start + 4] == [
        "    - no last state (exit code and reason of the last crash): "
        "`kubectl describe pod search-indexer-64c8d9b7f5-t6w2p -n search`",
        "    - no events (the describe paste stops in Containers): "
        "`kubectl get events -n search --field-selector involvedObject.name=search-indexer-64c8d9b7f5-t6w2p`",
        "    - no previous log: "
        "`kubectl logs search-indexer-64c8d9b7f5-t6w2p -n search -c indexer --previous`",
    ]


def test_a_known_cause_does_not_list_what_is_missing() -> None:
    _, out, _ = run(*pasted("oom-killed-bare-status-stanza"))
    assert "oom-killed: " in out and "missing" not in out


def test_what_a_paste_cannot_be_read_for_is_one_line_each_on_stderr() -> None:
    case = "image-pull-chat-thread-kubectl-errors"
    code, rows, err = run_json(*pasted(case))
    thread = CORPUS / case / "thread.txt"
    assert err == f"kcrash diagnose: {thread}: part 1: not kubectl output kcrash reads (2 lines)\n"
    assert code == FAILING and [r["cause"] for r in rows] == ["image-pull"]


def test_a_paste_is_judged_at_the_moment_it_was_taken(tmp_path: Path) -> None:
    """Restarted a minute before the paste: failing then, though long healthy by the clock."""
    saved = tmp_path / "pod.yaml"
    saved.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web-1\n  namespace: shop\n"
        "spec:\n  containers:\n  - name: web\n    image: web:1\n"
        "status:\n  phase: Running\n  containerStatuses:\n  - name: web\n    ready: true\n"
        "    restartCount: 3\n    image: web:1\n    imageID: ''\n"
        "    lastState:\n      terminated:\n        exitCode: 1\n        reason: Error\n"
        '        startedAt: "2020-01-01T09:58:00Z"\n        finishedAt: "2020-01-01T09:59:00Z"\n'
        '    state:\n      running:\n        startedAt: "2020-01-01T09:59:10Z"\n'
    )
    code, rows, _ = run_json("--from", str(saved))
    assert code == FAILING
    assert [(r["pod"], r["status"], r["restarts"]) for r in rows] == [("web-1", "Running", 3)]


def test_history_and_metrics_in_other_files_than_the_pod(tmp_path: Path) -> None:
    """`kubectl get pod` in one file, `kubectl get deploy,rs` in another, PodMetrics in a third."""
    listing = json.loads((DATA / "pods" / "bad-rollout.json").read_text())
    pod_file, history = tmp_path / "pod.json", tmp_path / "history.yaml"
    pod_file.write_text(json.dumps(next(i for i in listing["items"] if i["kind"] == "Pod"), indent=4))
    rest = [i for i in listing["items"] if i["kind"] in ("Deployment", "ReplicaSet")]
    history.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": rest}, indent=4))
    _, rows, _ = run_json("--from", str(pod_file), "--from", str(history))
    assert rows[0]["rollout_hint"].startswith("began with revision")

    pods = DATA / "pods"
    _, rows, _ = run_json(
        "--from", str(pods / "oom-spike.json"), "--from", str(pods / "oom-spike.metrics.json")
    )
    quotes = [e["quote"] for e in rows[0]["evidence"] if e["source"] == "memory samples"]
    assert quotes == ["peak 182Mi of the 512Mi limit (35%) over 34 samples"]


@pytest.mark.parametrize("indent", [4, None], ids=["kubectl", "one-line"])
def test_a_pod_in_json_keeps_its_namespace_to_meet_its_history(tmp_path: Path, indent: int | None) -> None:
    """`kubectl get pod -o json | jq -c` writes one line: the namespace must survive it."""
    listing = json.loads((DATA / "pods" / "bad-rollout.json").read_text())
    pod = next(i for i in listing["items"] if i["kind"] == "Pod")
    pod_file, history = tmp_path / "pod.json", tmp_path / "history.json"
    pod_file.write_text(json.dumps(pod, indent=indent))
    rest = [i for i in listing["items"] if i["kind"] in ("Deployment", "ReplicaSet")]
    history.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": rest}, indent=4))
    _, rows, _ = run_json("--from", str(pod_file), "--from", str(history))
    (row,) = rows
    assert row["namespace"] == pod["metadata"]["namespace"]
    assert row["rollout_hint"].startswith("began with revision")


def test_a_list_where_pods_share_a_container_name_quotes_each_pod_its_own_facts(tmp_path: Path) -> None:
    listing = json.loads((CORPUS / "exits-zero-json-podlist" / "pods.json").read_text())
    first = listing["items"][0]
    second = json.loads(json.dumps(first))
    second["metadata"]["name"] = "exit-zero-5b8c7d6f9-oom01"
    killed = second["status"]["containerStatuses"][0]["lastState"]["terminated"]
    killed.update(reason="OOMKilled", exitCode=137)
    listing["items"] = [first, second]
    saved = tmp_path / "pods.json"
    saved.write_text(json.dumps(listing, indent=4))
    _, rows, _ = run_json("--from", str(saved))
    quotes = {
        r["pod"]: next(e["quote"] for e in r["evidence"] if e["source"] == "lastState.terminated")
        for r in rows
    }
    assert "Completed" in quotes[first["metadata"]["name"]]
    assert "OOMKilled" not in quotes[first["metadata"]["name"]]
    assert "OOMKilled" in quotes["exit-zero-5b8c7d6f9-oom01"]


# --- which pod a log is about ----------------------------------------------------------------------


def test_a_log_pasted_alone_is_diagnosed_without_a_pod() -> None:
    code, out, _ = run("--from", str(CORPUS / "app-error-missing-env" / "previous.log"))
    lines = out.splitlines()
    assert code == FAILING
    assert lines[0] == "(name not in previous.log): state not in the input"
    assert lines[1].startswith("  app-error: ") and "PAYMENT_API_KEY" in lines[1]


def test_a_pod_no_paste_names_is_named_so_but_never_in_a_command() -> None:
    code, rows, _ = run_json("--from", str(CORPUS / "app-error-missing-env" / "previous.log"))
    (row,) = rows
    assert (code, row["pod"], row["namespace"]) == (FAILING, "(name not in previous.log)", "")
    commands = [m["command"] for m in row["missing"] if m["command"]] + row["next_steps"]
    assert any("<pod>" in text for text in commands)
    assert not [text for text in commands if "name not in" in text]
    assert "pod name" in [m["what"] for m in row["missing"]]


def test_a_nameless_log_among_several_failing_pods_needs_the_pod_named() -> None:
    pods = CORPUS / "image-pull-get-pods-wide-all-and-events" / "get-pods.txt"
    log = CORPUS / "app-error-missing-env" / "previous.log"
    code, _, err = run("--from", str(pods), "--logs", str(log))
    assert code == 2
    assert err == (
        f"kcrash diagnose: the log in {log} belongs to one pod but the files hold 5 (it could be "
        "payments/payments-api-7d4c9b8f6-v5n2x, shop/storefront-6b8d7c5f9-t2q8v): "
        "name the pod (kcrash diagnose POD --from ...), "
        "or put the `kubectl logs POD` line that printed it above the log\n"
    )
    code, rows, err = run_json(
        "payments/payments-api-7d4c9b8f6-v5n2x", "--from", str(pods), "--logs", str(log)
    )
    assert (code, err) == (FAILING, "")
    (row,) = rows
    assert row["pod"] == "payments-api-7d4c9b8f6-v5n2x" and "PAYMENT_API_KEY" in row["headline"]


@pytest.mark.parametrize("prompt", ["$ ", ""])
@pytest.mark.parametrize("flag", ["--logs", "--from"])
def test_the_logs_command_line_above_a_log_names_its_pod(tmp_path: Path, flag: str, prompt: str) -> None:
    """The way out the refusal offers, in both commands: kubectl's own command line names the pod."""
    pods = CORPUS / "image-pull-get-pods-wide-all-and-events" / "get-pods.txt"
    log = (CORPUS / "app-error-missing-env" / "previous.log").read_text()
    command = f"{prompt}kubectl logs payments-api-7d4c9b8f6-v5n2x -n payments --previous\n"
    code, rows, err = run_json("--from", str(pods), flag, _write(tmp_path, "x.log", command + log))
    assert (code, err) == (FAILING, "")
    row = row_of(rows, "payments-api-7d4c9b8f6-v5n2x")
    assert "PAYMENT_API_KEY" in row["headline"]


def test_namespace_filter_keeps_pods_of_unknown_namespace() -> None:
    _, rows, _ = run_json("-n", "payments", *pasted("image-pull-get-pods-wide-all-and-events"))
    assert [r["pod"] for r in rows] == ["payments-api-7d4c9b8f6-v5n2x"]
    _, rows, _ = run_json("-n", "anywhere", *pasted("unknown-get-pods-only"))
    assert [r["pod"] for r in rows] == ["ingest-5c6d7e8f9-a1b2c"]


# --- usage errors: one line, exit 2 ----------------------------------------------------------------


def _write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("empty.txt", "", "nothing kcrash reads in {path} (it is empty): give it what kubectl printed: "),
        ("notes.txt", "the pod is broken again\nplease help\n", "nothing kcrash reads in {path}: give it "),
        ("pod.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: [\n", "{path}: YAML does not load (line "),
        ("pod.json", '{"kind": "Pod", "status": ', "{path}: JSON does not load"),
        (
            "p.yaml",
            "$ kubectl get pod p -o yaml\nkind: Pod\n\tmetadata: x\n",
            "{path}: YAML does not load (line 3)",
        ),
    ],
)
def test_files_with_nothing_to_read(tmp_path: Path, name: str, text: str, message: str) -> None:
    path = _write(tmp_path, name, text)
    code, out, err = run("--from", path)
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and err.startswith("kcrash diagnose: " + message.format(path=path))


def test_accepted_forms_are_named(tmp_path: Path) -> None:
    _, _, err = run("--from", _write(tmp_path, "x.txt", "hello\n"))
    for form in ("get -o yaml|json", "describe pod", "get pods", "get events", "events", "logs"):
        assert form in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--from", "/no/such/file"], "cannot read /no/such/file: No such file or directory"),
        (["--from", "{tmp}"], "cannot read {tmp}: Is a directory"),
        (["--from", "-", "--from", "-"], "standard input can be read once"),
        (["--from", "-", "--logs", "-"], "standard input can be read once"),
        (["--logs", "x.log"], "--logs needs --from"),
    ],
)
def test_unreadable_input_is_one_line(tmp_path: Path, argv: list[str], message: str) -> None:
    code, out, err = run(*[a.format(tmp=tmp_path) for a in argv])
    assert (code, out) == (2, "")
    assert err.startswith(f"kcrash diagnose: {message.format(tmp=tmp_path)}")
    assert err.count("\n") == 1 and "Traceback" not in err


# --- no cluster, ever ------------------------------------------------------------------------------


def test_runs_with_no_kubeconfig_and_no_client_library(tmp_path: Path) -> None:
    """No kubeconfig, an empty HOME: `--from` works, and the Kubernetes client is never imported."""
    home = tmp_path / "home"
    home.mkdir()
    env = {
        **os.environ,
        "KUBECONFIG": str(tmp_path / "no-such-kubeconfig"),
        "HOME": str(home),
        "PYTHONPATH": str(Path(kcrash.__file__).parents[1]),
    }
    describe = (CORPUS / "oom-killed-new-created-container-message" / "describe.txt").read_bytes()
    script = (
        "import sys\n"
        "from kcrash.cli import main\n"
        "code = main(['diagnose', '--from', '-', '-o', 'json'])\n"
        "loaded = sorted({m.split('.')[0] for m in sys.modules} & {'kubernetes', 'urllib3', 'textual'})\n"
        "print('loaded:', loaded, file=sys.stderr)\n"
        "sys.exit(code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], input=describe, capture_output=True, env=env, cwd=tmp_path, timeout=60
    )
    assert done.returncode == FAILING, done.stderr.decode()
    assert done.stderr.decode() == "loaded: []\n"
    (row,) = json.loads(done.stdout)
    assert (row["pod"], row["cause"]) == ("report-worker-5f8c6d7b9-kq4zt", "oom-killed")


# --- the shared loader: what both commands read the files with --------------------------------------


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_load_pastes_gives_pods_notes_and_the_files_as_named(tmp_path: Path) -> None:
    folder = CORPUS / "app-error-missing-env"
    chat = _write(
        tmp_path,
        "chat.txt",
        "the gateway is down again, any idea?\n\n$ kubectl get pods -n payments\n"
        "NAME                               READY   STATUS             RESTARTS     AGE\n"
        "payment-gateway-5f6a7b8c9d-w2e4r   0/1     CrashLoopBackOff   6 (9s ago)   7m\n",
    )
    heard: list[str] = []
    loaded = load_pastes(
        [chat, "-"],
        [str(folder / "previous.log")],
        stdin=_Terminal((folder / "describe.txt").read_text()),
        now=datetime(2026, 5, 16, tzinfo=UTC),
        say=heard.append,
    )
    (pod,) = loaded.pods
    assert pod.pod.name == "payment-gateway-5f6a7b8c9d-w2e4r" and pod.pastes == (
        chat,
        "<stdin>",
        str(folder / "previous.log"),
    )
    assert pod.previous_log is not None and "PAYMENT_API_KEY" in pod.previous_log
    assert loaded.labels == (chat, "<stdin>", str(folder / "previous.log"))
    assert loaded.notes == (f"{chat}: part 1: not kubectl output kcrash reads (2 lines)",)
    assert heard == ["reading the paste from standard input; end it with Ctrl-D"]


@pytest.mark.parametrize(
    ("files", "logs", "error", "says"),
    [
        (["/no/such/file"], [], PasteLoadError, "cannot read /no/such/file"),
        (["-", "-"], [], PasteLoadError, "standard input can be read once"),
        ([], ["x.log"], PasteLoadError, "--logs needs --from"),
        (
            [str(CORPUS / "image-pull-get-pods-wide-all-and-events" / "get-pods.txt")],
            [str(CORPUS / "app-error-missing-env" / "previous.log")],
            OrphanLogError,
            "belongs to one pod but the files hold 5 (it could be payments/payments-api-7d4c9b8f6-v5n2x, "
            "shop/storefront-6b8d7c5f9-t2q8v): put the `kubectl logs POD` line",
        ),
    ],
)
def test_load_pastes_refuses_in_one_line(
    files: list[str], logs: list[str], error: type[PasteLoadError], says: str
) -> None:
    with pytest.raises(error) as refused:
        load_pastes(files, logs, stdin=io.StringIO(""), now=datetime(2026, 5, 16, tzinfo=UTC))
    message = str(refused.value)
    assert says in message and "\n" not in message and "kcrash diagnose" not in message


# --- --explain-rules ---------------------------------------------------------------------------------


def test_explain_rules_as_text_follows_each_pod() -> None:
    code, out, err = run(*pasted("oom-killed-get-pod-yaml"), "--explain-rules")
    assert (code, err) == (FAILING, "")
    lines = out.splitlines()
    start = lines.index("  rules (asked in this order; the first with a verdict wins):")
    assert start > lines.index("  next steps:")
    rules = lines[start + 1 :]
    assert [line.split()[1] for line in rules][:4] == ["shut-down", "healthy", "not-ready", "evicted"]
    winners = [line for line in rules if line.startswith("   *")]
    assert len(winners) == 1
    assert winners[0].split()[2:4] == ["oom", "oom-killed"]
    assert winners[0].endswith("the first rule in order with a verdict")
    assert any("sigkill" in line and "a verdict too, but oom comes first" in line for line in rules)


def test_explain_rules_as_json_is_a_list_per_pod() -> None:
    _, rows, _ = run_json(*pasted("dependency-unreachable-two-pods-termination-message"), "--explain-rules")
    assert len(rows) >= 2
    for row in rows:
        winners = [t for t in row["explain"] if t["winner"]]
        assert len(winners) == 1 and winners[0]["verdict"] and winners[0]["applied"]
        assert winners[0]["cause"] == row["cause"]
        assert set(row["explain"][0]) == {"rule", "cause", "applied", "verdict", "winner", "why"}
        assert row["explain"][-1]["rule"] == "unknown"


def test_without_explain_rules_there_is_no_explain() -> None:
    _, rows, _ = run_json(*pasted("oom-killed-get-pod-yaml"))
    assert rows and all("explain" not in row for row in rows)
    _, out, _ = run(*pasted("oom-killed-get-pod-yaml"))
    assert "rules (asked" not in out


@pytest.mark.parametrize(
    ("log", "failing"),
    [
        ("panic: runtime error: invalid memory address or nil pointer dereference\n", True),
        ("/bin/sh: 1: /run.sh: Permission denied\n", True),
        ("INFO listening on :8080\nINFO ready\n", False),  # a running app's log says nothing of a crash
    ],
)
def test_a_plain_log_pasted_alone_is_failing_when_its_words_say_it_died(
    tmp_path: Path, log: str, failing: bool
) -> None:
    paste = tmp_path / "chat.txt"
    paste.write_text(f"$ kubectl logs web-1\n{log}")
    code, rows, _ = run_json("--from", str(paste))
    assert [r["pod"] for r in rows] == (["web-1"] if failing else [])
    assert (code == FAILING) == failing
