"""randnas: random search and reproducibility for neural architecture search (Li & Talwalkar, 2019)."""

__version__ = "0.1.0"
