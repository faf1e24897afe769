"""Why a pod keeps dying: the diagnosis an on-call engineer would write after `describe` and `logs`.

`diagnose` gathers the facts about the container in trouble (`facts`) and asks the rules in the
order of `engine.RULES`; each rule family lives in its own module (`image`, `config`, `memory`,
`probes`, `execution`, `network`, `exits`, `placement`, `health`) and writes its verdict with the
words of `wording`. `explain_rules` says what every rule made of a pod.

Parts the input names absent (a paste without the spec, the events, metrics, or an exact time)
are unknowns: the rules say so and name the command that shows them, never read them as empty.

Pure: time comes in with the input, nothing is read from anywhere.
"""

from kcrash.core.diagnose.config import MissingConfig, parse_missing_config
from kcrash.core.diagnose.engine import RULES, Rule, RuleTrace, diagnose, explain_rules
from kcrash.core.diagnose.facts import Facts, dying_words, gather
from kcrash.core.diagnose.image import image_pull_problem, registry_of, repository_of
from kcrash.core.diagnose.memory import memory_trend
from kcrash.core.diagnose.network import dependency_failure, missing_env
from kcrash.core.diagnose.probes import startup_allowance, startup_seconds_from_logs
from kcrash.core.diagnose.rollout import describe_change
from kcrash.core.diagnose.wording import (
    QUOTE_LIMIT,
    command_words,
    fmt_seconds,
    nice_mib,
    quote,
    termination_quote,
    workload,
)

__all__ = [
    "QUOTE_LIMIT",
    "RULES",
    "Facts",
    "MissingConfig",
    "Rule",
    "RuleTrace",
    "command_words",
    "dependency_failure",
    "describe_change",
    "diagnose",
    "dying_words",
    "explain_rules",
    "fmt_seconds",
    "gather",
    "image_pull_problem",
    "memory_trend",
    "missing_env",
    "nice_mib",
    "parse_missing_config",
    "quote",
    "registry_of",
    "repository_of",
    "startup_allowance",
    "startup_seconds_from_logs",
    "termination_quote",
    "workload",
]
