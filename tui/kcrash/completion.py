"""`kcrash completion bash|zsh`: a shell completion script made from the command line's own parsers.

The flags, their values (`--theme dark|light|high-contrast`, `-o text|json`) and the subcommands
are read from the argparse parsers, so the script never lists a flag the program does not take.
Values only the cluster knows are asked of kubectl when the user presses Tab: contexts for
`--context`, namespaces for `-n` (both quietly empty when kubectl is not there).

    source <(kcrash completion bash)       # in ~/.bashrc
    source <(kcrash completion zsh)        # in ~/.zshrc, after compinit
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Callable
from dataclasses import dataclass

SHELLS = ("bash", "zsh")
CONTEXTS = "kubectl config get-contexts -o name 2>/dev/null"
NAMESPACES = "kubectl get namespaces -o name 2>/dev/null | sed 's,^namespace/,,'"
ASKS_KUBECTL = {"--context": CONTEXTS, "--namespace": NAMESPACES, "-n": NAMESPACES}
FILE_METAVARS = {"PATH", "FILE"}
FILE_FLAGS = {"--kubeconfig"}
KNOWN_VALUES = {"--theme": ("dark", "light", "high-contrast")}
"""Values a flag checks itself rather than through argparse `choices` (themes are data files)."""


@dataclass(frozen=True, slots=True)
class Flag:
    """One option of one parser: its spellings, whether it takes a value, and the values it allows."""

    names: tuple[str, ...]
    help: str
    takes_value: bool
    choices: tuple[str, ...] = ()
    files: bool = False


def _parsers() -> dict[str, Callable[[], argparse.ArgumentParser]]:
    """ "" for `kcrash` itself, then each subcommand; imported here, only when a script is asked for."""
    from kcrash.diagnose_cmd import build_parser as diagnose_parser
    from kcrash.history.history_cmd import build_parser as history_parser
    from kcrash.history.record_cmd import build_parser as record_parser
    from kcrash.lab.cli import build_parser as lab_parser
    from kcrash.ui.launch import build_parser as console_parser
    from kcrash.watch_cmd import build_parser as watch_parser

    return {
        "": console_parser,
        "diagnose": diagnose_parser,
        "watch": watch_parser,
        "record": record_parser,
        "history": history_parser,
        "lab": lab_parser,
        "completion": _own_parser,
    }


def _own_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kcrash completion", description="Print a shell completion script.")
    parser.add_argument("shell", choices=SHELLS)
    return parser


def flags_of(parser: argparse.ArgumentParser) -> list[Flag]:
    """The options `parser` takes, hidden ones (help=SUPPRESS) left out."""
    flags = []
    for action in parser._actions:
        if not action.option_strings or action.help == argparse.SUPPRESS:
            continue
        metavar = action.metavar if isinstance(action.metavar, str) else ""
        flags.append(
            Flag(
                names=tuple(action.option_strings),
                help=(action.help or "").replace("%(default)s", str(action.default)),
                takes_value=action.nargs != 0,
                choices=tuple(str(c) for c in action.choices or ())
                or next((KNOWN_VALUES[n] for n in action.option_strings if n in KNOWN_VALUES), ()),
                files=metavar in FILE_METAVARS or bool(FILE_FLAGS.intersection(action.option_strings)),
            )
        )
    return flags


def _kubectl_question(flag: Flag) -> str:
    """The kubectl command that lists the values of `flag`, or "" when kubectl cannot tell."""
    return next((ASKS_KUBECTL[name] for name in flag.names if name in ASKS_KUBECTL), "")


def _bash_values(flag: Flag) -> str:
    """What bash offers after `flag`: its choices, file names, kubectl's answer, or nothing."""
    if flag.choices:
        return f'COMPREPLY=($(compgen -W "{" ".join(flag.choices)}" -- "$cur")); '
    if flag.files:
        return 'COMPREPLY=($(compgen -f -- "$cur")); '
    if ask := _kubectl_question(flag):
        return f'COMPREPLY=($(compgen -W "$({ask})" -- "$cur")); '
    return ""


