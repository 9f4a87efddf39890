"""Alertmanager (and Grafana's built-in one): the webhook it sends, the API the
reconciler asks, its silences, and when to believe its list of firing alerts."""
