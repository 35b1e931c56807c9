"""The texts of notification events: built-in Russian texts that staff may
replace per event and channel (NotifyTemplate), rendered by Jinja's
sandbox so that a template staff write can read only the values it is
given — never an attribute of a model, a file or the application."""

from __future__ import annotations

from dataclasses import dataclass

from jinja2.sandbox import ImmutableSandboxedEnvironment, Undefined

from lanbill.clock import now_utc
from lanbill.db import transaction
from lanbill.errors import N_, ValidationError
from lanbill.models.notify import NotifyTemplate
from lanbill.staff import audit

# Events a subscriber hears about (the order of the screens).
EVENTS = ("payment", "low_balance", "blocked", "tariff_change", "document", "ticket_reply", "reset_code",
          "confirm_code")
# Events whose channels the subscriber chooses (the codes always go out).
CHOOSABLE_EVENTS = ("payment", "low_balance", "blocked", "tariff_change", "document", "ticket_reply")
EVENT_LABELS = {
    "payment": N_("Payment received"),
    "low_balance": N_("Money runs out soon"),
    "blocked": N_("Blocked for lack of money"),
    "tariff_change": N_("Tariff change tomorrow"),
    "document": N_("Document issued"),
    "ticket_reply": N_("Helpdesk reply"),
    "reset_code": N_("Cabinet password reset code"),
    "confirm_code": N_("Contact confirmation code"),
}
# The values each event's text may use (shown to staff beside the editor).
VARIABLES = {
    "payment": ("name", "agreement", "amount", "balance", "paid_at"),
    "low_balance": ("name", "agreement", "balance", "until", "days"),
    "blocked": ("name", "agreement", "balance", "login"),
    "tariff_change": ("name", "agreement", "login", "date", "old_tariff", "new_tariff"),
    "document": ("name", "agreement", "kind", "number", "date", "amount"),
    "ticket_reply": ("name", "subject", "message", "ticket"),
    "reset_code": ("name", "code"),
    "confirm_code": ("code",),
}


@dataclass(frozen=True)
class Text:
    subject: str
    body: str


_EMAIL_SIGNATURE = "\n\n—\nЭто письмо отправлено автоматически, отвечать на него не нужно."

BUILT_IN: dict[tuple[str, str], Text] = {
    ("payment", "email"): Text(
        "Платёж зачислен",
        "Здравствуйте, {{ name }}!\n\nНа договор {{ agreement }} зачислен платёж {{ amount }} "
        "({{ paid_at }}).\nБаланс: {{ balance }}." + _EMAIL_SIGNATURE),
    ("payment", "sms"): Text("", "Платёж {{ amount }} зачислен на договор {{ agreement }}. Баланс {{ balance }}."),
    ("low_balance", "email"): Text(
        "Средства на счёте скоро закончатся",
        "Здравствуйте, {{ name }}!\n\nПри текущей абонентской плате средств на договоре {{ agreement }} "
        "хватит до {{ until }} (дней: {{ days }}). Баланс: {{ balance }}.\nПополните счёт заранее, "
        "чтобы доступ не был заблокирован." + _EMAIL_SIGNATURE),
    ("low_balance", "sms"): Text(
        "", "Средств на договоре {{ agreement }} хватит до {{ until }}. Баланс {{ balance }}. Пополните счёт."),
    ("blocked", "email"): Text(
        "Доступ заблокирован: недостаточно средств",
        "Здравствуйте, {{ name }}!\n\nДоступ по договору {{ agreement }} заблокирован: на счёте недостаточно "
        "средств. Баланс: {{ balance }}.\nПосле пополнения счёта доступ откроется автоматически."
        + _EMAIL_SIGNATURE),
    ("blocked", "sms"): Text(
        "", "Доступ по договору {{ agreement }} заблокирован: недостаточно средств. Баланс {{ balance }}."),
    ("tariff_change", "email"): Text(
        "Завтра меняется тариф",
        "Здравствуйте, {{ name }}!\n\nЗавтра, {{ date }}, у учётной записи {{ login }} (договор {{ agreement }}) "
        "тариф «{{ old_tariff }}» сменится на «{{ new_tariff }}»." + _EMAIL_SIGNATURE),
    ("tariff_change", "sms"): Text(
        "", "Завтра, {{ date }}, тариф {{ login }} сменится на «{{ new_tariff }}»."),
    ("document", "email"): Text(
        "{{ kind }} № {{ number }}",
        "Здравствуйте, {{ name }}!\n\nПо договору {{ agreement }} выставлен документ: {{ kind }} № {{ number }} "
        "от {{ date }}{% if amount %} на сумму {{ amount }}{% endif %}.\nДокумент — во вложении к письму и в "
        "личном кабинете." + _EMAIL_SIGNATURE),
    ("document", "sms"): Text(
        "", "По договору {{ agreement }} выставлен документ {{ kind }} № {{ number }}. Он в личном кабинете."),
    ("ticket_reply", "email"): Text(
        "Ответ на обращение «{{ subject }}»",
        "Здравствуйте, {{ name }}!\n\nНа ваше обращение № {{ ticket }} «{{ subject }}» получен ответ:\n\n"
        "{{ message }}\n\nОтветить можно в личном кабинете." + _EMAIL_SIGNATURE),
    ("ticket_reply", "sms"): Text("", "Получен ответ на обращение № {{ ticket }}. Он в личном кабинете."),
    ("reset_code", "email"): Text(
        "Код для восстановления пароля",
        "Здравствуйте, {{ name }}!\n\nКод для восстановления пароля личного кабинета: {{ code }}\n"
        "Никому не сообщайте его. Если вы не запрашивали код, просто удалите это письмо." + _EMAIL_SIGNATURE),
    ("reset_code", "sms"): Text("", "Код восстановления пароля: {{ code }}. Никому не сообщайте его."),
    ("confirm_code", "email"): Text(
        "Код подтверждения адреса",
        "Код подтверждения адреса для уведомлений: {{ code }}\nВведите его в личном кабинете."
        + _EMAIL_SIGNATURE),
    ("confirm_code", "sms"): Text("", "Код подтверждения номера: {{ code }}"),
}

