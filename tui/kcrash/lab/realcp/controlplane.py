"""A real control plane on 127.0.0.1: which flags each part gets, in what order they start, and when
the whole is ready.

etcd (plain HTTP on loopback, no fsync: the data is thrown away) -> kube-apiserver (https, a free port
unless one is asked for, Node+RBAC authorization, static tokens) -> kube-controller-manager and
kube-scheduler (each with a token kubeconfig, no leader election). Ready means etcd's /health, the
apiserver's /readyz and both controllers' /healthz answer 200. All files of one run (keys, etcd data,
kubeconfigs, logs) live in one private directory that `stop` removes; after a crash the logs stay so
the line that reports it can point at one.
"""

from __future__ import annotations

import json
import socket
import ssl
import tempfile
import time
import urllib.error
import urllib.request
import urllib.response
from pathlib import Path
from types import TracebackType

from kcrash.lab.kubeconfig import write_kubeconfig
from kcrash.lab.realcp.binaries import Binaries
from kcrash.lab.realcp.pki import SERVICE_CIDR, Pki, Token, write_pki
from kcrash.lab.realcp.processes import Part, Supervisor, remove_tree

HOST = "127.0.0.1"
START_TIMEOUT = 120.0  # a cold kube-apiserver on two busy cores takes tens of seconds
POLL = 0.2
SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local"


