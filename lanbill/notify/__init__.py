"""Notifications (DESIGN §12): an outbox of e-mails and SMS drained by the
worker, the events that fill it, and the subscriber's contacts and choices.

Where things live: `outbox` (queueing, draining, retries, quiet hours),
`transports` (SMTP, SMS over HTTP), `texts` (event texts, sandboxed Jinja),
`contacts` (confirmed contacts and channel choices), `notices` (one function
per event), `nightly` (low balance and tariff change tomorrow, set-based),
`receivers` (the signals of lanbill.events connected to `notices`)."""
