"""The dying words read by family: what kind of error an app died of, which dependency it could not
reach, and how a log pasted alone is judged. Lines are written as the runtimes and tools print them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kcrash.core.diagnose import diagnose
from kcrash.core.diagnose.apperrors import FAMILIES, app_failure, fatal_failure
from kcrash.core.diagnose.facts import DYING_WORDS, dying_tail
from kcrash.core.diagnose.network import connection_problem, dependency_failure, waiting_for
from kcrash.core.records import (
    ContainerSpec,
    ContainerState,
    ContainerStatus,
    DiagnosisInput,
    Pod,
)

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)

# --- app-error families ----------------------------------------------------------------------------

FAMILY_LINES = [
    # bad-args: each argument parser's own words
    ("flag provided but not defined: -zap-level", "bad-args"),
    ("Error: unknown flag: --metrics-bind-address", "bad-args"),
    ("Error: unknown shorthand flag: 'x' in -x", "bad-args"),
    ('Error: unknown command "serve" for "manager"', "bad-args"),
    ("app.py: error: unrecognized arguments: --port 80", "bad-args"),
    ("app.py: error: the following arguments are required: --config", "bad-args"),
    ("error: unexpected argument '--verbose' found", "bad-args"),
    ("error: Found argument '--foo' which wasn't expected, or isn't valid in this context", "bad-args"),
    ("Error: No such option: --workers", "bad-args"),
    ("error: unknown option '--inspect-port'", "bad-args"),
    ("Unrecognized option: --add-opens", "bad-args"),
    ("ls: invalid option -- 'z'", "bad-args"),
    # import-error
    ("ModuleNotFoundError: No module named 'cv2'", "import-error"),
    ("ImportError: cannot import name 'MutableMapping' from 'collections'", "import-error"),
    ("Error: Cannot find module 'express'", "import-error"),
    ("Error [ERR_MODULE_NOT_FOUND]: Cannot find package 'zod' imported from /app/index.js", "import-error"),
    ("<internal:rb>:85:in `require': cannot load such file -- pg (LoadError)", "import-error"),
    ('Exception in thread "main" java.lang.NoClassDefFoundError: org/slf4j/LoggerFactory', "import-error"),
    ("Error: Could not find or load main class com.example.App", "import-error"),
    (
        "/app/server: error while loading shared libraries: libssl.so.1.1: cannot open shared object",
        "import-error",
    ),
    # migration
    ("[...] Migration failed: alembic upgrade head command failed", "migration"),
    ("ERROR migration 0042_add_email failed: pq: column already exists", "migration"),
    ("alembic.util.exc.CommandError: Can't locate revision identified by 'a1b2'", "migration"),
    (
        "org.flywaydb.core.api.exception.FlywayValidateException: "
        "Validate failed: Migrations have failed validation",
        "migration",
    ),
    (
        "liquibase.exception.MigrationFailedException: Migration failed for change set db/changelog.xml",
        "migration",
    ),
    (
        "django.db.migrations.exceptions.InconsistentMigrationHistory: Migration admin.0001 is applied",
        "migration",
    ),
    ("ActiveRecord::PendingMigrationError: Migrations are pending.", "migration"),
    ("error: Dirty database version 3. Fix and force version.", "migration"),
    # missing-setting
    (
        "java.lang.IllegalArgumentException: "
        "Could not resolve placeholder 'queue.name' in value \"${queue.name}\"",
        "missing-setting",
    ),
    ("Failed to bind properties under 'spring.datasource.url' to java.lang.String:", "missing-setting"),
    ("Reason: Failed to configure a DataSource: 'url' attribute is not specified", "missing-setting"),
    # certificate (the app's own)
    ("Error certificate has expired getting chain.", "certificate"),
    ("failed to load certificate: x509: certificate has expired or is not yet valid", "certificate"),
    ("tls: failed to find any PEM data in certificate input", "certificate"),
    ("java.security.cert.CertificateExpiredException: NotAfter: Tue Jan 04 10:00:00 UTC 2022", "certificate"),
    # file-permissions
    ("mkdir: cannot create directory '/var/lib/pgsql/data/userdata': Permission denied", "file-permissions"),
    ('FATAL:  data directory "/bitnami/postgresql/data" has group or world access', "file-permissions"),
    (
        'initdb: error: directory "/var/lib/postgresql/data" exists but has wrong ownership',
        "file-permissions",
    ),
    ("PermissionError: [Errno 13] Permission denied: '/data/index'", "file-permissions"),
    ("Error: EACCES: permission denied, open '/app/logs/app.log'", "file-permissions"),
    ("open /var/lib/grafana/grafana.db: permission denied", "file-permissions"),
    ("chown: changing ownership of '/data': Operation not permitted", "file-permissions"),
    ("java.nio.file.AccessDeniedException: /opt/kafka/data/meta.properties", "file-permissions"),
    ("ERROR: permission denied for table users", None),  # a database privilege, not a file
    ("Permission denied (publickey).", None),
    # the rest
    ("rm: cannot remove '/usr/bin/with-contenv': Read-only file system", "read-only-filesystem"),
    ("OSError: [Errno 28] No space left on device: '/tmp/cache'", "disk-full"),
    ("listen tcp :8080: bind: address already in use", "port-in-use"),
    ("Error: listen EADDRINUSE: address already in use :::3000", "port-in-use"),
    ("panic: runtime error: invalid memory address or nil pointer dereference", "panic"),
    ("fatal error: concurrent map writes", "panic"),
    ("thread 'main' panicked at 'called `Option::unwrap()` on a `None` value', src/main.rs:4:5", "panic"),
    ('Exception in thread "main" java.lang.IllegalStateException: boom', "exception"),
    ("ValueError: invalid literal for int() with base 10: 'abc'", "exception"),
    ("TypeError: Cannot read properties of undefined (reading 'port')", "exception"),
    ("app.rb:3:in `start': undefined method `call' for nil (NoMethodError)", "exception"),
    ("Unhandled exception. System.InvalidOperationException: No service registered", "exception"),
    ("INFO server started on :8080", None),
]


@pytest.mark.parametrize(("line", "detail"), FAMILY_LINES, ids=[line[:48] for line, _ in FAMILY_LINES])
def test_each_family_knows_its_lines(line: str, detail: str | None) -> None:
    found = app_failure([line])
    assert (found.detail if found and found.family else None) == detail


def test_every_family_has_advice_and_a_line_here() -> None:
    named = {detail for _, detail in FAMILY_LINES}
    assert {f.detail for f in FAMILIES} <= named
    assert all(f.what and f.advice for f in FAMILIES)


@pytest.mark.parametrize(
    ("lines", "detail", "line"),
    [
        # The summary below a traceback names the failure the exception only shows.
        (
            [
                "Traceback (most recent call last):",
                '  File "x.py", line 2',
                "KeyError: 'a19'",
                "Migration failed: x",
            ],
            "migration",
            "Migration failed: x",
        ),
        # A panic the process died of outranks an older warning of another kind.
        (
            ["WARN open /cache/x: permission denied", "panic: assignment to entry in nil map"],
            "panic",
            "panic: assignment to entry in nil map",
        ),
        # A dying line of no family: an older line that names one explains it.
        (
            ["chmod: cannot access '/usr/bin/x': Read-only file system", "ERROR init failed"],
            "read-only-filesystem",
            "chmod: cannot access '/usr/bin/x': Read-only file system",
        ),
        (["ERROR could not sync"], "", "ERROR could not sync"),
    ],
)
def test_the_line_the_process_died_on_decides(lines: list[str], detail: str, line: str) -> None:
    found = app_failure(lines)
    assert found is not None
    assert (found.detail, found.line) == (detail, line)


@pytest.mark.parametrize(
    ("lines", "fatal"),
    [
        (["ERROR could not sync, retrying"], False),  # logged and lived with
        (["FATAL: could not open config"], True),
        (["Error: unknown flag: --x"], True),
        (["INFO ok"], False),
    ],
)
def test_a_log_alone_must_show_a_fatal_error(lines: list[str], fatal: bool) -> None:
    assert (fatal_failure(lines) is not None) == fatal


# --- the dying words' window ----------------------------------------------------------------------


def test_stack_frames_and_usage_text_do_not_push_the_error_out() -> None:
    java = [
        "starting",
        "java.lang.IllegalStateException: no db",
        *[f"\tat a.B.c{i}(B.java:{i})" for i in range(60)],
    ]
    assert dying_tail(java)[:2] == ["starting", "java.lang.IllegalStateException: no db"]
    go = ["panic: boom", "", "goroutine 1 [running]:"]
    go += [x for i in range(30) for x in (f"main.f{i}(0x1)", f"\t/src/main.go:{i} +0x1d")]
    assert dying_tail([line for line in go if line])[0] == "panic: boom"
    usage = ["flag provided but not defined: -x", "Usage of /manager:"]
    usage += [x for i in range(25) for x in (f"  -flag{i} string", "        what it does")]
    assert dying_tail(usage)[0] == "flag provided but not defined: -x"
    plain = [f"INFO line {i}" for i in range(50)]
    assert len(dying_tail(plain)) == DYING_WORDS


# --- dependencies ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("ModuleNotFoundError: No module named 'cv2'", ""),  # no ENOTFOUND in a module's name
        ("Error: getaddrinfo ENOTFOUND redis", "dns"),
        (
            "org.postgresql.util.PSQLException: Connection to db:5432 refused. Check that the hostname",
            "refused",
        ),
        ("com.mysql.cj.jdbc.exceptions.CommunicationsException: Communications link failure", "refused"),
        (
            "Redis::CannotConnectError: Error connecting to Redis on 127.0.0.1:6379 (Errno::ECONNREFUSED)",
            "refused",
        ),
        ("ERROR 2002 (HY000): Can't connect to MySQL server on 'mysql' (115)", "refused"),
        (
            'psql: error: connection to server at "pg" (10.0.0.4), port 5432 failed: Connection refused',
            "refused",
        ),
        ("ZkTimeoutException: Unable to connect to zookeeper server within timeout: 6000", "timeout"),
        ("java.net.SocketTimeoutException: connect timed out", "timeout"),
        (
            "WARN [Consumer clientId=c1] Connection to node -1 (kafka/10.0.0.5:9092) could not be "
            "established. Broker may not be available.",
            "refused",
        ),
        ("wait-for-it.sh: timeout occurred after waiting 15 seconds for db:5432", "timeout"),
        (
            'Get "https://sso.example.com/.well-known/openid-configuration": '
            "x509: certificate signed by unknown authority",
            "tls",
        ),
        ("javax.net.ssl.SSLHandshakeException: PKIX path building failed", "tls"),
        ("ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed", "tls"),
        ("dial tcp 10.0.0.9:443: x509: certificate has expired or is not yet valid", "tls"),
        ("x509: certificate has expired or is not yet valid", ""),  # no peer named: its own certificate
        (
            "x509: certificate has expired or is not yet valid: current time 2024-01-04T10:00:00Z is after "
            "2023-12-31T23:59:59Z",
            "",
        ),
        ("error dialing kafka-0.kafka:9093: x509: certificate has expired or is not yet valid", "tls"),
    ],
)
def test_connection_problems(line: str, problem: str) -> None:
    assert connection_problem(line) == problem


def test_a_tls_failure_names_the_host_it_dialed() -> None:
    found = dependency_failure(
        [
            'failed to get provider configuration {"error": "Get https://sso.example.com/x: '
            'x509: certificate signed by unknown authority"}'
        ]
    )
    assert found is not None
    assert (found.problem, found.host) == ("tls", "sso.example.com")


@pytest.mark.parametrize(
    ("lines", "host", "port"),
    [
        (["waiting for mysql", "waiting for mysql", "waiting for mysql"], "mysql", ""),
        (
            [
                "wait-for-it.sh: waiting 15 seconds for db:5432",
                "wait-for-it.sh: waiting 15 seconds for db:5432",
            ],
            "db",
            "5432",
        ),
        (["Postgres is unavailable - sleeping", "Postgres is unavailable - sleeping"], "Postgres", ""),
        (["nc: bad address 'redis'", "waiting for redis", "nc: bad address 'redis'"], "redis", ""),
        (["db:5432 - no response", "waiting for postgres", "db:5432 - no response"], "db", "5432"),
        (["waiting for mysql", "connected", "serving"], None, ""),  # the wait ended
        (["Waiting for caches to sync", "Waiting for caches to sync"], None, ""),  # not a dependency
        (["waiting for mysql"], None, ""),  # once is not a loop
    ],
)
def test_wait_loops(lines: list[str], host: str | None, port: str) -> None:
    found = waiting_for(lines)
    assert (found.host if found else None) == host
    if found:
        assert (found.problem, found.port) == ("waiting", port)


# --- whole verdicts --------------------------------------------------------------------------------


def log_alone(log: str) -> DiagnosisInput:
    return DiagnosisInput(
        pod=Pod("shop", "api"), now=NOW, current_log=log, absent=frozenset({"spec", "events"})
    )


@pytest.mark.parametrize(
    ("log", "cause", "detail"),
    [
        (
            'Traceback (most recent call last):\n  File "a.py", line 1\n'
            "ModuleNotFoundError: No module named 'cv2'\n",
            "app-error",
            "import-error",
        ),
        (
            "panic: runtime error: invalid memory address or nil pointer dereference\n[signal SIGSEGV]\n",
            "app-error",
            "panic",
        ),
        ("Error: unknown flag: --license-url\n", "app-error", "bad-args"),
        (
            'FATAL:  data directory "/pgdata" has group or world access\n'
            "DETAIL:  Permissions should be u=rwx (0700).\n",
            "app-error",
            "file-permissions",
        ),
        (
            "Error connecting to Redis on redis:6379 (Errno::ECONNREFUSED)\n",
            "dependency-unreachable",
            "refused",
        ),
        ("INFO starting\nINFO ready\n", "unknown", ""),  # nothing says it died
        ("WARN slow response, retrying\n", "unknown", ""),
    ],
)
def test_a_log_pasted_alone(log: str, cause: str, detail: str) -> None:
    diag = diagnose(log_alone(log))
    assert (diag.cause, diag.detail) == (cause, detail), diag.headline
    if cause != "unknown":
        assert any(e.source == "log" for e in diag.evidence)


def test_a_recorded_exit_gets_the_family_as_detail() -> None:
    spec = ContainerSpec("api", "shop/api:1")
    status = ContainerStatus(
        "api",
        state=ContainerState("waiting", reason="CrashLoopBackOff"),
        last_state=ContainerState("terminated", reason="Error", exit_code=1),
        restart_count=4,
    )
    pod = Pod("shop", "api-1", containers=(spec,), container_statuses=(status,))
    log = "Starting\norg.flywaydb.core.api.exception.FlywayException: Migration V3__users.sql failed\n"
    diag = diagnose(DiagnosisInput(pod=pod, now=NOW, previous_log=log))
    assert (diag.cause, diag.detail) == ("app-error", "migration")
    assert "Migration V3__users.sql failed" in diag.headline


def test_a_running_init_container_waiting_for_its_database() -> None:
    init = ContainerSpec("wait-db", "busybox", init=True)
    app = ContainerSpec("api", "shop/api:1")
    pod = Pod(
        "shop",
        "api-1",
        phase="Pending",
        containers=(app,),
        init_containers=(init,),
        init_container_statuses=(ContainerStatus("wait-db", state=ContainerState("running")),),
        container_statuses=(
            ContainerStatus("api", state=ContainerState("waiting", reason="PodInitializing")),
        ),
    )
    log = "waiting for mysql\nwaiting for mysql\nwaiting for mysql\n"
    diag = diagnose(DiagnosisInput(pod=pod, now=NOW, current_log=log))
    assert (diag.cause, diag.detail, diag.container) == ("dependency-unreachable", "waiting", "wait-db")


# --- commands that cannot run ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("log", "detail", "command"),
    [
        ('exec: "gunicorn": executable file not found in $PATH', "not-in-path", "gunicorn"),
        (
            'starting container process caused "exec: \\"/bin/bash\\": '
            'stat /bin/bash: no such file or directory"',
            "no-such-file",
            "/bin/bash",
        ),
        (
            'error during container init: exec: "/bin/sh": stat /bin/sh: no such file or directory',
            "no-such-file",
            "/bin/sh",
        ),
        (
            "exec /usr/local/bin/entrypoint.sh: no such file or directory",
            "no-such-file",
            "/usr/local/bin/entrypoint.sh",
        ),
        (
            "/bin/bash: line 11: /opt/app/entrypoint.sh: No such file or directory",
            "no-such-file",
            "/opt/app/entrypoint.sh",
        ),
        ("exec /app/server: exec format error", "exec-format-error", ""),
        ("exec /docker-entrypoint.sh: permission denied", "permission-denied", "/docker-entrypoint.sh"),
        ("standard_init_linux.go:228: exec user process caused: permission denied", "permission-denied", ""),
        ("/bin/sh: 1: /bin/loop.sh: Permission denied", "permission-denied", "/bin/loop.sh"),
        ("/entrypoint.sh: line 4: gosu: command not found", "not-found", "gosu"),
        ("sh: 1: node: not found", "not-found", "node"),
        ("/usr/bin/env: 'python': No such file or directory", "missing-interpreter", "python"),
        # Windows line ends, however the shell or the kernel words it
        ("/task/initdb.sh: line 3: $'\\r': command not found", "crlf-line-endings", ""),
        ("/usr/bin/env: 'bash\\r': No such file or directory", "crlf-line-endings", "bash"),
        ("/bin/bash^M: bad interpreter: No such file or directory", "crlf-line-endings", ""),
        ("env: can't execute 'sh\r': No such file or directory", "crlf-line-endings", "sh"),
    ],
)
def test_a_log_that_says_the_command_could_not_run(log: str, detail: str, command: str) -> None:
    diag = diagnose(log_alone(log + "\n"))
    assert (diag.cause, diag.detail) == ("command-not-found", detail), diag.headline
    if command:
        assert f"`{command}`" in diag.headline


@pytest.mark.parametrize(
    ("state", "detail"),
    [
        (
            ContainerState(
                "terminated",
                reason="StartError",
                exit_code=128,
                message="failed to create containerd task: failed to create shim task: OCI runtime create "
                'failed: runc create failed: unable to start container process: exec: "uvicorn": '
                "executable file not found in $PATH: unknown",
            ),
            "not-in-path",
        ),
        (
            ContainerState(
                "terminated",
                reason="ContainerCannotRun",
                exit_code=128,
                message="OCI runtime create failed: container_linux.go:348: starting container process "
                'caused "exec: \\"/start.sh\\": permission denied": unknown',
            ),
            "permission-denied",
        ),
        (
            ContainerState(
                "terminated",
                reason="StartError",
                exit_code=128,
                message="failed to create containerd task: OCI runtime create failed: unknown",
            ),
            "",
        ),
    ],
)
def test_the_runtime_labels_a_failed_start(state: ContainerState, detail: str) -> None:
    status = ContainerStatus(
        "app", state=ContainerState("waiting", reason="CrashLoopBackOff"), last_state=state, restart_count=2
    )
    pod = Pod("shop", "app-1", containers=(ContainerSpec("app", "shop/app:1"),), container_statuses=(status,))
    diag = diagnose(DiagnosisInput(pod=pod, now=NOW, previous_log=""))
    assert (diag.cause, diag.detail) == ("command-not-found", detail), diag.headline


def crashed(log: str, exit_code: int, reason: str = "Error") -> DiagnosisInput:
    status = ContainerStatus(
        "app",
        state=ContainerState("waiting", reason="CrashLoopBackOff"),
        last_state=ContainerState("terminated", reason=reason, exit_code=exit_code),
        restart_count=3,
    )
    pod = Pod("shop", "app-1", containers=(ContainerSpec("app", "shop/app:1"),), container_statuses=(status,))
    return DiagnosisInput(pod=pod, now=NOW, previous_log=log)


@pytest.mark.parametrize(
    ("log", "exit_code", "cause"),
    [
        ("sh: 1: curl: not found\n", 1, "command-not-found"),  # its last words
        ("sh: 1: curl: not found\n", 0, "exits-zero"),  # a script that ends cleanly anyway
        ("sh: 1: curl: not found\nINFO a\nINFO b\nINFO c\nERROR db gone\n", 1, "app-error"),  # long ago
    ],
)
def test_a_shell_complaint_counts_only_as_the_last_words_of_a_failed_exit(
    log: str, exit_code: int, cause: str
) -> None:
    assert diagnose(crashed(log, exit_code)).cause == cause


# --- runAsNonRoot ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "said"),
    [
        (
            "Error: container has runAsNonRoot and image will run as root "
            '(pod: "api-1_shop(u1)", container: api)',
            "runs as root",
        ),
        (
            "Error: container has runAsNonRoot and image has non-numeric user (nginx), "
            "cannot verify user is non-root",
            "'nginx' is a name",
        ),
        (
            'Error: container\'s runAsUser breaks non-root policy (pod: "api-1_shop(u1)", container: api)',
            "runAsUser is 0",
        ),
    ],
)
def test_run_as_non_root_refusals_are_config(message: str, said: str) -> None:
    status = ContainerStatus(
        "api", state=ContainerState("waiting", reason="CreateContainerConfigError", message=message)
    )
    pod = Pod("shop", "api-1", containers=(ContainerSpec("api", "shop/api:1"),), container_statuses=(status,))
    diag = diagnose(DiagnosisInput(pod=pod, now=NOW))
    assert (diag.cause, diag.detail) == ("config-missing", "run-as-non-root")
    assert said in diag.headline
    assert any("runAsNonRoot" in e.quote or "runAsUser" in e.quote for e in diag.evidence)


# --- exit 0 stays exit 0 --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("log", "detail"),
    [
        # cobra without a subcommand prints its help and exits 0; the flags talk of daemons
        ("Usage:\n  agent [command]\n\nFlags:\n  --daemon   run in the background\n", "printed-usage"),
        ("usage: worker.py [-h] {run,migrate}\n", "printed-usage"),
        ("starting nginx in the background\n", "daemonized"),
        # Words of an error, but the process said it was fine: restartPolicy Always is the story.
        ("Traceback (most recent call last):\nValueError: bad\nexiting\n", ""),
    ],
)
def test_exit_zero_under_restart_policy_always(log: str, detail: str) -> None:
    diag = diagnose(crashed(log, 0, reason="Completed"))
    assert (diag.cause, diag.detail) == ("exits-zero", detail), diag.headline
