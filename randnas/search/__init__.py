"""Architecture search: random search with weight sharing (stage 1 and selection), and later ASHA."""
