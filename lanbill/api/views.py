"""API resources are registered by importing their modules here (one
module per resource; add yours on a line of its own, in name order)."""

import lanbill.api.accounts
import lanbill.api.agents
import lanbill.api.agreements
import lanbill.api.documents
import lanbill.api.nas
import lanbill.api.openapi
import lanbill.api.payment_systems
import lanbill.api.payments
import lanbill.api.promised_payments
import lanbill.api.reports
import lanbill.api.services
import lanbill.api.subscribers
import lanbill.api.tariff_changes
import lanbill.api.tariffs
import lanbill.api.traffic
import lanbill.api.unknown  # noqa: F401
