"""Payment systems: the outside parties that book payments without staff
typing them — their configuration, one pure module per protocol,
registries, payment cards and fiscal receipts (DESIGN §11)."""
