"""postmortem-receiver: Alertmanager webhooks in, draft postmortems out."""

__version__ = "0.1.0"
