"""Statistics before models: EDA, assumption checks, drift, explanations, and the reports that log
them.
"""
