"""Payment systems: one pure module per protocol (request fields in,
result out), registries, payment cards and 54-FZ receipts (DESIGN §11)."""
