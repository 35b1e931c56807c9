"""Template variants (seed 002 «Счет на предоплату … по указанному
шаблону»): added with `flask documents template-add`, chosen when issuing,
rendered from the instance's own file."""

from __future__ import annotations

from pathlib import Path

import pytest

from lanbill.documents.issue import issue_document, pdf_file
from lanbill.errors import ValidationError
from tests.documents.helpers import agreement_with, pdf_text, set_requisites
from tests.factories import ACTOR


def test_a_variant_is_added_by_the_cli_and_used_for_a_prepayment_invoice(app, runner):
    set_requisites()
    folder = Path(app.instance_path) / "templates" / "documents"
    folder.mkdir(parents=True)
    (folder / "prepay_bank.html").write_text(
        '{% extends "invoice.html" %}{% block content %}<h1>Предоплата для банка {{ doc.number }}</h1>'
        "{{ super() }}{% endblock %}", encoding="utf-8")
    result = runner.invoke(args=["documents", "template-add", "--kind", "prepayment_invoice", "--name",
                                 "Для банка", "--file", "prepay_bank.html"])
    assert result.exit_code == 0, result.output
    variant_id = result.output.split()[1].rstrip(":")
    listed = runner.invoke(args=["documents", "templates"])
    assert "prepay_bank.html" in listed.output
    document, _ = issue_document(agreement_with(), "prepayment_invoice", actor=ACTOR,
                                 instance_path=app.instance_path, amount="300.00", template=variant_id)
    text = pdf_text(pdf_file(document, app.instance_path))
    assert f"Предоплата для банка {document.number}" in text and "Триста рублей 00 копеек" in text
    with pytest.raises(ValidationError):
        issue_document(agreement_with(), "reconciliation", actor=ACTOR, instance_path=app.instance_path,
                       period="2026-01", template=variant_id)


def test_a_variant_must_name_an_existing_plain_file(app, runner):
    for file_name in ("../../etc/passwd", "missing.html"):
        result = runner.invoke(args=["documents", "template-add", "--kind", "invoice", "--name", "x",
                                     "--file", file_name])
        assert result.exit_code != 0 and "file" in result.output
