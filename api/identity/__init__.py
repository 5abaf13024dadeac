"""Local accounts: argon2id hashes, revocable tokens, lock-out; all outside the event log.

Secrets never enter the log: the log records who holds which role (``User`` events), this
package keeps the mutable credentials that let them prove it.
"""
