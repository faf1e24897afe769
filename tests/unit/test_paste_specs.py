"""The `containers:` part of a manifest, pasted alone (a Helm template's too), read as the spec."""

from __future__ import annotations

from pathlib import Path

import pytest
from paste_cli import diagnose_pastes

from kcrash.cluster.paste.specs import container_pieces
from kcrash.cluster.paste.text import prepare

HELM = """\
      containers:
        - name: rabbitmq
          image: {{ template "rabbitmq.image" . }}
          imagePullPolicy: {{ .Values.image.pullPolicy | quote }}
          {{- if .Values.containerSecurityContext }}
          securityContext: {{- toYaml .Values.containerSecurityContext | nindent 12 }}
          {{- end }}
          command:
            - ls
"""


def test_a_helm_templates_containers_give_their_commands() -> None:
    facts = container_pieces(prepare(HELM))
    assert facts is not None
    (spec,) = facts.pod.containers
    assert (spec.name, spec.image, spec.command) == ("rabbitmq", "", ("ls",))
    assert facts.pod.restart_policy == "Always" and "spec" in facts.shows


@pytest.mark.parametrize(
    "text",
    [
        "containers:\n  - name: web\n    args:\n      - --port={{ .Values.port }}\n",  # the args are unknown
        "containers:\n  - image: busybox\n",  # no name: no container to speak of
        "spec:\n  replicas: 2\n",
    ],
)
def test_containers_that_do_not_say_what_runs_are_not_read(text: str) -> None:
    assert container_pieces(prepare(text)) is None


def test_the_restart_policy_written_beside_them_counts() -> None:
    facts = container_pieces(
        prepare("restartPolicy: OnFailure\ncontainers:\n  - name: job\n    image: busybox\n")
    )
    assert facts is not None and facts.pod.restart_policy == "OnFailure"


def test_a_finite_command_in_the_pasted_containers_of_a_crash_looping_pod(tmp_path: Path) -> None:
    (row,) = diagnose_pastes(tmp_path, "The RabbitMQ pod is in CrashLoopBackOff state.\n", HELM)
    assert (row["cause"], row["detail"]) == ("exits-zero", "one-shot")
