"""The performance benchmark (SPEC §7): `make bench`. Not part of `make test`."""
