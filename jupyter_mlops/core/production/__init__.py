"""A promoted model in production: serve it, score files with it, monitor what it sees.

One module per verb (``serve``, ``score``, ``monitor``), each over ``registry`` to find and load
the model and over the shipped ``runtime`` for what must run inside it (the contract, the
inference log writer). ``target`` is what they share: which registered version, which files.
"""
