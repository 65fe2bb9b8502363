"""Data versions with DVC: the user-facing operations (``operations``) and the one module that
writes through DVC (``dvc_repo``).
"""
