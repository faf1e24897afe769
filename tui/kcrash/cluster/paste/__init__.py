"""Readers for kubectl's text output as people paste it; `kcrash.cluster.pastes` is the entry point."""
