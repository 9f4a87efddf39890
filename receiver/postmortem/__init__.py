"""Draft postmortems: the view of an incident, Markdown filters, the sandboxed template
rendering, where the shipped templates are, and the sample used to check templates."""
