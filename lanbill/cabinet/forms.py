"""The cabinet's forms: one per screen."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired


class LoginForm(FlaskForm):
    login = StringField(_l("Login or agreement number"), validators=[DataRequired(message=_l("Required."))])
    password = PasswordField(_l("Password"), validators=[DataRequired(message=_l("Enter a password."))])


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token (log out, user
    block on/off)."""

    # A label given, so that binding the form never asks WTForms for its
    # own translations (a catalogue read on each page).
    value = HiddenField(label="")


class ServicePasswordForm(FlaskForm):
    password = PasswordField(_l("New Internet password"), validators=[DataRequired(message=_l("Enter a password."))])
    repeat = PasswordField(_l("Repeat the password"))


class CabinetPasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired(message=_l("Required."))])
    password = PasswordField(_l("New password"), validators=[DataRequired(message=_l("Enter a password."))])
    repeat = PasswordField(_l("Repeat the password"))


class PromiseForm(FlaskForm):
    amount = StringField(_l("Amount"), validators=[DataRequired(message=_l("Required."))])


class ForgotForm(FlaskForm):
    login = StringField(_l("Login or agreement number"), validators=[DataRequired(message=_l("Required."))])


class ResetForm(FlaskForm):
    login = StringField(_l("Login or agreement number"), validators=[DataRequired(message=_l("Required."))])
    code = StringField(_l("Code from the message"), validators=[DataRequired(message=_l("Enter the code."))])
    password = PasswordField(_l("New password"), validators=[DataRequired(message=_l("Enter a password."))])
    repeat = PasswordField(_l("Repeat the password"))


class CardForm(FlaskForm):
    agreement = SelectField(_l("Agreement"), coerce=str, validate_choice=False)
    serial = StringField(_l("Card serial number"), validators=[DataRequired(message=_l("Enter the serial number."))])
    code = StringField(_l("Card code"), validators=[DataRequired(message=_l("Enter the code."))])


class TariffChoiceForm(FlaskForm):
    tariff = SelectField(_l("New tariff"), coerce=str, validate_choice=False)
