"""The address directory (region → city → street → building) and addresses."""

from __future__ import annotations

import peewee

from lanbill.models.base import BaseModel


class Region(BaseModel):
    name = peewee.CharField(max_length=128, unique=True)


class City(BaseModel):
    region = peewee.ForeignKeyField(Region, backref="cities", on_delete="CASCADE")
    name = peewee.CharField(max_length=128)

    class Meta:
        indexes = ((("region", "name"), True),)


class Street(BaseModel):
    city = peewee.ForeignKeyField(City, backref="streets", on_delete="CASCADE")
    name = peewee.CharField(max_length=128)
    postal_index = peewee.CharField(max_length=6, default="")

    class Meta:
        indexes = ((("city", "name"), True),)


class Building(BaseModel):
    street = peewee.ForeignKeyField(Street, backref="buildings", on_delete="CASCADE")
    number = peewee.CharField(max_length=32)
    postal_index = peewee.CharField(max_length=6, default="")

    class Meta:
        indexes = ((("street", "number"), True),)

    @property
    def effective_postal_index(self) -> str:
        """Seed 002: an index on the building wins over the street's."""
        return self.postal_index or self.street.postal_index


class Address(BaseModel):
    """One concrete address: a building from the directory plus a flat."""

    building = peewee.ForeignKeyField(Building, null=True, on_delete="SET NULL")
    flat = peewee.CharField(max_length=32, default="")
    text = peewee.TextField(default="")  # free text when no directory entry

    def __str__(self) -> str:
        if self.building_id is None:
            return self.text
        b = self.building
        parts = [
            b.effective_postal_index,
            b.street.city.region.name,
            b.street.city.name,
            b.street.name,
            b.number,
        ]
        line = ", ".join(p for p in parts if p)
        return f"{line}, кв. {self.flat}" if self.flat else line
