"""Evidence for draft postmortems: what the alert's expression did around the incident.

Building blocks, each with one concern: `promql` reads an alert's expression and its
threshold, `prometheus` asks Prometheus for the `series`, `summary` measures them and
`chart` draws them as SVG.
"""
