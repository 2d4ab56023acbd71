"""Collections over HTTP: query options of a request, opaque skip tokens, the envelope with nextLink and count."""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import orjson
from fastapi import Request

from permscope.api.errors import GraphJSONResponse, invalid_request
from permscope.api.responses import item_model, route_model, through
from permscope.settings import Settings
from permscope.store.collections import Collection as Collection  # re-exported for the routes
from permscope.store.odata import Node, OrderItem, parse_filter, parse_orderby, parse_select
from permscope.store.queries import PageRequest, fetch_collection_page

if TYPE_CHECKING:
    from sqlalchemy import Select
    from sqlalchemy.orm import Session

ENTITY_OPTIONS = frozenset({"$select"})
KEEP_ALWAYS = ("@odata.type", "id")
PATH_SAFE = "/:@!$&'()*+,;=~"  # RFC 3986 path characters kept as they are in a nextLink


@dataclass(frozen=True, slots=True)
class QueryOptions:
    """The parsed system query options of one request."""

    filter: Node | None = None
    orderby: tuple[OrderItem, ...] = ()
    select: tuple[str, ...] | None = None
    top: int | None = None
    skip: int = 0
    count: bool = False
    skiptoken: str | None = None


def _non_negative(name: str, text: str) -> int:
    if not text.strip().isdigit():
        raise invalid_request(f"{name} must be a non-negative integer, got {text!r}")
    return int(text)


def parse_options(request: Request, allowed: Iterable[str], selectable: Iterable[str] = ()) -> QueryOptions:
    """Read $filter, $orderby, $select, $top, $skip, $count and $skiptoken; reject unknown or repeated options."""
    allowed_set = frozenset(allowed)
    values: dict[str, str] = {}
    for key, value in request.query_params.multi_items():
        name = key.lower() if key.startswith("$") else key
        if not name.startswith("$"):
            continue  # custom query parameters are ignored, as OData says
        if name not in allowed_set:
            raise invalid_request(f"query option {key!r} is not supported here")
        if name in values:
            raise invalid_request(f"query option {key!r} is given more than once")
        values[name] = value
    select: tuple[str, ...] | None = None
    if "$select" in values:
        names = set(selectable) | set(KEEP_ALWAYS)
        props = parse_select(values["$select"])
        for prop in props:
            if prop.path not in names:
                raise invalid_request(f"unknown property {prop.path!r} in $select at position {prop.pos}")
        select = tuple(prop.path for prop in props)
    count_text = values.get("$count", "false").strip().lower()
    if count_text not in ("true", "false"):
        raise invalid_request(f"$count must be true or false, got {values['$count']!r}")
    return QueryOptions(
        filter=parse_filter(values["$filter"]) if "$filter" in values else None,
        orderby=tuple(parse_orderby(values["$orderby"])) if "$orderby" in values else (),
        select=select,
        top=_non_negative("$top", values["$top"]) if "$top" in values else None,
        skip=_non_negative("$skip", values["$skip"]) if "$skip" in values else 0,
        count=count_text == "true",
        skiptoken=values.get("$skiptoken"),
    )


def _fingerprint(request: Request) -> str:
    """A short hash of the request's path and options except $skiptoken: a token only continues its own query."""
    items = sorted((k, v) for k, v in request.query_params.multi_items() if k.lower() != "$skiptoken")
    raw = orjson.dumps([request.url.path, items])
    return hashlib.sha256(raw).hexdigest()[:12]


