"""Documents (DESIGN §12, DOMAIN-RULES §5): invoices, prepayment invoices,
monthly acts, VAT invoices and УПД, reconciliation statements — numbered
without gaps, rendered to PDF by WeasyPrint, immutable once issued.

Modules: words (amounts in words), vat (VAT arithmetic), qr (GOST R 56042
payment QR), numbering (gapless counters), content (what each kind says),
render (templates → PDF), issue (issue, cancel, correct, the stored PDF),
monthly (the monthly run), batch (a month's documents as one PDF or ZIP).
"""
