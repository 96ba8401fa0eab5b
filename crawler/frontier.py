"""The shared crawl frontier: crawl workers on one machine or many share one request queue and
one dupefilter in Redis (scrapy-redis), so each page is fetched once, by whichever worker pops it.

What a worker is: the ordinary strategy spider of a source (crawler/spiders) with the ordinary
dfwatch settings, middlewares and item pipelines, whose scheduler is scrapy-redis's
`Scheduler` (a `PriorityQueue` in Redis) and whose dupefilter is scrapy-redis's
`RFPDupeFilter` (a Redis set of request fingerprints). Every request any worker's spider
yields (feeds, sitemaps, listing pages, articles, redirects) goes through the shared
dupefilter into the shared queue (retries skip the filter, as in Scrapy), and any worker may
pop it and run its callback. Keys are per source (`dfwatch:<source>:requests`,
`dfwatch:<source>:dupefilter`), like the crawlers of `dfwatch crawl`, which each keep their
own dupefilter.

Why not scrapy-redis's `RedisSpider`: its `start_requests()` is never called by Scrapy 2.19
(which dropped `start_requests()`; spiders start with `async start()`), it turns start-URL
messages into requests to `parse` (our strategy spiders have their own callbacks and
request metadata), and its `MAX_IDLE_TIME_BEFORE_CLOSE` clock is a class attribute set at
import and reset only while the start-URL list is non-empty, so a worker idle for a moment
late in a crawl closes at once. `SCHEDULER_IDLE_BEFORE_CLOSE` is no better: it turns the
scheduler's pop into a blocking BRPOP inside the reactor thread (stalling the worker's own
downloads and pipelines) and the priority queue ignores it. So the spiders start themselves,
`IdleTimeout` below keeps a worker open while the frontier is empty, and `FrontierWatch`
stops it when the Redis stops answering (else Scrapy would retry the queue forever).

A round: `seed()` empties a source's queue and dupefilter, then pushes the requests the
source's spider starts with (through scrapy-redis's scheduler, as a worker would). Workers
started afterwards yield the same start requests, which the dupefilter drops; a worker
started without any seed pushes them itself, first come first served. `SCHEDULER_PERSIST`
is on: by default the scrapy-redis scheduler deletes the queue and the dupefilter when its
spider closes, which would pull the frontier from under the workers still crawling.

Requests are stored as JSON (`JsonRequests`), not scrapy-redis's default pickle: whoever
can write to the Redis could otherwise run code in every worker.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
import warnings
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import redis
from scrapy import Spider, signals
from scrapy.crawler import Crawler, CrawlerProcess
from scrapy.exceptions import DontCloseSpider, NotConfigured, ScrapyDeprecationWarning
from scrapy.spiderloader import SpiderLoader
from scrapy.utils.asyncio import create_looping_call
from scrapy.utils.defer import deferred_from_coro
from scrapy_redis.scheduler import Scheduler

from dfwatch.crawling import CrawlReport, scrapy_settings
from dfwatch.settings import Settings

logger = logging.getLogger(__name__)

KEY_PREFIX = "dfwatch"
PASSWORD_ENV = "DFWATCH_FRONTIER_PASSWORD"  # noqa: S105 - the variable's name, not a password


@dataclass(frozen=True)
class Frontier:
    """Where the shared frontier lives: `redis://host:port/db` (password apart, from the environment)."""

    url: str
    password: str | None = None

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("redis", "rediss", "unix"):
            raise ValueError(f"not a Redis URL: {self.url!r} (redis://host:port/db)")
        if parts.password:
            raise ValueError(f"put the Redis password in ${PASSWORD_ENV}, not in the URL")

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, password=self.password, socket_connect_timeout=10)

    def check(self) -> None:
        """Raise redis.RedisError unless the Redis answers."""
        client = self.client()
        try:
            client.ping()
        finally:
            client.close()


def queue_key(source_id: str) -> str:
    return f"{KEY_PREFIX}:{source_id}:requests"


def dupefilter_key(source_id: str) -> str:
    return f"{KEY_PREFIX}:{source_id}:dupefilter"


def frontier_settings(frontier: Frontier, source_id: str, idle_timeout: float) -> dict[str, Any]:
    """The Scrapy settings that put one source's crawler on the shared frontier."""
    if idle_timeout <= 0:
        raise ValueError("idle_timeout must be positive: a worker commits its seen-store notes when it stops")
    return {
        "SCHEDULER": "scrapy_redis.scheduler.Scheduler",
        "SCHEDULER_QUEUE_CLASS": "scrapy_redis.queue.PriorityQueue",
        "SCHEDULER_QUEUE_KEY": queue_key(source_id),
        "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
        "SCHEDULER_DUPEFILTER_KEY": dupefilter_key(source_id),
        "SCHEDULER_PERSIST": True,  # one worker closing must not empty the frontier of the others
        "SCHEDULER_SERIALIZER": JsonRequests,
        "REDIS_URL": frontier.url,
        "REDIS_PARAMS": {"password": frontier.password} if frontier.password else {},
        "FRONTIER_IDLE_TIMEOUT": idle_timeout,
    }


