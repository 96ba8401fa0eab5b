"""Scrapy settings for dfwatch's crawler.

Static defaults only; the dfwatch add-on (crawler.addon) fills in user agent, delays,
timeouts and limits from dfwatch's own settings when a crawler is created.
"""

BOT_NAME = "dfwatch"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

ADDONS = {"crawler.addon.DfwatchAddon": 0}

ROBOTSTXT_OBEY = True
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 0.5
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
RETRY_HTTP_CODES = [429, 500, 502, 503, 504, 522, 524, 408]
MEDIA_ALLOW_REDIRECTS = False
REDIRECT_MAX_TIMES = 5
FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"
LOG_FORMATTER = "crawler.logformatter.DfwatchLogFormatter"

DOWNLOADER_MIDDLEWARES = {
    "crawler.middlewares.SafetyMiddleware": 50,
}

ITEM_PIPELINES = {
    "pipelines.extract.ExtractPipeline": 100,
    "pipelines.relevance.RelevancePipeline": 200,
    "pipelines.enrich.EnrichPipeline": 400,
    "pipelines.index.IndexPipeline": 900,
}
