"""URL converters shared by every blueprint."""

from __future__ import annotations

from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter

#: The largest id an INTEGER column holds on every supported database (PostgreSQL's int4 is the smallest).
MAX_DATABASE_ID = 2**31 - 1


class DatabaseId(IntegerConverter):
    """`<int:…>` that answers 404 for a number no id column can hold, instead of a driver overflow (500)."""

    def to_python(self, value: str) -> int:
        """The id, or 404 when it is too large to exist."""
        number = int(value)
        if number > MAX_DATABASE_ID:
            raise NotFound()  # the route matched; only the id does not exist (a max= would turn it into a 405)
        return number
