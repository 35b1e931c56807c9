"""A failure inside the RADIUS agent is logged with its traceback and
counted, and the agent goes on: the loop keeps answering packets, the CoA
dispatcher keeps polling, the cache keeps refreshing."""

from __future__ import annotations

import logging

import pytest
from pyrad import packet
from pyrad.client import Timeout

from tests.factories import make_account
from tests.radius_harness import wait_for


def _fails_once(original, calls: list):
    def wrapper(*args, **kwargs):
        calls.append(args)
        if len(calls) == 1:
            raise RuntimeError("broken on purpose")
        return original(*args, **kwargs)

    return wrapper


def test_an_error_in_a_packet_handler_is_logged_and_the_agent_keeps_answering(app, radius_factory, caplog,
                                                                                monkeypatch):
    caplog.set_level(logging.ERROR, logger="agents.radius.server")
    radius = radius_factory()
    make_account(agent=radius.agent, login="err1", password="pw-1")
    radius.refresh()
    calls: list = []
    monkeypatch.setattr(radius.worker, "_known_nas", _fails_once(radius.worker._known_nas, calls))
    client, request = radius.access_request("err1", "pw-1")
    client.timeout, client.retries = 0.3, 1
    with pytest.raises(Timeout):
        client.SendPacket(request)  # the failed request goes unanswered, the NAS retries
    assert radius.drops("internal_error") == 1
    [record] = [r for r in caplog.records if r.name == "agents.radius.server"]
    assert record.levelno == logging.ERROR and record.exc_info and "127.0.0.1" in record.getMessage()
    assert "broken on purpose" in caplog.text  # the traceback
    assert radius.auth("err1", "pw-1").code == packet.AccessAccept


def test_a_failed_coa_poll_is_logged_counted_and_the_dispatcher_goes_on(app, radius_factory, caplog, monkeypatch):
    caplog.set_level(logging.ERROR, logger="agents.radius.coa")
    radius = radius_factory()
    dispatcher = radius.service.dispatcher
    calls: list = []
    monkeypatch.setattr(dispatcher, "process_once", _fails_once(dispatcher.process_once, calls))
    wait_for(lambda: len(calls) >= 3)
    assert dispatcher.errors == 1
    assert "CoA dispatcher: a poll failed" in caplog.text and "broken on purpose" in caplog.text


def test_a_failed_cache_refresh_is_logged_counted_and_retried(app, radius_factory, caplog, monkeypatch):
    caplog.set_level(logging.ERROR, logger="agents.radius.cache")
    radius = radius_factory()
    calls: list = []
    monkeypatch.setattr(radius.cache, "refresh", _fails_once(radius.cache.refresh, calls))
    wait_for(lambda: len(calls) >= 2, timeout=6)
    assert radius.cache.refresh_errors == 1
    assert "RADIUS cache refresh failed" in caplog.text
