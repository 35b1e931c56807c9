"""Login slow-down (DESIGN §9, lanbill.staff.login_limits): counted before
the password is checked, so parallel guesses cannot slip past the limit;
per login from an address, so no one can lock another manager out; the
same argon2 work for unknown logins as for known ones."""

from __future__ import annotations

import datetime as dt
import threading

import time_machine

from lanbill.models import Manager
from lanbill.models.logins import LoginFailure
from lanbill.staff import managers

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
ATTACKER = {"REMOTE_ADDR": "203.0.113.7"}
OFFICE = {"REMOTE_ADDR": "198.51.100.2"}


class CountingHasher:
    """The real argon2 hasher, counting the hashes it checks against."""

    def __init__(self, real):
        self.real = real
        self.checked = []

    def verify(self, hashed, password):
        self.checked.append(hashed)
        return self.real.verify(hashed, password)

    def hash(self, password):
        return self.real.hash(password)


def test_parallel_wrong_guesses_cannot_pass_the_limit(app, admin, monkeypatch):
    """Twelve wrong passwords at once from one address (threads, the real
    database file): only the free five are checked, the others wait."""
    free = app.config["LOGIN_MAX_FAILURES"]
    hasher = CountingHasher(managers._hasher)
    monkeypatch.setattr(managers, "_hasher", hasher)
    guesses = 12
    barrier = threading.Barrier(guesses)
    statuses = []

    def guess(n):
        client = app.test_client()
        barrier.wait()
        response = client.post("/login", data={"login": "admin", "password": f"guess-{n}-x"}, environ_base=ATTACKER)
        statuses.append(response.status_code)

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(guesses)]
    # The clock stands still: on a busy machine a late thread must not find
    # the first wait (2 s) already over.
    with time_machine.travel(T0, tick=False):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert sorted(statuses) == [401] * free + [429] * (guesses - free)
    assert len(hasher.checked) == free
    assert LoginFailure.select().where(LoginFailure.ip == "203.0.113.7").count() == free


def test_an_unknown_login_costs_the_same_argon2_check(app, client, monkeypatch):
    hasher = CountingHasher(managers._hasher)
    monkeypatch.setattr(managers, "_hasher", hasher)
    checked = hasher.checked
    assert client.post("/login", data={"login": "nobody", "password": "guess-it-1"}).status_code == 401
    assert len(checked) == 1 and checked[0].startswith("$argon2id$")
    # a manager without a password, and an empty password, cost the same
    Manager.create(login="empty", role=Manager.get(Manager.login == "admin").role, password_hash="")
    assert client.post("/login", data={"login": "empty", "password": "guess-it-1"}).status_code == 401
    assert client.post("/login", data={"login": "admin", "password": ""}).status_code == 401
    assert len(checked) == 3


def test_failures_from_one_address_do_not_keep_the_right_password_out_from_another(app, client, admin):
    """Anyone can type wrong passwords for `admin`; only their own address
    is slowed down — the administrator in the office still gets in."""
    with time_machine.travel(T0, tick=False):
        for _ in range(12):
            client.post("/login", data={"login": "admin", "password": "bad-pass-1"}, environ_base=ATTACKER)
        assert client.post("/login", data={"login": "admin", "password": "Secret-pass1"},
                           environ_base=ATTACKER).status_code == 429
        ok = client.post("/login", data={"login": "admin", "password": "Secret-pass1"}, environ_base=OFFICE)
        assert ok.status_code == 302
    assert Manager.get_by_id(admin.id).locked_until is None


def test_the_per_address_limit_stays(app, client, admin):
    app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"] = 8
    with time_machine.travel(T0, tick=False):
        for n in range(8):  # eight logins, at most two failures each: no per-login wait
            client.post("/login", data={"login": f"user{n // 2}", "password": "x"}, environ_base=ATTACKER)
        refused = client.post("/login", data={"login": "admin", "password": "Secret-pass1"}, environ_base=ATTACKER)
        assert refused.status_code == 429
        assert client.post("/login", data={"login": "admin", "password": "Secret-pass1"},
                           environ_base=OFFICE).status_code == 302


def test_a_correct_password_forgets_that_logins_failures_from_that_address(app, client, admin):
    with time_machine.travel(T0, tick=False):
        for _ in range(4):
            client.post("/login", data={"login": "admin", "password": "bad-pass-1"}, environ_base=OFFICE)
        assert client.post("/login", data={"login": "admin", "password": "Secret-pass1"},
                           environ_base=OFFICE).status_code == 302
        client.post("/logout")
        for _ in range(4):  # four more: still under the five free ones
            assert client.post("/login", data={"login": "admin", "password": "bad-pass-1"},
                               environ_base=OFFICE).status_code == 401
        assert client.post("/login", data={"login": "admin", "password": "Secret-pass1"},
                           environ_base=OFFICE).status_code == 302
