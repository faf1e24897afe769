"""The simulated scheduler + kubelet: binds pods to nodes and runs their containers on sim time.

Every container is a small state machine driven by timers on one shared scheduler (no task or
polling loop per pod): start, log, answer or fail probes, exit, and be restarted with the kubelet's
crash backoff. Status fields, waiting reasons and event texts follow what a containerd-based kubelet
reports. What a container does comes from its Behaviour (lab/scenarios.py), never from its name.

The parts: `state` (the per-pod and per-container records), `nodes` (Node objects and placement),
`status` (pod status as pure functions of the records and `now`), `containers` (sync, back-off,
pulls, start), `running` (logs, heartbeat, exits), `probes`, `metrics` (PodMetrics and the series
behind `/metrics`), `base` (shared state and services) and `sync` (the pod loop: `Kubelet`).
"""

from kcrash.lab.kubelet.running import cut_mid_word
from kcrash.lab.kubelet.state import ContainerRun, Instance, Node, PodRun
from kcrash.lab.kubelet.sync import Kubelet

__all__ = ["ContainerRun", "Instance", "Kubelet", "Node", "PodRun", "cut_mid_word"]
