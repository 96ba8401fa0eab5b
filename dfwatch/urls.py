"""URL canonicalisation and the article id derived from it."""

from __future__ import annotations

import hashlib
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from w3lib.url import canonicalize_url

TRACKING_PARAMS = frozenset(
    {"fbclid", "gclid", "dclid", "msclkid", "yclid", "igshid", "mc_cid", "mc_eid",
     "ref", "ref_src", "cmpid", "ocid", "spm", "from", "plink"}
)

# Hosts the crawler never follows links into: messaging apps and file hosts.
BLOCKED_HOSTS = frozenset(
    {"t.me", "telegram.me", "telegram.org", "telegram.dog", "wa.me", "whatsapp.com",
     "discord.gg", "discord.com", "kakao.com", "open.kakao.com", "line.me", "signal.me",
     "mega.nz", "mega.io", "mediafire.com", "drive.google.com", "dropbox.com",
     "wetransfer.com", "we.tl", "1drv.ms", "pixeldrain.com", "gofile.io", "anonfiles.com"}
)


def canonical_url(url: str) -> str:
    """Lower-case host, sorted query without tracking parameters, no fragment."""
    parts = urlsplit(url.strip())
    query = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.lower().startswith("utm_") and k.lower() not in TRACKING_PARAMS
    ]
    cleaned = urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/",
                          urlencode(query), ""))
    return canonicalize_url(cleaned)


def article_id(url: str) -> str:
    """Stable id of an article: hash of its canonical URL, so re-crawls update in place."""
    return hashlib.sha1(canonical_url(url).encode("utf-8")).hexdigest()  # noqa: S324 (id, not security)


def is_blocked_host(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return any(host == h or host.endswith("." + h) for h in BLOCKED_HOSTS)
