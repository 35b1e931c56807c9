"""Operations: backups and restores, health and metrics for monitoring,
and the import of an ISP's data moving in from another billing (DESIGN §14)."""
