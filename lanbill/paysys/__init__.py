"""Payment systems (DESIGN §11): the protocols and rules by which outside
parties — terminals, banks, aggregators, prepaid payment cards — book
payments, one module per system."""
