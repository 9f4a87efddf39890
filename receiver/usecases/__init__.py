"""One module per use case: load, decide through the domain, store once."""
