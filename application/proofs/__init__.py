"""Proofs over the log: its Merkle tree (RFC 9162) and signed checkpoints (C2SP)."""
