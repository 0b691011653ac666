"""Limits that keep a run within the machine: read by the readers, shown by the command line (this
module imports nothing, so `stencilgen --help` stays quick)."""

#: refuse layouts that expand to more contacts than this (references and arrays multiplied out,
#: counted before anything is expanded). A plan of 1,000,000 flat contacts peaks at about 1.6 GB of
#: memory; 4,000,000 stays near 7 GB, well inside a 24 GiB machine shared with other work.
DEFAULT_MAX_CONTACTS = 4_000_000
