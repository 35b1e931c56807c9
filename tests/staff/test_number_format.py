"""One number format everywhere: the `number` filter writes numbers as the
UI language does — a decimal comma and a non-breaking space in Russian,
a point and a comma in English."""

from __future__ import annotations

from decimal import Decimal

from flask import render_template_string
from flask_babel import force_locale


def test_numbers_follow_the_ui_language(app):
    with app.test_request_context():
        with force_locale("ru"):
            assert render_template_string("{{ 1234.56|number(1) }}") == "1\u00a0234,6"
            assert render_template_string("{{ 0.0|number(1) }}") == "0"
            assert render_template_string("{{ v|number(2) }}", v=Decimal("700.5")) == "700,5"
        with force_locale("en"):
            assert render_template_string("{{ 1234.56|number(1) }}") == "1,234.6"
