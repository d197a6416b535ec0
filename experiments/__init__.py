"""Orchestration: train, report, export, bench. Run as `python -m experiments.<name>`."""
