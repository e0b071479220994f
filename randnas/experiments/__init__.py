"""The record's schema: one module per kind of experiment, each the only writer (`open_run`) and the only reader
(`row`, its artifact readers) of its runs. `catalog.load_record` reads the whole record as typed rows; the book's
tables and the claims ledger take those rows and never an MLflow key.

Kinds: `datasets`, `rsws` (stage 1 on the DARTS spaces), `train` (stages 2 and 3), `darts`, `asha`, `nb201`
(RSWS on NAS-Bench-201 and its best of N), `ranking` (shared-weight scores against stand-alone training) and
`surrogate` (the NAS-Bench-301 surrogate)."""
