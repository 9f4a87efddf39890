"""Messages to chat platforms: what happened to an incident, with its review link."""
