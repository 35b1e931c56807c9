"""The printable agreement (договор на оказание услуг связи): the text staff
edit, filled with the agreement's values, laid out as a PDF.

The text is plain paragraphs with {{ values }} (a blank line starts a new
paragraph, a line of its own in capitals or starting with a number is a
heading), kept in the setting `agreement_text`; without one, a default
Russian text. It is rendered in Jinja's sandbox, as notification texts
are (lanbill.notify.texts), so a text staff write reads only the values
listed in VARIABLES — never a model, a file or the application — and the
result is then escaped into the layout (templates/documents/agreement.html,
which an installation may replace by instance/templates/documents/
agreement.html).

The passport is decrypted only for the PDF and only when the caller says
the reader may see it; it is never written to a log or the audit row
(the audit row says whether the passport was printed, not what it is).
The PDF is made when asked and not stored: an agreement's requisites and
tariffs may change, and the print shows them as they stand."""

from __future__ import annotations

import re

from lanbill import templating
from lanbill.clock import today
from lanbill.customers.addresses import address_text
from lanbill.db import transaction
from lanbill.documents.content import seller_of
from lanbill.documents.render import FILTERS, _ru_date, folders, html_to_pdf
from lanbill.errors import N_, ValidationError
from lanbill.models import Account, Agreement, Operator, Setting, Subscriber, Tariff
from lanbill.notify.texts import Text, render
from lanbill.staff import audit

SETTING_KEY = "agreement_text"
TEXT_LIMIT = 50_000

# The values a text may use (shown to staff beside the editor).
VARIABLES = ("number", "date", "city", "operator", "director", "director_position", "name", "passport",
             "birth_date", "address", "tariffs", "logins", "phone", "email")

DEFAULT_TEXT = """ДОГОВОР № {{ number }}
на оказание услуг связи по передаче данных и доступа к сети Интернет

{{ operator }}, именуемое в дальнейшем «Оператор», в лице руководителя {{ director }}, действующего \
на основании Устава, с одной стороны, и {{ name }}, именуемый(ая) в дальнейшем «Абонент», \
с другой стороны, заключили настоящий договор о нижеследующем.

1. ПРЕДМЕТ ДОГОВОРА

1.1. Оператор оказывает Абоненту услуги связи по передаче данных и доступа к сети Интернет \
(далее — услуги) по адресу: {{ address }}, а Абонент оплачивает услуги в соответствии с выбранным тарифом.

1.2. Тариф на дату заключения договора: {{ tariffs }}. Учётные записи: {{ logins }}.

2. ПОРЯДОК ОПЛАТЫ

2.1. Расчёты ведутся по лицевому счёту № {{ number }} на условиях авансовой оплаты. Абонентская плата \
списывается с лицевого счёта в соответствии с тарифом.

2.2. При недостатке средств на лицевом счёте оказание услуг приостанавливается до его пополнения.

2.3. Состояние лицевого счёта, историю платежей и списаний Абонент видит в личном кабинете.

3. ПРАВА И ОБЯЗАННОСТИ СТОРОН

3.1. Оператор обязуется оказывать услуги круглосуточно, за исключением времени плановых работ, \
о которых Абонент извещается заранее.

3.2. Абонент обязуется своевременно оплачивать услуги, не передавать третьим лицам пароли доступа \
и не использовать услуги в противоправных целях.

3.3. Оператор вправе изменять тарифы, известив Абонента не менее чем за 10 дней.

4. СРОК ДЕЙСТВИЯ ДОГОВОРА

4.1. Договор вступает в силу с {{ date }} и действует без ограничения срока. Любая из сторон вправе \
расторгнуть договор, письменно известив другую сторону не менее чем за 30 дней.

4.2. Абонент даёт согласие на обработку своих персональных данных в целях исполнения настоящего договора \
в соответствии с Федеральным законом № 152-ФЗ «О персональных данных»."""

_HEADING = re.compile(r"^(\d+\.\s+[^a-zа-яё]+|[^a-zа-яё]{6,})$")


def agreement_text() -> str:
    """The text staff saved, else the default one."""
    row = Setting.get_or_none(Setting.key == SETTING_KEY)
    return row.value if row is not None and row.value.strip() else DEFAULT_TEXT


def sample_values() -> dict:
    """Plausible values, to check a text staff edit."""
    return {"number": "2026-000123", "date": "1 декабря 2026 г.", "city": "г. Калуга", "operator": "ООО «Связь»",
            "director": "Петров П. П.", "director_position": "Генеральный директор", "name": "Иванов Иван Иванович",
            "passport": "4500 123456, выдан ОВД района, 01.01.2010, код подразделения 770-001",
            "birth_date": "01.01.1990", "address": "г. Калуга, ул. Ленина, д. 1, кв. 2",
            "tariffs": "Базовый (650,00 ₽ в месяц)", "logins": "ivanov", "phone": "+7 900 000-00-00",
            "email": "ivanov@example.ru"}


