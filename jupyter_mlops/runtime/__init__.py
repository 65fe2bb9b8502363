"""Exactly what ships inside a model artifact: the loader, the data contract, the segment family.

Imports only the standard library, numpy, pandas, scikit-learn and mlflow; nothing from the rest
of jupyter_mlops, because a copy of it loads where jupyter-mlops is not installed.
"""
