"""Evaluation: the benchmark's metrics, the ground truth and the predictions they compare, scoring
by the DHF1K protocol, the scoreboard's tables and plots, and per-video scores of a dataset."""