def encode_skiptoken(request: Request, returned: int, after: int | None = None) -> str:
    """An opaque token: `returned` items of this query were sent, the last with primary key `after`."""
    data: dict[str, Any] = {"n": returned, "q": _fingerprint(request)}
    if after is not None:
        data["k"] = after
    return base64.urlsafe_b64encode(orjson.dumps(data)).decode("ascii").rstrip("=")


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def decode_skiptoken(request: Request, token: str) -> tuple[int, int | None]:
    """(items already sent, primary key of the last one or None); 400 when garbage or from another query."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = orjson.loads(raw)
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        raise invalid_request("$skiptoken is not valid") from None
    if (
        not isinstance(data, dict)
        or set(data) not in ({"n", "q"}, {"n", "q", "k"})
        or not _is_count(data["n"])
        or ("k" in data and not isinstance(data["k"], int))
        or isinstance(data.get("k"), bool)
        or data["q"] != _fingerprint(request)
    ):
        raise invalid_request("$skiptoken is not valid for this query")
    return int(data["n"]), data.get("k")


def public_base(request: Request) -> str:
    """The configured public URL of the API (`Settings.api_base_url`): links never echo the request's Host."""
    settings: Settings = request.app.state.settings
    return settings.api_base_url()


def next_link(request: Request, returned: int, after: int | None = None) -> str:
    """The same URL with a $skiptoken continuing after `returned` items (and after primary key `after`)."""
    items = [(k, v) for k, v in request.query_params.multi_items() if k.lower() != "$skiptoken"]
    items.append(("$skiptoken", encode_skiptoken(request, returned, after)))
    query = "&".join(f"{quote(k, safe='$')}={quote(v, safe=chr(39) + '$(),:/')}" for k, v in items)
    return f"{public_base(request)}{quote(request.url.path, safe=PATH_SAFE)}?{query}"


def context_url(request: Request, fragment: str) -> str:
    """The `@odata.context` URL for a fragment such as `external/authorizationSystems`."""
    return f"{public_base(request)}/$metadata#{fragment}"


def apply_select(item: dict[str, Any], select: Sequence[str] | None) -> dict[str, Any]:
    """Keep only the selected properties (and always @odata.type and id)."""
    if select is None:
        return item
    wanted = set(select) | set(KEEP_ALWAYS)
    return {key: value for key, value in item.items() if key in wanted}


def list_response(
    request: Request,
    session: Session,
    collection: Collection,
    stmt: Select[Any],
    *,
    context: str,
    serialize: Callable[[Any], dict[str, Any]],
    page_size: int,
    max_page_size: int,
    prepare: Callable[[list[Any]], None] | None = None,
) -> GraphJSONResponse:
    """Filter, order and page `stmt` as the request asks, and wrap the page in the OData envelope.

    Pages hold `page_size` items, or `$top` items (at most `max_page_size`) when the request gives $top.
    `prepare(rows)` runs once per page before `serialize`, to load what the page's rows need in one query.
    Each item goes through the item model of the route's documented page model (`api.responses`).
    """
    options = parse_options(request, collection.options, collection.selectable)
    returned, after = (0, None)
    if options.skiptoken is not None:
        returned, after = decode_skiptoken(request, options.skiptoken)
    # Microsoft Graph semantics: $top is the page size (capped), and @odata.nextLink continues the walk.
    limit = page_size if options.top is None else min(options.top, max_page_size)
    wanted = PageRequest(
        filter=options.filter,
        orderby=options.orderby,
        skip=options.skip,
        returned=returned,
        after=after,
        limit=limit,
        with_count=options.count,
    )
    page = fetch_collection_page(session, collection, stmt, wanted)
    body: dict[str, Any] = {"@odata.context": context_url(request, context)}
    if options.count:
        body["@odata.count"] = page.count
    if prepare is not None:
        prepare(page.items)
    model = item_model(route_model(request))
    body["value"] = [apply_select(through(model, serialize(row)), options.select) for row in page.items]
    if page.has_more and limit > 0:
        body["@odata.nextLink"] = next_link(request, returned + len(page.items), page.last_key)
    return GraphJSONResponse(body)


def entity_response(
    request: Request, item: dict[str, Any], *, context: str, selectable: Iterable[str]
) -> GraphJSONResponse:
    """One entity with `@odata.context`, through the route's documented model, $select applied."""
    options = parse_options(request, ENTITY_OPTIONS, selectable)
    documented = through(route_model(request), item)
    body = {"@odata.context": context_url(request, context), **apply_select(documented, options.select)}
    return GraphJSONResponse(body)
