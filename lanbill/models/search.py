"""The subscriber search index: one narrow row per subscriber with the
searchable values lower-cased in Python (so that "contains" is
case-insensitive for Cyrillic too, on SQLite whose LIKE folds only ASCII),
kept by lanbill.customers.search_index."""

from __future__ import annotations

import peewee

from lanbill.models.base import BaseModel


class SubscriberSearch(BaseModel):
    subscriber_id = peewee.IntegerField(primary_key=True)
    name = peewee.TextField(default="")
    email = peewee.TextField(default="")
    phone = peewee.TextField(default="")
    logins = peewee.TextField(default="")  # cabinet login and account logins, one per line
    agreements = peewee.TextField(default="")  # agreement numbers, one per line
    ips = peewee.TextField(default="")  # account networks, one per line
    everything = peewee.TextField(default="")  # all of the above: one LIKE for "search everywhere"

    class Meta:
        table_name = "subscriber_search"