class _Strict(Undefined):
    """A value the text names but the event does not have is an error, not
    an empty string (Jinja's StrictUndefined, from the sandbox module)."""

    __slots__ = ()
    __iter__ = __str__ = __len__ = __eq__ = __ne__ = __bool__ = __hash__ = __contains__ = (
        Undefined._fail_with_undefined_error)


_env = ImmutableSandboxedEnvironment(autoescape=False, undefined=_Strict, keep_trailing_newline=False)
_compiled: dict[str, object] = {}


def _template(source: str):
    found = _compiled.get(source)
    if found is None:
        if len(_compiled) > 512:
            _compiled.clear()
        found = _compiled[source] = _env.from_string(source)
    return found


def text_for(event: str, channel: str, overrides: dict | None = None) -> Text:
    """The text of `event` on `channel`: staff's (NotifyTemplate), else the
    built-in one.  `overrides` is {(event, channel): Text} read at once by
    a batch."""
    if overrides is not None:
        return overrides.get((event, channel)) or BUILT_IN[(event, channel)]
    row = NotifyTemplate.get_or_none((NotifyTemplate.event == event) & (NotifyTemplate.channel == channel))
    return Text(row.subject, row.body) if row else BUILT_IN[(event, channel)]


def all_overrides() -> dict:
    return {(r.event, r.channel): Text(r.subject, r.body) for r in NotifyTemplate.select()}


def render(text: Text, values: dict) -> tuple[str, str]:
    """(subject, body) of a text with the event's values, in the sandbox.
    A value the template names but the event lacks is an error (StrictUndefined)."""
    subject = _template(text.subject).render(values).strip() if text.subject else ""
    body = _template(text.body).render(values).strip()
    return " ".join(subject.split()), body


def sample_values(event: str) -> dict:
    """Plausible values of an event, to try a template staff edit."""
    sample = {"name": "Иванов Иван Иванович", "agreement": "2026-000123", "amount": "650,00 ₽",
              "balance": "120,50 ₽", "paid_at": "05.01.2026 14:30", "until": "08.01.2026", "days": 3,
              "login": "ivanov", "date": "06.01.2026", "old_tariff": "Базовый", "new_tariff": "Быстрый",
              "kind": "Счёт", "number": "СЧ-2026-000045", "subject": "Не работает интернет",
              "message": "Проверьте, пожалуйста, кабель.", "ticket": 17, "code": "482913"}
    return {k: sample[k] for k in VARIABLES[event]}


def save_template(event: str, channel: str, subject: str, body: str, *, actor) -> NotifyTemplate | None:
    """Staff replace an event's text.  It must render with the event's
    sample values in the sandbox (a typo or an unknown value is refused
    with the reason); an SMS has no subject; an empty body restores the
    built-in text (the row is removed)."""
    if (event, channel) not in BUILT_IN:
        raise ValidationError(N_("Unknown event or channel."))
    subject = (subject or "").strip() if channel == "email" else ""
    body = (body or "").replace("\r\n", "\n").strip()
    with transaction():
        existing = NotifyTemplate.get_or_none((NotifyTemplate.event == event) & (NotifyTemplate.channel == channel))
        if not body:
            if existing:
                existing.delete_instance()
                audit.record(actor, "notify.template.reset", "notify_template", f"{event}:{channel}")
            return None
        if channel == "email" and not subject:
            raise ValidationError(N_("An e-mail needs a subject."), fields={"subject": N_("Required.")})
        try:
            render(Text(subject, body), sample_values(event))
        except Exception as exc:  # noqa: BLE001 - syntax, undefined value, sandbox refusal: all say "fix the text"
            raise ValidationError(N_("The template has an error: %(error)s"), fields={"body": N_("Check the text.")},
                                  error=str(exc)) from None
        if existing:
            existing.subject, existing.body, existing.updated_at = subject, body, now_utc()
            existing.save()
        else:
            existing = NotifyTemplate.create(event=event, channel=channel, subject=subject, body=body)
        audit.record(actor, "notify.template.save", "notify_template", f"{event}:{channel}")
    return existing
