"""What kind of error an app died of, read from its dying words: the finer reason of `app-error`.

Each family is a set of the sentences real runtimes, frameworks and tools print for one kind of
failure (a flag the binary does not know, a module missing from the image, a failed migration, a
data directory it may not write, ...). The line that best says why the process died is asked
first; only when it names no family are the other dying words searched, newest first, so an old
warning never outranks the error the process died of.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from kcrash.core.diagnose.facts import dying_words, is_fatal

_PATH = r"""(?:['"‘`(]|\s|^)/[\w.@+-]"""  # a file path starts here


@dataclass(frozen=True, slots=True)
class Family:
    detail: str
    what: str  # what the error means, for the headline
    advice: str  # the first thing to do about it
    patterns: tuple[re.Pattern[str], ...]

    def says(self, line: str) -> bool:
        return any(p.search(line) for p in self.patterns)


def _any(*patterns: str, flags: int = 0) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p, flags) for p in patterns)


FAMILIES: tuple[Family, ...] = (
    Family(
        "bad-args",
        "it was started with a flag or argument it does not accept",
        "Compare the container's command/args with the flags this image's version accepts "
        "(a chart or manifest written for another version passes flags the binary lacks)",
        (
            *_any(
                r"flag provided but not defined: ",  # Go's flag package
                r"\bunknown (?:shorthand )?flag:? ",  # cobra / pflag
                r'\bunknown command "[^"]*" for "',  # cobra
                r"\bunrecognized arguments?: ",  # argparse
                r"the following arguments are required: ",  # argparse
                r"\bunexpected argument '[^']*' found",  # clap
                r"\bFound argument '[^']*' which wasn't expected",  # clap 2
                r"\bNo such (?:option|command):? ['\"]?-",  # click
                r"\bGot unexpected extra arguments? ",  # click
                r"\bunknown option ['\"`]-",  # commander.js
                r"\bunrecognized option ['\"‘`]?-",  # getopt, the JVM
                r"\binvalid option -- ",  # getopt
            ),
            *_any(r"\bUnrecognized (?:VM )?option: ", flags=re.I),
        ),
    ),
    Family(
        "import-error",
        "code it imports is missing from the image or does not match it",
        "Rebuild the image with the dependency at a version the code works with (requirements, "
        "lockfile, base image); `kubectl debug` into a copy of the pod to check what is installed",
        _any(
            r"\bModuleNotFoundError: ",
            r"\bImportError: ",
            r"\bNo module named ",
            r"\bCannot find (?:module|package) ['\"]",  # Node.js
            r"\bERR_MODULE_NOT_FOUND\b",
            r"\bcannot load such file -- ",  # Ruby
            r"\bNoClassDefFoundError\b",
            r"\bClassNotFoundException\b",
            r"\bCould not find or load main class\b",
            r"\berror while loading shared libraries: ",
            r"\bUnsatisfiedLinkError\b",
        ),
    ),
    Family(
        "migration",
        "its database migration failed",
        "Read the migration error: fix the migration (or the database state it expects) and "
        "redeploy; running migrations as a Job keeps a failed one from crash-looping the app",
        _any(
            r"\bmigrations? (?:\S+ )?failed\b",
            r"\bfailed to (?:run |apply )?migrat",
            r"\balembic\b.*\b(?:failed|error|Can't locate revision)",
            r"\bFlyway\w*Exception\b",
            r"\bValidate failed: Migrations? ",
            r"\bliquibase\.exception\.\w+",
            r"\bMigrationFailedException\b",
            r"\bdjango\.db\.migrations\.exceptions\.",
            r"\bPendingMigrationError\b",
            r"\bthis and all later migrations canceled",
            r"\bDirty database version \d+",
            r"\bmigrate found failed migrations\b",
            flags=re.I,
        ),
    ),
    Family(
        "missing-setting",
        "a setting it needs has no value",
        "Set the property it names: an env var (Spring maps FOO_BAR to foo.bar), a ConfigMap "
        "key or a config file entry, and check its spelling and case in the manifest",
        _any(
            r"\bCould not resolve placeholder '",
            r"\bFailed to bind properties under '",
            r"\bFailed to configure a DataSource: ",
            r"\bRequired (?:property|setting|config(?:uration)? value) '?[\w.-]+'? "
            r"(?:is )?(?:missing|not set)",
        ),
    ),
    Family(
        "certificate",
        "a certificate or key it loads is expired, not yet valid or unreadable",
        "Renew or replace the certificate it loads (the Secret or file mounted into the pod) and "
        "check its validity dates: `openssl x509 -noout -dates -in <file>`",
        _any(
            r"\bcertificate has expired\b",
            r"\bcertificate is not yet valid\b",
            r"\bCertificate(?:Expired|NotYetValid)Exception\b",
            r"\btls: failed to find any PEM data\b",
            r"\btls: private key does not match public key\b",
            r"\bfailed to load (?:the )?(?:x509 )?(?:certificate|key ?pair)\b",
            flags=re.I,
        ),
    ),
    Family(
        "file-permissions",
        "it may not read or write a file or directory it needs",
        "Give the user the container runs as access to that path: for a volume set "
        "securityContext.fsGroup (or fix the owner on the volume), or run with the UID the image "
        "expects",
        (
            re.compile(rf"{_PATH}[^:]*['\"’]?: [Pp]ermission denied\b"),
            re.compile(rf"\b[Pp]ermission denied\b[^;]*{_PATH}"),
            re.compile(r"\bEACCES: permission denied\b"),
            re.compile(r"\bPermissionError: "),
            re.compile(r"\bAccessDeniedException: /"),
            re.compile(r"\bhas wrong ownership\b"),
            re.compile(r"\bhas group or world access\b"),
            re.compile(rf"{_PATH}[^:]*['\"’]?: Operation not permitted\b"),
        ),
    ),
    Family(
        "read-only-filesystem",
        "it writes where the filesystem is read-only",
        "It writes outside its volumes: mount an emptyDir where it writes, or turn off "
        "readOnlyRootFilesystem if the image cannot run without writing",
        _any(r"\bRead-only file system\b", r"\bEROFS\b"),
    ),
    Family(
        "disk-full",
        "the disk it writes to is full",
        "Free or grow the volume it writes to (or raise the ephemeral-storage it may use)",
        _any(r"\bNo space left on device\b", r"\bENOSPC\b"),
    ),
    Family(
        "port-in-use",
        "the port it listens on is already taken",
        "Another process in the pod (or on the node, with hostNetwork) holds the port: change one "
        "of the ports, or run one copy per node",
        _any(r"\baddress already in use\b", r"\bEADDRINUSE\b", flags=re.I),
    ),
    Family(
        "panic",
        "it panicked: a bug, or input the code does not expect",
        "Read the panic's stack trace: the first frame in the app's own code is where it failed; "
        "check what that code reads at startup (config, volumes, API answers)",
        _any(
            r"^\s*panic: ",
            r"^\s*fatal error: (?!\w+\.h\b)",  # Go's runtime; not a C compiler's missing header
            r"\bthread '[^']*' panicked at\b",  # Rust
            r"\binvalid memory address or nil pointer dereference\b",
        ),
    ),
    Family(
        "exception",
        "it died of an exception it did not handle",
        "Read the exception and its first `Caused by:`: it says what the code tripped on",
        _any(
            r"\bException in thread \"",
            r"^\s*Traceback \(most recent call last\)",
            r"^\s*(?:Caused by: )?[\w$]+(?:\.[\w$]+)+(?:Exception|Error)(?::|$)",
            r"^\s*[A-Z]\w*(?:Error|Exception)(?:: |$)",  # Python, JavaScript
            r"\((?:[A-Z]\w*::)*[A-Z]\w*(?:Error|Exception)\)$",  # Ruby
            r"\bApplication (?:run|startup) failed\b",
            r"\bAPPLICATION FAILED TO START\b",
            r"\bUnhandled exception\. ",  # .NET
            r"\bUnhandledPromiseRejection\b",
            r"\bUncaught \w*(?:Error|Exception)\b",
            r"\bthrow er; // Unhandled 'error' event",
        ),
    ),
)

