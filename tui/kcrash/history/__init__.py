"""What outlives one run of kcrash: the crash archive, its settings and the headless recorder."""
