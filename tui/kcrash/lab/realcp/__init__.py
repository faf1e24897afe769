"""A real Kubernetes control plane on loopback: etcd, kube-apiserver, kube-controller-manager and
kube-scheduler, built from the modules pinned in `controlplane/` (`make controlplane`).

- `binaries`: where `make controlplane` put them, and the one line to print when it has not run.
- `pki`: the certificates, service-account keys, static tokens and kubeconfigs the parts need.
- `processes`: each part in a session of its own, stopped together; a watchdog for a killed parent.
- `controlplane`: the flags of each part, the start order and the readiness checks.
- `run`: `kcrash lab --control-plane real`.
"""
