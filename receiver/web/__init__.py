"""HTTP: the route table, the JSON API (`api/`) and the review pages (`pages/`) apart, and
what both share: authentication, sessions, bounded bodies, errors and serialization."""
