"""Log formatter: a dropped page is one short line, never the page's bytes."""

from __future__ import annotations

import logging
from typing import Any

from scrapy import logformatter


class DfwatchLogFormatter(logformatter.LogFormatter):
    def dropped(self, item: Any, exception: BaseException, response: Any, spider: Any = None) -> Any:
        return {"level": logging.INFO, "msg": "Dropped: %(exception)s", "args": {"exception": exception}}
