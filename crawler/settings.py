"""Scrapy settings for dfwatch's crawler.

Static defaults only; the dfwatch add-on (crawler.addon) fills in user agent, delays,
timeouts, limits and the crawled source's politeness from dfwatch's own settings when a
crawler is created. (Settings here have project priority, above the add-on's: whatever
the add-on sets must not be set here too.)
"""

BOT_NAME = "dfwatch"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

ADDONS = {"crawler.addon.DfwatchAddon": 0}

ROBOTSTXT_OBEY = True
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
RETRY_HTTP_CODES = [429, 500, 502, 503, 504, 522, 524, 408]
RETRY_GIVE_UP_LOG_LEVEL = "WARNING"  # given-up pages are counted by reason, not errors
MEDIA_ALLOW_REDIRECTS = False
FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"
LOG_FORMATTER = "crawler.logformatter.DfwatchLogFormatter"

DOWNLOADER_MIDDLEWARES = {
    "crawler.middlewares.SafetyMiddleware": 50,
    "crawler.middlewares.PublicAddressMiddleware": 60,
    "crawler.seen.IncrementalMiddleware": 70,
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.middlewares.BackoffRetryMiddleware": 550,
    "crawler.middlewares.CharsetMiddleware": 585,
    "scrapy.downloadermiddlewares.httpcompression.HttpCompressionMiddleware": None,
    "crawler.middlewares.CountedCompressionMiddleware": 590,
    "scrapy.downloadermiddlewares.redirect.RedirectMiddleware": None,
    "crawler.middlewares.LoopSafeRedirectMiddleware": 600,
}

EXTENSIONS = {
    "crawler.extensions.SeenStoreExtension": 100,
    "crawler.extensions.RunRecorder": 110,
}

ITEM_PIPELINES = {
    "pipelines.extract.ExtractPipeline": 100,
    "pipelines.redact.RedactPipeline": 150,
    "pipelines.relevance.RelevancePipeline": 200,
    "pipelines.dedupe.DedupePipeline": 300,
    "pipelines.enrich.EnrichPipeline": 400,
    "pipelines.stories.StoriesPipeline": 500,
    "pipelines.index.IndexPipeline": 900,
}
