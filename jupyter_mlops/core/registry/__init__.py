"""From a notebook object to a registered model: capture, package, verify, register; model cards;
versions and aliases; loading.
"""
