"""The search layer: one service over either store, and the request/result model it speaks.

    from dfwatch.search import SearchService, SearchRequest
    with SearchService.open(settings) as service:
        page = service.search(SearchRequest("telegram", size=10))
"""

from dfwatch.search.model import (
    FACETS,
    INTERVALS,
    MAX_PAGE,
    ArticleHit,
    Bucket,
    EntityTrend,
    ExportInfo,
    FacetValue,
    FigureQuery,
    FigureSeries,
    Filters,
    Report,
    SearchPage,
    SearchRequest,
    SeriesPoint,
    SourceInfo,
    Story,
    StoryDetail,
    StoryRef,
    Timeline,
    Version,
    decode_cursor,
    encode_cursor,
)
from dfwatch.search.service import SearchService

__all__ = [
    "FACETS", "INTERVALS", "MAX_PAGE", "ArticleHit", "Bucket", "EntityTrend", "ExportInfo", "FacetValue",
    "FigureQuery", "FigureSeries", "Filters", "Report", "SearchPage", "SearchRequest", "SearchService",
    "SeriesPoint", "SourceInfo", "Story", "StoryDetail", "StoryRef", "Timeline", "Version", "decode_cursor",
    "encode_cursor",
]
