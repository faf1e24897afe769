"""The simulated nodes: their addresses, the Node objects the kubelet registers, and which node a
new pod goes to (scenario pods spread over the workers, extra pods fill a pool one node at a time).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from kcrash.lab.events import stamp
from kcrash.lab.kubelet.state import Node
from kcrash.lab.store import Conflict, Obj, ObjectStore


def node_object(node: Node, now: float) -> Obj:
    """The Node a containerd kubelet registers: created three weeks ago, Ready for two days."""
    created = stamp(now - 86400 * 21)
    ready_since = stamp(now - 86400 * 2)
    conditions = [
        (
            "MemoryPressure",
            "False",
            "KubeletHasSufficientMemory",
            "kubelet has sufficient memory available",
        ),
        ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
        ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
        ("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
    ]
    obj: Obj = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": node.name,
            "creationTimestamp": created,
            "labels": {
                "kubernetes.io/hostname": node.name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "node.kubernetes.io/instance-type": "m6i.2xlarge",
            },
        },
        "spec": {"podCIDR": node.cidr_prefix + "0/24", "podCIDRs": [node.cidr_prefix + "0/24"]},
        "status": {
            "addresses": [
                {"type": "InternalIP", "address": node.ip},
                {"type": "Hostname", "address": node.name},
            ],
            "capacity": {
                "cpu": "8",
                "memory": "32560916Ki",
                "pods": "110",
                "ephemeral-storage": "101430960Ki",
            },
            "allocatable": {
                "cpu": "7910m",
                "memory": "31409940Ki",
                "pods": "110",
                "ephemeral-storage": "93478772582",
            },
            "conditions": [
                {
                    "type": t,
                    "status": s,
                    "reason": r,
                    "message": m,
                    "lastHeartbeatTime": ready_since,
                    "lastTransitionTime": ready_since,
                }
                for t, s, r, m in conditions
            ],
            "nodeInfo": {
                "architecture": "amd64",
                "containerRuntimeVersion": "containerd://1.7.22",
                "kernelVersion": "6.1.112-124.190.amzn2023.x86_64",
                "kubeProxyVersion": "",
                "kubeletVersion": "v1.31.2",
                "operatingSystem": "linux",
                "osImage": "Amazon Linux 2023.6.20241031",
                "bootID": "",
                "machineID": "",
                "systemUUID": "",
            },
        },
    }
    return obj


class NodePool:
    """Every simulated node, how many pods each runs, and the next pod IP on each."""

    def __init__(self, store: ObjectStore, now: Callable[[], float]) -> None:
        self.store = store
        self.now = now
        self.nodes: list[Node] = []
        self._pool: list[Node] = []  # extra pods fill these one after the other
        self._workers: list[Node] = []  # scenario pods spread over these
        self._load: dict[str, int] = {}
        self._next_ip: dict[str, int] = {}

    def add(self, count: int, prefix: str = "lab-worker") -> None:
        for _ in range(count):
            i = len(self.nodes)
            block = i + 1
            number = sum(1 for n in self.nodes if n.name.startswith(prefix + "-")) + 1
            node = Node(
                name=f"{prefix}-{number}",
                ip=f"10.0.{1 + i // 250}.{10 + i % 250}",
                cidr_prefix=f"10.{244 + block // 256}.{block % 256}.",
            )
            self.nodes.append(node)
            (self._pool if prefix == "lab-pool" else self._workers).append(node)
            self._load[node.name] = 0
            self._next_ip[node.name] = 2
            self._register(node)

    def _register(self, node: Node) -> None:
        if self.store.get("nodes", "", node.name) is not None:
            return
        with contextlib.suppress(Conflict):
            self.store.create("nodes", node_object(node, self.now()))

    def pick(self, limit: int = 110) -> Node:
        """The least loaded worker; a new node when even that one is full."""
        if not self.nodes:
            self.add(3)
        workers = self._workers or self.nodes
        node = min(workers, key=lambda n: self._load[n.name])
        if self._load[node.name] >= limit:
            self.add(1)
            node = self.nodes[-1]
        return node

    def pool_node(self, limit: int = 100) -> Node:
        """A node of the extra-pods pool with room, filled one after the other."""
        if self._pool and self._load[self._pool[-1].name] < limit:
            return self._pool[-1]
        self.add(1, prefix="lab-pool")
        return self._pool[-1]

    def named(self, name: object) -> Node | None:
        return next((n for n in self.nodes if n.name == name), None)

    def occupy(self, node: Node) -> None:
        self._load[node.name] += 1

    def vacate(self, node: Node) -> None:
        self._load[node.name] -= 1

    def allocate_ip(self, node: Node) -> str:
        host = self._next_ip[node.name]
        self._next_ip[node.name] = 2 if host >= 254 else host + 1
        return f"{node.cidr_prefix}{host}"
