"""Settings package: `base` plus one module per integration; `local`, `test` and
`production` pick the environment."""
