"""Storage: where the database is, its schema, the event log's recorder, integrity
(hash chain and checkpoints), the command log and snapshots."""
