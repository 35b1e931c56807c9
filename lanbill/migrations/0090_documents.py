"""Documents: numbering per operator, series and year, the issued
document's snapshot, lines and PDF, cancellation; template variants; the
monthly runs; the operator's VAT and signature requisites.

A database created from the current models by 0001 has all of this
already; each step checks before it changes anything."""

from playhouse.migrate import SchemaMigrator, migrate

from lanbill.models.documents import Document, DocumentRun, DocumentTemplate
from lanbill.models.operators import Operator


def _add_missing_columns(db, migrator, model, names) -> None:
    present = {column.name for column in db.get_columns(model._meta.table_name)}
    steps = []
    for name in names:
        field = model._meta.fields[name]
        if field.column_name not in present:
            steps.append(migrator.add_column(model._meta.table_name, field.column_name, field))
    if steps:
        migrate(*steps)


def upgrade(db):
    migrator = SchemaMigrator.from_database(db)
    _add_missing_columns(db, migrator, Document, (
        "operator_id", "series", "year", "seq", "vat_percent", "vat_amount", "lines", "data", "template",
        "state", "issued_by", "pdf_sha256", "pdf_stored_at", "cancelled_at", "cancelled_by", "cancel_reason",
        "replaces_id", "replaced_by_id", "idempotency_key", "run_id",
    ))
    _add_missing_columns(db, migrator, DocumentTemplate, ("file", "is_active"))
    _add_missing_columns(db, migrator, Operator, (
        "is_vat_payer", "no_vat_basis", "director_position", "chief_accountant_position", "logo_path",
        "document_prefix",
    ))
    indexes = {index.name for index in db.get_indexes("document")}
    wanted = {
        "document_operator_id_series_year_seq": ('("operator_id", "series", "year", "seq")', True),
        "document_agreement_id_date": ('("agreement_id", "date")', False),
        "document_period_start_kind": ('("period_start", "kind")', False),
        "document_idempotency_key": ('("idempotency_key")', True),
        "document_state": ('("state")', False),
        "document_run_id": ('("run_id")', False),
    }
    for name, (columns, unique) in wanted.items():
        if name not in indexes:
            db.execute_sql(f'CREATE {"UNIQUE " if unique else ""}INDEX "{name}" ON "document" {columns}')
    db.create_tables([DocumentRun], safe=True)
