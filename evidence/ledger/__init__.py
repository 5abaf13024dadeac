"""The tamper-evident ledger: leaf inputs, hash chain, RFC 9162 tree, signed checkpoints."""