# --- requests as JSON -------------------------------------------------------------------------

def _tag(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"$b": base64.b64encode(value).decode("ascii")}
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value):
            return {k: _tag(v) for k, v in value.items()}
        return {"$d": [[_tag(k), _tag(v)] for k, v in value.items()]}  # headers: bytes keys
    if isinstance(value, (list, tuple)):
        return [_tag(v) for v in value]
    return value


def _untag(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"$b"}:
            return base64.b64decode(value["$b"])
        if set(value) == {"$d"}:
            return {_untag(k): _untag(v) for k, v in value["$d"]}
        return {k: _untag(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_untag(v) for v in value]
    return value


class JsonRequests:
    """scrapy-redis serializer (`SCHEDULER_SERIALIZER`): `Request.to_dict()` as JSON.

    Bytes (body, headers) are tagged base64; anything else JSON cannot hold raises TypeError,
    loudly, when the request is scheduled.
    """

    @staticmethod
    def dumps(request_dict: dict[str, Any]) -> bytes:
        return json.dumps(_tag(request_dict), separators=(",", ":"), ensure_ascii=False).encode("utf-8")

    @staticmethod
    def loads(data: bytes) -> dict[str, Any]:
        loaded: dict[str, Any] = _untag(json.loads(data))
        return loaded


# --- keeping a worker open while the frontier is empty -----------------------------------------

class IdleTimeout:
    """Close a worker only after it has been idle for `FRONTIER_IDLE_TIMEOUT` seconds on end.

    Idle means what Scrapy means: nothing downloading, nothing in the pipelines and nothing
    in the shared queue. Another worker may still be parsing a feed that will fill the queue,
    so an idle worker stays open (Scrapy polls the queue every 5 s) until the timeout passes
    with no request of its own reaching the downloader. The crawl stats get
    `frontier/last_active` (epoch seconds: the last request sent or item finished) and
    `frontier/idle_wait` (seconds waited before stopping).
    """

    def __init__(self, crawler: Crawler, timeout: float) -> None:
        self.crawler = crawler
        self.timeout = timeout
        self.idle_since: float | None = None
        self.last_active = time.time()
        crawler.signals.connect(self.spider_idle, signals.spider_idle)
        crawler.signals.connect(self.busy, signals.request_reached_downloader)
        for finished in (signals.item_scraped, signals.item_dropped, signals.item_error):
            crawler.signals.connect(self.active, finished)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> IdleTimeout:
        timeout = crawler.settings.getfloat("FRONTIER_IDLE_TIMEOUT")
        if timeout <= 0:
            raise NotConfigured("no shared frontier (FRONTIER_IDLE_TIMEOUT unset)")
        return cls(crawler, timeout)

    def active(self) -> None:
        self.last_active = time.time()

    def busy(self) -> None:
        self.idle_since = None
        self.active()

    def spider_idle(self, spider: Spider) -> None:
        now = time.monotonic()
        if self.idle_since is None:
            self.idle_since = now
        waited = now - self.idle_since
        if waited < self.timeout:
            raise DontCloseSpider
        logger.info("frontier empty for %.0f s: worker stops", waited)
        stats = self.crawler.stats
        assert stats is not None
        stats.set_value("frontier/last_active", self.last_active)
        stats.set_value("frontier/idle_wait", round(waited, 1))


class FrontierWatch:
    """Stop the worker, finish reason `frontier_lost`, when its Redis has not answered for
    `FRONTIER_IDLE_TIMEOUT` seconds on end (checked every 5 s).

    Without it a worker whose Redis went away would retry the queue every 5 s forever. A
    worker stopped this way commits its seen-store notes but not its feed validators, as
    after any unclean crawl, so the next round reads its feeds in full again.
    """

    interval = 5.0

    def __init__(self, crawler: Crawler, client: redis.Redis, url: str, timeout: float) -> None:
        self.crawler = crawler
        self.client = client
        self.url = url
        self.timeout = timeout
        self.failing_since: float | None = None
        self.closing: Any = None
        self.task: Any = None
        crawler.signals.connect(self.spider_opened, signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> FrontierWatch:
        settings = crawler.settings
        timeout = settings.getfloat("FRONTIER_IDLE_TIMEOUT")
        if timeout <= 0 or not settings.get("REDIS_URL"):
            raise NotConfigured("no shared frontier")
        client = redis.Redis.from_url(settings["REDIS_URL"], socket_connect_timeout=2, socket_timeout=2,
                                      **settings.getdict("REDIS_PARAMS"))
        return cls(crawler, client, settings["REDIS_URL"], timeout)

    def spider_opened(self) -> None:
        self.task = create_looping_call(self.check)
        self.task.start(self.interval, now=False)

    def check(self) -> None:
        try:
            self.client.ping()
            self.failing_since = None
        except redis.RedisError as exc:
            now = time.monotonic()
            self.failing_since = self.failing_since or now
            if now - self.failing_since >= self.timeout and self.closing is None:
                logger.error("frontier %s unreachable for %.0f s (%s): worker stops", self.url,
                             now - self.failing_since, exc)
                engine = self.crawler.engine
                assert engine is not None
                self.closing = deferred_from_coro(engine.close_spider_async(reason="frontier_lost"))

    def spider_closed(self) -> None:
        if self.task is not None and self.task.running:
            self.task.stop()
        self.client.close()


# --- seeding and running ----------------------------------------------------------------------

def _quiet_scrapy_redis() -> None:
    """scrapy-redis 0.9.1 still calls APIs Scrapy 2.19 deprecates (`spider=` to the stats
    collector, `Spider.log`); they work, and the warnings would only alarm operators."""
    warnings.filterwarnings("ignore", category=ScrapyDeprecationWarning, module="scrapy_redis")


async def _collect(requests: AsyncIterator[Any]) -> list[Any]:
    return [r async for r in requests]


def seed(settings: Settings, frontier: Frontier, sources: dict[str, str]) -> dict[str, int]:
    """Start a new round for each {source_id: strategy}: empty its queue and dupefilter, then push
    the requests its spider starts with. Returns how many were pushed per source."""
    _quiet_scrapy_redis()
    pushed: dict[str, int] = {}
    base = scrapy_settings(settings)
    loader = SpiderLoader.from_settings(base)
    for source_id, strategy in sources.items():
        crawler = Crawler(loader.load(strategy), base)
        crawler.settings.setdict(frontier_settings(frontier, source_id, 1.0), priority="cmdline")
        spider = crawler.spidercls.from_crawler(crawler, source=source_id)
        scheduler = Scheduler.from_settings(crawler.settings)  # scrapy-redis's own enqueue path
        scheduler.open(spider)
        scheduler.flush()
        loop = asyncio.new_event_loop()  # not asyncio.run(): the reactor may want the current loop later
        try:
            requests = loop.run_until_complete(_collect(spider.start()))
        finally:
            loop.close()
        pushed[source_id] = sum(bool(scheduler.enqueue_request(r)) for r in requests)
        scheduler.server.close()
    return pushed


def run_worker(settings: Settings, frontier: Frontier, sources: dict[str, str], idle_timeout: float,
               log_level: str = "WARNING", overrides: dict[str, Any] | None = None) -> list[CrawlReport]:
    """Crawl each {source_id: strategy} from the shared frontier until it stays empty for
    `idle_timeout` seconds; blocks until then. Same spiders, pipelines and store as `run_crawls`."""
    _quiet_scrapy_redis()
    process = CrawlerProcess(scrapy_settings(settings, log_level, overrides))
    crawlers = []
    for source_id, strategy in sources.items():
        crawler = process.create_crawler(strategy)
        overlay = frontier_settings(frontier, source_id, idle_timeout)
        # cmdline priority: process.crawl() merges the process's (project) settings in again
        overlay["EXTENSIONS"] = {**crawler.settings.getdict("EXTENSIONS"), IdleTimeout: 120, FrontierWatch: 130}
        crawler.settings.setdict(overlay, priority="cmdline")
        process.crawl(crawler, source=source_id)
        crawlers.append((source_id, crawler))
    process.start()
    return [CrawlReport.from_stats(sid, c.stats.get_stats()) for sid, c in crawlers]