def bash_script() -> str:
    """A bash function for `complete -F`: subcommands first, then each command's flags and values."""
    parsers = {name: flags_of(build()) for name, build in _parsers().items()}
    cases = []
    for command, flags in parsers.items():
        words = " ".join(name for flag in flags for name in flag.names)
        if not command:
            words += " " + " ".join(sorted(c for c in parsers if c))
        values = [
            f"            {'|'.join(flag.names)}) {_bash_values(flag)}return;;"
            for flag in flags
            if flag.takes_value
        ]
        if command == "completion":
            words = "bash zsh " + words
        cases.append(
            f"        {shlex.quote(command) if command else '__top'})\n"
            '            case "$prev" in\n'
            + "\n".join(values)
            + ("\n" if values else "")
            + "            esac\n"
            f'            COMPREPLY=($(compgen -W "{words}" -- "$cur"));;'
        )
    body = "\n".join(cases)
    return f"""# kcrash completion for bash: source <(kcrash completion bash)
_kcrash() {{
    local cur="${{COMP_WORDS[COMP_CWORD]}}" prev="${{COMP_WORDS[COMP_CWORD-1]}}" command=__top
    if [[ $COMP_CWORD -gt 1 ]]; then
        case "${{COMP_WORDS[1]}}" in
            {"|".join(c for c in parsers if c)}) command="${{COMP_WORDS[1]}}";;
        esac
    fi
    case "$command" in
{body}
    esac
}}
complete -o default -F _kcrash kcrash
"""


def _zsh_spec(flag: Flag) -> str:
    """One `_arguments` spec: `(-n --namespace)'{-n,--namespace}'[help]:NS:action`."""
    help_text = flag.help.replace("[", "(").replace("]", ")").replace("'", "").replace(":", " ")
    value = ""
    if flag.takes_value:
        if flag.choices:
            value = ":value:(" + " ".join(flag.choices) + ")"
        elif flag.files:
            value = ":file:_files"
        elif ask := _kubectl_question(flag):
            value = f':value:{{compadd -- ${{(f)"$({ask})"}}}}'
        else:
            value = ":value: "
    names = flag.names
    if len(names) == 1:
        return shlex.quote(f"{names[0]}[{help_text}]{value}")
    exclusive = "(" + " ".join(names) + ")"
    return shlex.quote(exclusive) + "{" + ",".join(names) + "}" + shlex.quote(f"[{help_text}]{value}")


def zsh_script() -> str:
    """A zsh completion function (`compdef`): `_arguments` per command, subcommands described."""
    parsers = {name: (build(), flags_of(build())) for name, build in _parsers().items()}
    commands = " ".join(
        shlex.quote(f"{name}:{(parser.description or '').split('.')[0].replace(':', ' ')}")
        for name, (parser, _) in parsers.items()
        if name
    )
    cases = []
    for command, (_, flags) in parsers.items():
        if not command:
            continue
        specs = " \\\n                ".join(_zsh_spec(flag) for flag in flags)
        extra = " '1:shell:(bash zsh)'" if command == "completion" else ""
        cases.append(f"        {command}) _arguments -s {specs}{extra};;")
    top = " \\\n        ".join(_zsh_spec(flag) for flag in parsers[""][1])
    return f"""#compdef kcrash
# kcrash completion for zsh: source <(kcrash completion zsh)  (after compinit)
_kcrash() {{
    if (( CURRENT > 2 )); then
        case "$words[2]" in
            {"|".join(c for c in parsers if c)})
                local command="$words[2]"
                shift words; (( CURRENT-- ))
                case "$command" in
{chr(10).join(cases)}
                esac
                return;;
        esac
    fi
    local -a commands=({commands})
    _arguments -s {top} \\
        '1: :{{_describe command commands}}'
}}
compdef _kcrash kcrash
"""


def main(args: list[str]) -> int:
    """Print the script for the shell named; one line and status 2 for anything else."""
    if len(args) != 1 or args[0] not in SHELLS:
        sys.stderr.write("kcrash: completion needs one shell: kcrash completion bash (or zsh)\n")
        return 2
    sys.stdout.write(bash_script() if args[0] == "bash" else zsh_script())
    return 0
