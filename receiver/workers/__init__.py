"""Background passes, each in its own module: the reconciler, the evidence fetcher and
the loop that runs a pass every so often or when a commit says there is work."""