def save_agreement_text(text: str, *, actor) -> None:
    """Staff replace the agreement's text. It must render in the sandbox
    with the sample values (a typo or an unknown value is refused with the
    reason); an empty text restores the default one."""
    text = (text or "").replace("\r\n", "\n").strip()
    if len(text) > TEXT_LIMIT:
        raise ValidationError(N_("The text is too long."), fields={"text": N_("Too long.")})
    if text:
        try:
            render(Text("", text), sample_values())
        except Exception as exc:  # noqa: BLE001 - syntax, unknown value, sandbox refusal: all say "fix the text"
            raise ValidationError(N_("The template has an error: %(error)s"), fields={"text": N_("Check the text.")},
                                  error=str(exc)) from None
    with transaction():
        Setting.insert(key=SETTING_KEY, value=text).on_conflict(
            conflict_target=[Setting.key], update={Setting.value: text}).execute()
        audit.record(actor, "agreement.text", "setting", SETTING_KEY, after={"default": not text})


def _date_text(value) -> str:
    """A stored date (ISO text) as 01.02.2010; anything else as it is."""
    try:
        return _ru_date(value)
    except ValueError:
        return str(value or "")


def _passport(subscriber: Subscriber) -> str:
    parts = []
    if subscriber.passport_series or subscriber.passport_number:
        parts.append(f"{subscriber.passport_series} {subscriber.passport_number}".strip())
    if subscriber.passport_issued_by:
        parts.append(f"выдан {subscriber.passport_issued_by}")
    if subscriber.passport_issued_on:
        parts.append(_date_text(subscriber.passport_issued_on))
    if subscriber.passport_division_code:
        parts.append(f"код подразделения {subscriber.passport_division_code}")
    return ", ".join(parts)


def agreement_values(agreement: Agreement, *, with_passport: bool) -> dict:
    """The values of the text for one agreement; the passport and birth date
    only `with_passport` (else a blank line to fill in by hand)."""
    subscriber = Subscriber.get_by_id(agreement.subscriber_id)
    operator = Operator.get_by_id(agreement.operator_id)
    accounts = list(Account.select(Account.login, Tariff.name, Tariff.rent).join(Tariff)
                    .where((Account.agreement == agreement.id) & (Account.deleted == False))  # noqa: E712
                    .order_by(Account.id).objects())
    tariffs = []
    for account in accounts:
        line = f"{account.name} ({FILTERS['money'](account.rent)} ₽ в месяц)" if account.rent else account.name
        if line not in tariffs:
            tariffs.append(line)
    blank = "_" * 40
    passport = _passport(subscriber) if with_passport and subscriber.kind == "individual" else ""
    birth = _date_text(subscriber.birth_date) if with_passport else ""
    return {
        "number": agreement.number, "date": _ru_date(agreement.date, long=True), "city": "",
        "operator": operator.name, "director": operator.director or blank,
        "director_position": operator.director_position or "Генеральный директор", "name": subscriber.name,
        "passport": passport or blank, "birth_date": birth or blank,
        "address": address_text(subscriber.main_address) or blank,
        "tariffs": ", ".join(tariffs) or blank, "logins": ", ".join(a.login for a in accounts) or blank,
        "phone": subscriber.phone or "", "email": subscriber.email or "",
    }


def paragraphs(text: str) -> list[tuple[str, str]]:
    """(kind, text) of each paragraph: "title" (the first), "heading" or "p"."""
    out = []
    for n, block in enumerate(part.strip() for part in re.split(r"\n\s*\n", text)):
        if not block:
            continue
        if n == 0:
            out.append(("title", block))
        elif "\n" not in block and _HEADING.match(block):
            out.append(("heading", block))
        else:
            out.append(("p", block))
    return out


def agreement_pdf(agreement: Agreement, instance_path, *, with_passport: bool, actor) -> bytes:
    """The agreement as a PDF to print and sign (the module's rule); the
    printing is in the audit log."""
    values = agreement_values(agreement, with_passport=with_passport)
    _subject, body = render(Text("", agreement_text()), values)
    subscriber = Subscriber.get_by_id(agreement.subscriber_id)
    html = templating.render(
        folders(instance_path), "agreement.html", FILTERS, paragraphs=paragraphs(body), values=values,
        seller=seller_of(Operator.get_by_id(agreement.operator_id)), subscriber_name=subscriber.name,
        legal=subscriber.kind == "legal", subscriber_inn=subscriber.inn or "",
        subscriber_kpp=subscriber.kpp if subscriber.kind == "legal" else "",
        printed_on=today(),
    )
    pdf = html_to_pdf(html, instance_path)
    audit.record(actor, "agreement.print", "agreement", agreement.id, after={"with_passport": bool(with_passport)})
    return pdf
