"""The performance benchmark of the performance goals (README, "Performance"): `make bench`. Not part of `make test`."""
