"""Retention (CSI L252-5): deadlines, holds with a legal basis, purges and their proofs.

``rules`` (pure), ``index`` (derived due-segment index), ``holds`` (use cases mixed into
``Archives``), ``purge`` (the runner), ``report`` (the inspector's purge proof) and
``audit`` (the storage audit).
"""
