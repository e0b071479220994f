"""Full-fidelity answers on the DARTS space from a surrogate benchmark (NAS-Bench-301, YAHPO Gym's v2 model)."""
