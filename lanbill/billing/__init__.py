"""Money: the ledger (the one door to a balance), payments, rent, blocks,
promised payments, services, volume and time charging, currencies and
rates, tariffs, billing periods and the billing run (DESIGN §4–§6).

A domain room: no Flask; the actor is passed in.  Where is the rent
charged?  `rent.py`.
"""