_BY_DETAIL = {family.detail: family for family in FAMILIES}
GENERIC = frozenset({"exception", "panic"})  # what went wrong, not why


@dataclass(frozen=True, slots=True)
class AppFailure:
    family: Family | None  # None: a fatal line of no known family
    line: str  # the line that says so

    @property
    def detail(self) -> str:
        return self.family.detail if self.family else ""


def family_of(line: str) -> Family | None:
    return next((family for family in FAMILIES if family.says(line)), None)


def app_failure(lines: Sequence[str]) -> AppFailure | None:
    """The kind of error the dying words show, with the line that says so; None when they show
    no error at all.

    The line the process died on decides, unless it only says "exception" or "panic": then a
    line after it that names the failure (`Migration failed` below a traceback) says more. An
    older line is asked only when the dying line names no kind at all."""
    said = dying_words(lines)
    at = max((i for i, line in enumerate(lines) if line.strip() == said), default=-1) if said else -1
    own = family_of(said) if said else None
    if own is not None and own.detail not in GENERIC:
        return AppFailure(own, said)
    newer = _specific(lines[at + 1 :])
    if newer is not None:
        return newer
    if own is not None:
        return AppFailure(own, said)
    if not said:  # no line looks like an error, but one may be worded as a family's
        return _specific(lines, generic=True)
    return _specific(lines[:at]) or AppFailure(None, said)


def _specific(lines: Sequence[str], *, generic: bool = False) -> AppFailure | None:
    """The newest line naming a kind of error more telling than an exception or a panic (or any
    kind, with `generic`)."""
    for line in reversed(lines):
        family = family_of(line)
        if family is not None and (generic or family.detail not in GENERIC):
            return AppFailure(family, line.strip())
    return None


def fatal_failure(lines: Sequence[str]) -> AppFailure | None:
    """An error that ended the process, not one it logged and lived with: a known family, or a
    fatal line (panic, FATAL, an uncaught exception). What a log alone must show to be a crash."""
    found = app_failure(lines)
    if found is None:
        return None
    if found.family is not None or is_fatal(found.line):
        return found
    return None


def family(detail: str) -> Family:
    return _BY_DETAIL[detail]
