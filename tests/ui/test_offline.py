"""`kcrash --from FILE`: the console on pastes, offline, with the same drill-down and no writes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Static

from kcrash.cluster.paste.model import AsOfBasis
from kcrash.ui.launch import main
from kcrash.ui.offline import OfflineApp, OfflineSource, banner_text, load_pastes, make_offline_app
from kcrash.ui.rows import PodRow
from kcrash.ui.screens.detail import DetailScreen
from kcrash.ui.screens.logs import LogScreen
from kcrash.ui.screens.modals import CopyMenu, DeleteModal, UndoModal
from kcrash.ui.screens.pods import PodsScreen
from kcrash.ui.widgets.detail import DetailPane
from kcrash.ui.widgets.pod_table import PodTable

from .conftest import wait_for

PASTES = Path(__file__).parents[1] / "data" / "pastes"
MISSING_ENV = PASTES / "app-error-missing-env"
TWO_PODS = PASTES / "dependency-unreachable-two-pods-termination-message" / "describe-pods.txt"
CUT_OFF = PASTES / "cut-off-describe" / "describe-cut.txt"
GET_PODS = PASTES / "image-pull-get-pods-wide-all-and-events" / "get-pods.txt"
OPENED_AT = datetime(2026, 5, 16, 8, 0, tzinfo=UTC)
"""When the tests "open" the pastes; pastes without times of their own are read against it."""
PIECES = {"diagnosis", "events", "logs", "rollout", "memory"}

Snap = Callable[..., bool]


def offline_app(*files: Path, logs: Path | None = None) -> OfflineApp:
    source = load_pastes([str(f) for f in files], str(logs) if logs else None, now=OPENED_AT)
    return make_offline_app(source)


def missing_env_app() -> OfflineApp:
    return offline_app(MISSING_ENV / "describe.txt", MISSING_ENV / "previous.log")


def text_of(app: OfflineApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


def source_of(app: OfflineApp) -> OfflineSource:
    assert isinstance(app.source, OfflineSource)
    return app.source


async def drill_down_loaded(pilot: Pilot[int], app: OfflineApp) -> DetailPane:
    await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen), what="the drill-down")
    pane = app.screen.query_one(DetailPane)
    await wait_for(pilot, lambda: pane.pieces.keys() >= PIECES, what="every piece of the drill-down")
    return pane


async def test_a_describe_paste_opens_into_the_drill_down_quoting_pasted_lines() -> None:
    app = missing_env_app()
    pasted = {" ".join(line.split()) for line in (MISSING_ENV / "describe.txt").read_text().splitlines()}
    async with app.run_test(size=(120, 40)) as pilot:
        await drill_down_loaded(pilot, app)
        pod = next(iter(source_of(app).list_pods()))
        diagnosis = source_of(app).diagnose(pod, OPENED_AT)
        assert diagnosis.cause == "app-error" and "PAYMENT_API_KEY" in diagnosis.headline
        shown = text_of(app, "#d-diagnosis")
        assert diagnosis.headline in shown
        last_state = next(e for e in diagnosis.evidence if e.source.startswith("lastState"))
        assert all(part in pasted for part in last_state.quote.split(" / ")), "quotes are pasted lines"
        assert last_state.quote in shown
        assert "Error: required environment variable PAYMENT_API_KEY is not set" in text_of(app, "#d-logs")
        assert "No metrics in the pastes." in text_of(app, "#d-memory-caption")
        assert "Scheduled" in text_of(app, "#d-events")


async def test_the_header_says_offline_from_which_files_and_as_of_when() -> None:
    app = missing_env_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await drill_down_loaded(pilot, app)
        banner = "offline · as of 2025-01-08 18:50 UTC · from describe.txt, previous.log"
        for _ in ("drill-down", "pods list"):
            header = text_of(app, "#status")
            assert banner in header
            assert "live" not in header and "connecting" not in header and "stopped" not in header
            await pilot.press("escape")
        assert isinstance(app.screen, PodsScreen)


async def test_offline_binds_no_writes_and_still_copies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSH_TTY", "/dev/pts/0")  # the terminal's clipboard: nothing leaves the test
    app = missing_env_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await drill_down_loaded(pilot, app)
        for _ in ("drill-down", "pods list"):
            bound = {binding.action for _, binding in app.screen._bindings}
            assert "undo" not in bound and "delete" not in bound
            assert {"copy", "logs"} <= bound
            await pilot.press("u", "ctrl+d")
            await pilot.pause(0.2)
            assert not isinstance(app.screen, UndoModal | DeleteModal)
            if isinstance(app.screen, DetailScreen):
                await pilot.press("escape")
        await pilot.press("enter")
        await drill_down_loaded(pilot, app)

        await pilot.press("c", "1")
        await wait_for(pilot, lambda: app.clipboard.startswith("kubectl"), what="the describe command")
        assert app.clipboard == "kubectl -n payments describe pod payment-gateway-5f6a7b8c9d-w2e4r"

        await pilot.press("c")
        menu = app.screen
        assert isinstance(menu, CopyMenu)
        summary = [choice.key for choice in menu.choices].index("summary") + 1
        await pilot.press(str(summary))
        await wait_for(pilot, lambda: "PAYMENT_API_KEY" in app.clipboard, what="the incident summary")
        assert "payment-gateway-5f6a7b8c9d-w2e4r" in app.clipboard


async def test_the_log_view_shows_the_pasted_previous_log() -> None:
    app = missing_env_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await drill_down_loaded(pilot, app)
        await pilot.press("l")
        await wait_for(pilot, lambda: isinstance(app.screen, LogScreen), what="the log view")
        screen = app.screen
        assert isinstance(screen, LogScreen)
        await wait_for(pilot, lambda: bool(screen.lines), what="the pasted log")
        assert screen.lines[-1] == "Node.js v20.18.1"
        assert any("PAYMENT_API_KEY is not set" in line for line in screen.lines)


async def test_a_paste_of_several_pods_lists_them_and_each_opens() -> None:
    app = offline_app(TWO_PODS)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, PodsScreen)
        table = screen.query_one("#pods", PodTable)
        await wait_for(pilot, lambda: table.row_count == 2, what="the pasted pods")
        await pilot.pause(0.2)
        assert isinstance(app.screen, PodsScreen), "several pods: the list, not one drill-down"
        names = sorted(key[1] for key in table.visible_keys)  # type: ignore[index]
        assert names == ["notify-worker-69b7c8d5f4-2kx8m", "notify-worker-69b7c8d5f4-9pl4r"]
        assert "2 pods" in text_of(app, "#status") and "offline" in text_of(app, "#status")
        cursor = table.cursor_key
        assert isinstance(cursor, tuple)
        await pilot.press("enter")
        await drill_down_loaded(pilot, app)
        assert cursor[1] in text_of(app, "#d-title")


async def test_what_the_pastes_lack_is_named_not_shown_as_none() -> None:
    app = offline_app(CUT_OFF)
    async with app.run_test(size=(120, 40)) as pilot:
        await drill_down_loaded(pilot, app)
        assert "as of 2025-04-05 22:10 UTC or later" in text_of(app, "#status")
        assert "Not in the pastes: previous log" in text_of(app, "#d-logs")
        assert "No metrics in the pastes." in text_of(app, "#d-memory-caption")
        diagnosis = text_of(app, "#d-diagnosis")
        assert "Missing from the pastes: no events (the describe paste stops in Containers)" in diagnosis
        assert "Missing from the pastes: the Deployment and its rollout history" in diagnosis
        assert text_of(app, "#d-events") == "No events in the pastes."
        assert text_of(app, "#d-rollout") == "No rollout history in the pastes."


async def test_what_the_pastes_show_as_none_is_said_to_be_none(tmp_path: Path) -> None:
    """A describe whose pod a StatefulSet runs: that it has no Deployment is known, not missing."""
    describe = (MISSING_ENV / "describe.txt").read_text()
    assert "Controlled By:  ReplicaSet/payment-gateway-5f6a7b8c9d" in describe
    paste = tmp_path / "describe.txt"
    paste.write_text(describe.replace("ReplicaSet/payment-gateway-5f6a7b8c9d", "StatefulSet/payment-gateway"))
    app = offline_app(paste)
    async with app.run_test(size=(120, 40)) as pilot:
        await drill_down_loaded(pilot, app)
        assert text_of(app, "#d-rollout").startswith("Not run by a Deployment")
        assert "Scheduled" in text_of(app, "#d-events")


async def test_a_get_pods_row_says_what_it_cannot_know(tmp_path: Path) -> None:
    """One pasted row: no events, no owner, no container list; READY is not made up."""
    paste = tmp_path / "get-pods.txt"
    paste.write_text(
        "NAME                     READY   STATUS             RESTARTS     AGE\n"
        "ingest-5c6d7e8f9-a1b2c   0/1     CrashLoopBackOff   7 (2m ago)   31m\n"
    )
    app = offline_app(paste)
    async with app.run_test(size=(120, 40)) as pilot:
        await drill_down_loaded(pilot, app)
        assert text_of(app, "#d-events") == "No events in the pastes."
        assert text_of(app, "#d-rollout") == "No rollout history in the pastes."
        assert "ready ?" in text_of(app, "#d-title") and "/0" not in text_of(app, "#d-title")


async def test_a_get_pods_paste_shows_each_pasted_status() -> None:
    app = offline_app(GET_PODS)
    rows = [line.split() for line in GET_PODS.read_text().splitlines()[2:]]  # under the prompt and header
    pasted = {(cells[0], cells[1]): cells[3] for cells in rows}
    async with app.run_test(size=(160, 40)) as pilot:
        table = app.screen.query_one("#pods", PodTable)
        await wait_for(pilot, lambda: table.row_count == len(pasted), what="the pasted pods")
        shown = {key: row.status for key in table.visible_keys if isinstance(row := table.row(key), PodRow)}
        assert shown == pasted
        assert "Running" in shown.values()
        ready = {row.ready for key in table.visible_keys if isinstance(row := table.row(key), PodRow)}
        assert ready == {"?"}, "the row names no containers: READY is unknown, never 1/0"


async def test_a_log_pasted_alone_is_a_pod_named_for_its_file() -> None:
    app = offline_app(MISSING_ENV / "previous.log")
    async with app.run_test(size=(120, 40)) as pilot:
        await drill_down_loaded(pilot, app)
        assert "pod/(name not in previous.log)" in text_of(app, "#d-title")
        diagnosis = text_of(app, "#d-diagnosis")
        assert "PAYMENT_API_KEY" in diagnosis and "name not in" not in diagnosis


@pytest.mark.parametrize(
    ("files", "basis", "banner"),
    [
        (
            ["a/describe.txt", "a/logs.txt"],
            "events",
            "offline · as of 2026-05-16 08:00 UTC · from describe.txt, logs.txt",
        ),
        (["pod.yaml"], "latest-time", "offline · as of 2026-05-16 08:00 UTC or later · from pod.yaml"),
        (["get-pods.txt"], "now", "offline · no time in the pastes: ages as pasted · from get-pods.txt"),
        (["<stdin>"], "unknown", "offline · no time in the pastes: ages as pasted · from <stdin>"),
        (
            ["a/describe.txt", "b/describe.txt"],
            "events",
            "offline · as of 2026-05-16 08:00 UTC · from a/describe.txt, b/describe.txt",
        ),
    ],
)
def test_banner_text(files: list[str], basis: AsOfBasis, banner: str) -> None:
    assert banner_text(files, OPENED_AT, basis) == banner


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--from", "no-such-file.txt"], "cannot read no-such-file.txt"),
        (["--from", "pyproject.toml"], "nothing kcrash reads in pyproject.toml"),
        (["--logs", str(MISSING_ENV / "previous.log")], "--logs needs --from"),
        (["--from", "-", "--logs", "-"], "standard input can be read once"),
        (["--from", str(CUT_OFF), "--demo"], "--demo"),
        (["--from", str(CUT_OFF), "-n", "elsewhere"], "no pods in"),
        (
            ["--from", str(GET_PODS), "--logs", str(MISSING_ENV / "previous.log")],
            "belongs to one pod but the files hold 5 (it could be payments/payments-api-7d4c9b8f6-v5n2x, "
            "shop/storefront-6b8d7c5f9-t2q8v): put the `kubectl logs POD` line",
        ),
    ],
)
def test_a_file_kcrash_cannot_open_is_one_line_and_exit_2(
    argv: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert err.startswith("kcrash: ") and says in err
    assert "kcrash diagnose" not in err, "the console's refusals name no other command"


def test_offline_drill_down_snapshot(snap_compare: Snap) -> None:
    app = missing_env_app()

    async def steps(pilot: Pilot[int]) -> None:
        await drill_down_loaded(pilot, app)

    assert snap_compare(app, terminal_size=(120, 40), run_before=steps)
