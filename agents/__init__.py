"""Network agents: RADIUS and NetFlow/IPFIX servers (DESIGN §7)."""