class StartError(Exception):
    """The control plane did not come up; the message is one line naming the part and its log."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


class ControlPlane:
    """`with ControlPlane(binaries) as cp:` starts every part and waits until all are ready."""

    def __init__(self, binaries: Binaries, port: int = 0, namespace: str = "crashlab") -> None:
        self.binaries = binaries
        self.port = port or free_port()
        self.namespace = namespace
        self.state_dir = Path(tempfile.mkdtemp(prefix="kcrash-controlplane-"))
        self.pki: Pki | None = None
        self.supervisor = Supervisor(self.state_dir / "logs", state_dir=self.state_dir)
        self.etcd_url = ""
        self._component_ports: dict[str, int] = {}
        self._timeout = START_TIMEOUT
        self._keep_logs = False

    @property
    def url(self) -> str:
        return f"https://{HOST}:{self.port}"

    @property
    def admin_token(self) -> str:
        assert self.pki is not None
        return self.pki.admin.value

    @property
    def ca_pem(self) -> bytes:
        assert self.pki is not None
        return self.pki.ca_pem

    def __enter__(self) -> ControlPlane:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    def start(self, timeout: float = START_TIMEOUT) -> None:
        self._timeout = timeout
        try:
            self._start_all(time.monotonic() + timeout)
        except StartError:
            self._keep_logs = True  # the error names a log file
            raise

    def _start_all(self, deadline: float) -> None:
        self.pki = write_pki(self.state_dir / "pki")
        self._start_etcd()
        self._wait(f"{self.etcd_url}/health", "etcd", deadline)
        self._start_apiserver()
        self._wait(f"{self.url}/readyz", "kube-apiserver", deadline)
        self._start_controller("kube-controller-manager", self.pki.controller_manager, self._kcm_flags())
        self._start_controller("kube-scheduler", self.pki.scheduler, [])
        for name, port in self._component_ports.items():
            self._wait(f"https://{HOST}:{port}/healthz", name, deadline, verify=False)
        self.ensure_namespace(self.namespace)

    def crashed(self) -> Part | None:
        return self.supervisor.crashed()

    def stop(self) -> None:
        """Stop every part; remove the run's files, except the logs when a part crashed or did not start."""
        keep_logs = self._keep_logs or self.supervisor.crashed() is not None
        self.supervisor.stop()
        keep = ["logs"] if keep_logs else []
        remove_tree(self.state_dir, keep=keep)

    def write_kubeconfig(self, path: Path, namespace: str | None = None) -> Path:
        """An admin kubeconfig shaped like the embedded lab's: the CA inline and a bearer token."""
        return write_kubeconfig(
            path, self.url, self.admin_token, namespace or self.namespace, ca_pem=self.ca_pem
        )

    def ensure_namespace(self, name: str) -> None:
        body = json.dumps({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
        request = urllib.request.Request(
            f"{self.url}/api/v1/namespaces",
            data=body.encode("utf-8"),
            method="POST",
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.admin_token}"},
        )
        try:
            with self._open(request, verify=True, timeout=10):
                pass
        except urllib.error.HTTPError as error:
            if error.code != 409:  # already there
                raise StartError(f"cannot create namespace {name}: HTTP {error.code}") from None
        except OSError as error:
            raise StartError(f"cannot create namespace {name}: {error}") from None

    # -- the parts ---------------------------------------------------------------------------------

    def _start_etcd(self) -> None:
        client, peer = free_port(), free_port()
        self.etcd_url = f"http://{HOST}:{client}"
        peer_url = f"http://{HOST}:{peer}"
        self.supervisor.start(
            "etcd",
            [
                str(self.binaries.path("etcd")),
                "--name=kcrash",
                f"--data-dir={self.state_dir / 'etcd'}",
                f"--listen-client-urls={self.etcd_url}",
                f"--advertise-client-urls={self.etcd_url}",
                f"--listen-peer-urls={peer_url}",
                f"--initial-advertise-peer-urls={peer_url}",
                f"--initial-cluster=kcrash={peer_url}",
                "--unsafe-no-fsync=true",
                "--log-level=warn",
            ],
        )

    def _start_apiserver(self) -> None:
        pki = self._pki()
        f = pki.file
        self.supervisor.start(
            "kube-apiserver",
            [
                str(self.binaries.path("kube-apiserver")),
                f"--etcd-servers={self.etcd_url}",
                f"--bind-address={HOST}",
                f"--advertise-address={HOST}",
                f"--secure-port={self.port}",
                f"--cert-dir={self.state_dir / 'apiserver'}",
                f"--tls-cert-file={f('apiserver.crt')}",
                f"--tls-private-key-file={f('apiserver.key')}",
                f"--client-ca-file={f('ca.crt')}",
                f"--token-auth-file={pki.tokens_file}",
                "--authorization-mode=Node,RBAC",
                f"--service-account-issuer={SERVICE_ACCOUNT_ISSUER}",
                f"--service-account-key-file={f('sa.pub')}",
                f"--service-account-signing-key-file={f('sa.key')}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                f"--kubelet-client-certificate={f('apiserver-kubelet-client.crt')}",
                f"--kubelet-client-key={f('apiserver-kubelet-client.key')}",
                # The lab's nodes are reachable on their InternalIP (loopback) only.
                "--kubelet-preferred-address-types=InternalIP",
                f"--requestheader-client-ca-file={f('front-proxy-ca.crt')}",
                "--requestheader-allowed-names=front-proxy-client",
                "--requestheader-username-headers=X-Remote-User",
                "--requestheader-group-headers=X-Remote-Group",
                "--requestheader-extra-headers-prefix=X-Remote-Extra-",
                f"--proxy-client-cert-file={f('front-proxy-client.crt')}",
                f"--proxy-client-key-file={f('front-proxy-client.key')}",
                "--allow-privileged=true",
                # The `kubernetes` Service would get 127.0.0.1 as its endpoint, which endpoint
                # validation refuses; nothing in the lab connects through that Service.
                "--endpoint-reconciler-type=none",
                "--profiling=false",
            ],
        )

    def _kcm_flags(self) -> list[str]:
        f = self._pki().file
        return [
            f"--service-account-private-key-file={f('sa.key')}",
            f"--root-ca-file={f('ca.crt')}",
            "--use-service-account-credentials=true",
            f"--cluster-signing-cert-file={f('ca.crt')}",
            f"--cluster-signing-key-file={f('ca.key')}",
        ]

    def _start_controller(self, name: str, token: Token, extra: list[str]) -> None:
        kubeconfig = write_kubeconfig(
            self.state_dir / f"{name}.kubeconfig", self.url, token.value, "default", ca_pem=self._pki().ca_pem
        )
        port = free_port()
        self._component_ports[name] = port
        self.supervisor.start(
            name,
            [
                str(self.binaries.path(name)),
                f"--kubeconfig={kubeconfig}",
                f"--authentication-kubeconfig={kubeconfig}",
                f"--authorization-kubeconfig={kubeconfig}",
                f"--bind-address={HOST}",
                f"--secure-port={port}",
                f"--cert-dir={self.state_dir / name}",
                "--leader-elect=false",
                *extra,
            ],
        )

    def _pki(self) -> Pki:
        assert self.pki is not None, "start() writes the keys first"
        return self.pki

    # -- readiness ---------------------------------------------------------------------------------

    def _wait(self, url: str, name: str, deadline: float, *, verify: bool = True) -> None:
        """Poll `url` until it answers 200; fail at once if any part has died meanwhile."""
        last = "no answer yet"
        while time.monotonic() < deadline:
            crashed = self.supervisor.crashed()
            if crashed is not None:
                raise StartError(crashed.describe_exit())
            try:
                with self._open(urllib.request.Request(url), verify=verify, timeout=2) as response:
                    if response.status == 200:
                        return
            except urllib.error.HTTPError as error:
                last = f"HTTP {error.code}"
            except (OSError, ssl.SSLError) as error:
                last = str(getattr(error, "reason", error))
            time.sleep(POLL)
        log = self.state_dir / "logs" / f"{name}.log"
        raise StartError(f"{name} was not ready within {self._timeout:g} s ({last}); log: {log}")

    def _open(
        self, request: urllib.request.Request, *, verify: bool, timeout: float
    ) -> urllib.response.addinfourl:
        handlers: list[urllib.request.BaseHandler] = [urllib.request.ProxyHandler({})]
        if request.full_url.startswith("https:"):
            context = (
                ssl.create_default_context(cadata=self.ca_pem.decode("ascii")) if verify else _insecure()
            )
            handlers.append(urllib.request.HTTPSHandler(context=context))
        return urllib.request.build_opener(*handlers).open(request, timeout=timeout)  # type: ignore[no-any-return]


def _insecure() -> ssl.SSLContext:
    """The controllers serve /healthz with a certificate they make up themselves; only liveness is asked."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context
