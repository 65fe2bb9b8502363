"""Notebooks run unattended: the runner, sweeps, reproduction, and many models, one per segment."""
