"""The rules of incidents and postmortems. Pure: no I/O, no clock (time is passed in), no
web, database or wire models."""
