"""Training from scratch (stages 2 and 3) and the checkpoint helper every trainer uses."""
