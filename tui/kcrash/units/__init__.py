"""Kubernetes' units, one implementation for the client and the lab: resource quantities ("256Mi",
"500m") and durations (kubectl's AGE, Go's `time.Duration`). A leaf: it imports nothing of kcrash,
so the lab and the client side, which share no other code, may both use it."""
