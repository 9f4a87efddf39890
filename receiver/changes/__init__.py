"""Change feeds (issue 20): how each source signs its requests, and what its body says,
read into the domain's ServiceChange. An adapter: no store, no HTTP handler."""
