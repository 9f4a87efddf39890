"""The JSON API: thin handlers that parse, call the service and map results to responses."""
