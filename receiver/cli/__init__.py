"""What the command line (receiver/__main__.py) says to people: its words in both languages,
user errors as one line each, and incidents and settings formatted for a terminal."""
