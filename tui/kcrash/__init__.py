"""kcrash: a terminal console for Kubernetes pods that crash-loop."""
