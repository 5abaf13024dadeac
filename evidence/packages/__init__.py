"""Judicial requisitions' exports as evidence packages (DESIGN §7, docs/FORMATS.md §9).

``cases`` holds the use cases mixed into ``Archives``; ``build`` produces the signed BagIt
bag (``journal`` proves its events against one checkpoint, ``bag`` writes and zips it,
``report`` renders the custody report). The offline verifier is ``tools/verify_package.py``.
"""
