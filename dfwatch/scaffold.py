"""`dfwatch sources new`: scaffold a source like city-scrapers' generator does.

Three things come out of one command: an entry appended to the sources file (its comments
kept, the whole file re-validated), the entry page fetched once and saved as a fixture,
and a test that parses that fixture with the strategy's parser and asserts dated items.
Nothing is written unless the entry is valid, the id is new and the fetch succeeded.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import textwrap
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import feedparser
import yaml
from lxml import etree
from parsel import Selector
from pydantic import ValidationError

from dfwatch.sources import ListingOptions, Source, load_sources
from dfwatch.yamlconf import ConfigError

TEXT_TYPES = ("text/", "application/xml", "application/rss+xml", "application/atom+xml",
              "application/feed+json", "application/json", "application/xhtml+xml")


class ScaffoldError(Exception):
    """The source cannot be scaffolded; the message says why and nothing was written."""


@dataclass(frozen=True)
class Fetched:
    url: str
    body: bytes
    content_type: str


@dataclass(frozen=True)
class Scaffolded:
    source: Source
    fixture: Path
    test: Path
    dated_items: int


def fetch_once(url: str, user_agent: str, timeout: float, max_bytes: int, allow_loopback: bool = False) -> Fetched:
    """GET `url` once, after asking its robots.txt; refuse non-public hosts, media and oversized bodies."""
    opener = urllib.request.build_opener(_GuardedRedirects(allow_loopback))
    robots = RobotFileParser()
    try:
        robots.parse(_get(opener, urljoin(url, "/robots.txt"), user_agent, timeout, max_bytes, allow_loopback)
                     .body.decode("utf-8", "replace").splitlines())
    except ScaffoldError as exc:
        if "HTTP 401" in str(exc) or "HTTP 403" in str(exc):
            raise ScaffoldError(f"robots.txt of {url} refuses access ({exc})") from None
        if "non-public address" in str(exc):
            raise
        robots.parse([])  # no robots.txt (404) or unreachable: the page fetch decides
    if not robots.can_fetch(user_agent.split("/")[0], url):
        raise ScaffoldError(f"robots.txt disallows {url} for dfwatch")
    page = _get(opener, url, user_agent, timeout, max_bytes, allow_loopback)
    if not page.content_type.lower().startswith(TEXT_TYPES):
        raise ScaffoldError(f"{url} is {page.content_type or 'of unknown type'}, not a text page: not saved")
    return page


def check_public(url: str, allow_loopback: bool) -> None:
    """The crawler's address guard: refuse hosts that resolve to private, link-local (or loopback) addresses."""
    from crawler.middlewares import refused_address, system_resolver

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ScaffoldError(f"{url}: only http(s) URLs can be fetched")
    try:
        addresses = system_resolver(parts.hostname)
    except OSError as exc:
        raise ScaffoldError(f"fetching {url} failed: cannot resolve {parts.hostname} ({exc})") from None
    if any(refused_address(a, allow_loopback) for a in addresses):
        raise ScaffoldError(f"{url} resolves to a non-public address ({', '.join(sorted(set(addresses)))}); "
                            "dfwatch fetches only public hosts (loopback only with crawl.allow_loopback)")


