"""Tables and figures for the book, computed from the MLflow record and the datasets."""
