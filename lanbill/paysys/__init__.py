"""Payment systems (DESIGN §11): the protocols and rules by which outside
parties — terminals, banks, aggregators, bank registries, prepaid payment
cards — book payments, one pure module per protocol (request fields in,
result out), and the 54-FZ receipts for them."""