class _GuardedRedirects(urllib.request.HTTPRedirectHandler):
    """Every redirect target passes the address guard too."""

    max_redirections = 5

    def __init__(self, allow_loopback: bool) -> None:
        self.allow_loopback = allow_loopback

    def redirect_request(self, req: urllib.request.Request, fp: Any, code: int, msg: str, headers: Any,
                         newurl: str) -> urllib.request.Request | None:
        check_public(newurl, self.allow_loopback)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _get(opener: urllib.request.OpenerDirector, url: str, user_agent: str, timeout: float, max_bytes: int,
         allow_loopback: bool) -> Fetched:
    check_public(url, allow_loopback)
    request = urllib.request.Request(url, headers={"User-Agent": user_agent})  # noqa: S310 - scheme checked
    try:
        with opener.open(request, timeout=timeout) as resp:
            body = resp.read(max_bytes + 1)
            if len(body) > max_bytes:
                raise ScaffoldError(f"{url}: larger than {max_bytes} bytes; not saved")
            return Fetched(resp.geturl(), body, resp.headers.get("Content-Type", ""))
    except urllib.error.HTTPError as exc:
        raise ScaffoldError(f"fetching {url} failed: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ScaffoldError(f"fetching {url} failed: {reason}") from None


# ── what each strategy's parser finds in a saved page ────────────────────────────

def dated_items(source: Source, body: bytes) -> int:
    """How many items with a link and a date the saved page lists, parsed as the strategy would."""
    if source.strategy == "feed":
        return len(_feed_items(body))
    if source.strategy == "sitemap":
        return _sitemap_items(body)
    if source.strategy == "listing":
        assert source.listing is not None  # noqa: S101 - guaranteed by Source validation
        return listing_items(body, source.listing)
    answer = json.loads(body)
    articles = answer.get("articles", []) if isinstance(answer, dict) else []
    return sum(1 for a in articles if isinstance(a, dict) and a.get("url") and a.get("seendate"))


def _feed_items(body: bytes) -> list[Any]:
    parsed = feedparser.parse(body)
    return [e for e in parsed.entries if e.get("link") and (e.get("published_parsed") or e.get("updated_parsed"))]


def _sitemap_items(body: bytes) -> int:
    root = etree.fromstring(body, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    entries = root.xpath("/*[local-name()='urlset']/*[local-name()='url'] | "
                         "/*[local-name()='sitemapindex']/*[local-name()='sitemap']")
    return sum(1 for e in entries if e.xpath("*[local-name()='loc']") and e.xpath(
        ".//*[local-name()='lastmod' or local-name()='publication_date']"))


DATE_RE = re.compile(r"(\d{4})\s*[-./년]\s*(\d{1,2})\s*[-./월]\s*(\d{1,2})")


def listing_date(text: str, date_format: str | None) -> date | None:
    """A listing row's date: by `date_format` if given, else the first YYYY-MM-DD-like match."""
    text = text.strip()
    if date_format:
        try:
            return datetime.strptime(text, date_format).date()
        except ValueError:
            return None
    m = DATE_RE.search(text)
    try:
        return date(int(m[1]), int(m[2]), int(m[3])) if m else None
    except ValueError:
        return None


def _select(sel: Selector, query: str) -> Any:
    return sel.xpath(query.removeprefix("xpath:")) if query.startswith("xpath:") else sel.css(query)


def listing_items(body: bytes, opts: ListingOptions) -> int:
    """How many listing rows have a link and a parsable date (generated listing tests call this)."""
    n = 0
    for row in _select(Selector(body=body, type="html"), opts.rows):
        href = _first(_select(row, opts.link), "@href | .//@href")
        when = _first(_select(row, opts.date), "@datetime | .//text()") if opts.date else ""
        if href and listing_date(when, opts.date_format):
            n += 1
    return n


def _first(found: Any, values: str) -> str:
    """The first match as text: an attribute value (`::attr(x)`, `/@x`) as is, else `values` of the element."""
    if not found:
        return ""
    first = found[0]
    return first.root if isinstance(first.root, str) else " ".join(first.xpath(values).getall())


# ── the three files ──────────────────────────────────────────────────────────────

def fixture_suffix(source: Source, content_type: str) -> str:
    if source.strategy == "listing":
        return "html"
    if source.strategy == "discovery" or "json" in content_type.lower():
        return "json"
    return "xml"


def entry_text(source: Source, indent: str = "  ") -> str:
    """The source as a YAML list item, indented like the file's other entries."""
    data = source.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
    data = {"id": source.id, **{k: v for k, v in data.items() if k not in ("id", "notes")},
            "schedule": source.schedule.model_dump(exclude_defaults=True), "verified": False,
            **({"notes": source.notes} if source.notes else {})}
    dumped = yaml.safe_dump([data], allow_unicode=True, sort_keys=False, width=100)
    return textwrap.indent(dumped, indent)


def append_entry(sources_file: Path, source: Source) -> None:
    """Append the entry as text (comments survive), re-validate the whole file, then replace it."""
    text = sources_file.read_text(encoding="utf-8")
    m = re.search(r"^( *)- id:", text, re.MULTILINE)
    new = text + ("" if text.endswith("\n") else "\n") + entry_text(source, m[1] if m else "  ")
    fd, tmp_name = tempfile.mkstemp(prefix=".sources-", suffix=".yaml", dir=sources_file.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(new)
        try:
            if source.id not in load_sources(tmp):
                raise ScaffoldError(f"{sources_file}: the appended entry did not land in the 'sources' list")
        except ConfigError as exc:
            raise ScaffoldError(str(exc).replace(str(tmp), str(sources_file))) from None
        os.replace(tmp, sources_file)
    finally:
        tmp.unlink(missing_ok=True)


def render_test(source: Source, fixture: Path, today: date) -> str:
    """A city-scrapers-style test: the saved page, parsed as the strategy would, lists dated items."""
    name = source.id.replace("-", "_")
    head = (f'"""Saved-page test for source {source.id!r} (scaffolded by `dfwatch sources new` on {today}).\n\n'
            f"Fixture: fixtures/{fixture.name}, fetched from {source.urls[0]}\n"
            '"""\n\nfrom __future__ import annotations\n\n')
    path = f'FIXTURE = Path(__file__).parent / "fixtures" / "{fixture.name}"\n'
    if source.strategy == "feed":
        return head + "from pathlib import Path\n\nimport feedparser\n\n" + path + f'''

def test_{name}_feed_lists_dated_items() -> None:
    parsed = feedparser.parse(FIXTURE.read_bytes())
    dated = [e for e in parsed.entries if e.get("link") and (e.get("published_parsed") or e.get("updated_parsed"))]
    assert dated, f"no dated items in {{FIXTURE.name}} ({{parsed.get('bozo_exception')}})"
'''
    if source.strategy == "sitemap":
        return head + "from pathlib import Path\n\nfrom lxml import etree\n\n" + path + f'''

def test_{name}_sitemap_lists_dated_urls() -> None:
    root = etree.fromstring(FIXTURE.read_bytes(), parser=etree.XMLParser(resolve_entities=False))
    assert etree.QName(root).localname in ("urlset", "sitemapindex")
    dated = root.xpath("*[*[local-name()='loc']]"
                       "[.//*[local-name()='lastmod' or local-name()='publication_date']]")
    assert dated, f"no <loc> with a date in {{FIXTURE.name}}"
'''
    if source.strategy == "listing":
        assert source.listing is not None  # noqa: S101 - guaranteed by Source validation
        opts = source.listing.model_dump(include={"rows", "link", "date", "date_format"}, exclude_none=True)
        args = "".join(f"    {k}={v!r},\n" for k, v in opts.items())
        return head + ("from pathlib import Path\n\nfrom dfwatch.scaffold import listing_items\n"
                       "from dfwatch.sources import ListingOptions\n\n") + path + f'''
OPTIONS = ListingOptions(  # the selectors when this test was scaffolded
{args})


def test_{name}_listing_rows_have_links_and_dates() -> None:
    found = listing_items(FIXTURE.read_bytes(), OPTIONS)
    assert found, f"no row of {{FIXTURE.name}} matches {{OPTIONS.rows!r}} with a link and a date"
'''
    return head + "import json\nfrom pathlib import Path\n\n" + path + f'''

def test_{name}_api_answer_lists_dated_articles() -> None:
    articles = json.loads(FIXTURE.read_bytes()).get("articles", [])
    assert [a for a in articles if a.get("url") and a.get("seendate")], f"no dated articles in {{FIXTURE.name}}"
'''


def scaffold(source: Source, sources_file: Path, tests_dir: Path, fetched: Fetched, today: date) -> Scaffolded:
    """Write the fixture, the test and the sources entry (in that order; the entry last)."""
    fixture = tests_dir / "fixtures" / f"{source.id}.{fixture_suffix(source, fetched.content_type)}"
    test = tests_dir / f"test_{source.id.replace('-', '_')}.py"
    for path in (fixture, test):
        if path.exists():
            raise ScaffoldError(f"{path} already exists; remove it or pick another id")
    try:
        found = dated_items(source, fetched.body)
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise ScaffoldError(f"{fetched.url} does not parse as a {source.strategy} page: {exc}") from None
    fixture.parent.mkdir(parents=True, exist_ok=True)
    fixture.write_bytes(fetched.body)
    test.write_text(render_test(source, fixture, today), encoding="utf-8")
    try:
        append_entry(sources_file, source)
    except ScaffoldError:
        fixture.unlink()
        test.unlink()
        raise
    return Scaffolded(source, fixture, test, found)


def new_source(fields: dict[str, Any], sources_file: Path) -> Source:
    """Validate a new entry and check its id is free; ScaffoldError names the bad option."""
    try:
        source = Source.model_validate(fields)
    except ValidationError as exc:
        problems = "; ".join(f"--{'.'.join(str(p) for p in e['loc']) or 'entry'}: {e['msg']}"
                             for e in exc.errors())
        raise ScaffoldError(f"invalid source: {problems}") from None
    try:
        existing = load_sources(sources_file)
    except ConfigError as exc:
        raise ScaffoldError(f"fix the sources file first:\n{exc}") from None
    if source.id in existing:
        raise ScaffoldError(f"{sources_file} already has a source with id {source.id!r}")
    return source
