"""A hostile web on 127.0.0.1: one misbehaving page per fault case, each next to a good article.

Every case is a source of its own (`hostile-<case>`, feed strategy) whose RSS feed at
`/<case>/feed.xml` lists a good, on-topic article (`/<case>/good.html`) and the case's
fault pages:

| case | fault pages |
| --- | --- |
| retry-after | 429 `Retry-After: 1`, then the article; 503 with a date Retry-After, ditto; 429 for an hour |
| flapping | 500, 500, then the article |
| slow | answers after `slow_seconds` (longer than the test's download timeout) |
| redirect-loop | a.html → b.html → a.html …; and chain-0 → chain-1 → chain-2 … without end |
| huge | 20 MB with Content-Length; 20 MB streamed without one |
| gzip-bomb | ~20 KB of gzip that inflates to 20 MB |
| robots | a page under `Disallow: /robots/private/` |
| euc-kr-as-utf8 | an EUC-KR article declared UTF-8 (header and `<meta>`) |
| no-charset | an EUC-KR article with no charset in header or markup |
| empty | a page with navigation only: extraction yields nothing |
| media | an image URL; video and PDF without extensions; an article full of media, download and invite links |

`plain_source()` is a well-behaved feed of good articles (`/plain/feed.xml`), for politeness tests.

`HostileWeb.log` records (path, status, Content-Type) of every answer, `hits` counts requests
per path and `times` keeps when each came. Nothing here touches the network beyond the loopback interface.
"""

from __future__ import annotations

import gzip
import threading
import time
from collections import Counter
from collections.abc import Callable
from email.utils import formatdate
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import urlsplit

BIG = 20 * 1024 * 1024
PLAIN_PAGES = 6  # good articles in /plain/feed.xml, for politeness measurements
CHUNK = 64 * 1024
FEED_DATE = "Wed, 28 Aug 2024 10:00:00 +0900"

EN_PARAGRAPHS = (
    "South Korean police said on Wednesday that deepfake sexual crimes reported in the first seven "
    "months of the year reached 297 cases, up from 180 cases in all of last year.",
    "Investigators said doctored sexually explicit images of women and girls, made with AI tools from "
    "photos taken from social media, were shared in Telegram chat rooms, and that most suspects were teenagers.",
    "The government announced a seven-month crackdown on deepfake sex crimes and promised more support for "
    "victims, while lawmakers moved to punish possessing and viewing the material.",
    "Advocacy groups urged platforms to remove non-consensual deepfake pornography faster and to cooperate "
    "with investigators in South Korea.",
)
KO_TITLE = "경찰, 텔레그램 딥페이크 성범죄 집중단속 결과 발표"
KO_PARAGRAPHS = (
    "경찰청은 텔레그램 대화방에서 유포된 딥페이크 성착취물 사건을 집중적으로 단속한 결과를 발표했다. "
    "허위영상물을 제작하거나 유포한 피의자들이 잇따라 검거됐다.",
    "경찰에 따르면 올해 1월부터 7월까지 접수된 딥페이크 성범죄 신고는 297건으로, 지난해 전체 180건보다 "
    "크게 늘었다. 검거된 피의자 가운데 상당수는 10대 청소년이었다.",
    "경찰은 방송통신심의위원회와 협력해 불법 합성물의 신속한 삭제와 차단을 요청하고, 피해자 지원을 "
    "강화하겠다고 밝혔다. 학교와 가정에서도 예방 교육이 필요하다는 목소리가 나온다.",
    "성폭력처벌법 개정으로 허위영상물을 소지하거나 구입, 저장, 시청하는 행위도 처벌 대상이 됐다. "
    "정부는 디지털 성범죄 근절을 위해 관계 부처와 함께 대책을 마련하고 있다고 설명했다.",
)
GALLERY_EXTRAS = (
    '<figure><img src="/media/img/{n}.jpg" alt="photo {n}"><figcaption>Photo {n}</figcaption></figure>',
    '<video src="/media/video/{n}.mp4" poster="/media/img/poster{n}.png" controls></video>',
    '<p><a href="/media/files/evidence{n}.zip">Download the archive</a> '
    '<a href="/media/files/report{n}.pdf">PDF</a></p>',
)
INVITES = "Readers were warned against invite links such as t.me/+AbCdEfGh123 and https://mega.nz/file/XyZ123."


def article_html(title: str, paragraphs: tuple[str, ...], lang: str = "en", meta_charset: str | None = "utf-8",
                 extra: str = "") -> str:
    charset = f'<meta charset="{meta_charset}">' if meta_charset else ""
    body = "\n".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    return (f'<!DOCTYPE html><html lang="{lang}"><head>{charset}<title>{escape(title)}</title>'
            f'<meta property="article:published_time" content="2024-08-28T10:00:00+09:00"></head>'
            f'<body><nav><a href="/">Home</a> <a href="/news/">News</a></nav><article><h1>{escape(title)}</h1>'
            f"{body}{extra}</article><footer>(c) 2024 Hostile Web</footer></body></html>")


def good_article(label: str) -> bytes:
    return article_html(f"Police report a surge in deepfake sex crimes ({label})", EN_PARAGRAPHS).encode()


def korean_article(meta_charset: str | None) -> bytes:
    return article_html(KO_TITLE, KO_PARAGRAPHS, "ko", meta_charset).encode("euc-kr")


Answer = tuple[int, dict[str, str], bytes]
HTML = {"Content-Type": "text/html; charset=utf-8"}


class HostileWeb:
    """Serve the fault cases on an ephemeral 127.0.0.1 port.

    >>> with HostileWeb(slow_seconds=2) as web:
    ...     sources = web.sources()
    """

    CASES: dict[str, tuple[str, ...]] = {
        "retry-after": ("/retry-after/seconds.html", "/retry-after/date.html", "/retry-after/too-long.html"),
        "flapping": ("/flapping/page.html",),
        "slow": ("/slow/page.html",),
        "redirect-loop": ("/redirect-loop/a.html", "/redirect-loop/chain-0.html"),
        "huge": ("/huge/declared.html", "/huge/streamed.html"),
        "gzip-bomb": ("/gzip-bomb/page.html",),
        "robots": ("/robots/private/page.html",),
        "euc-kr-as-utf8": ("/euc-kr-as-utf8/page.html",),
        "no-charset": ("/no-charset/page.html",),
        "empty": ("/empty/page.html",),
        "media": ("/media/photo.jpg", "/media/clip", "/media/report", "/media/gallery.html"),
    }

    def __init__(self, host: str = "127.0.0.1", slow_seconds: float = 3.0) -> None:
        self.host = host
        self.slow_seconds = slow_seconds
        self.base = ""
        self.hits: Counter[str] = Counter()
        self.times: dict[str, list[float]] = {}  # path -> time.monotonic() of each request
        self.log: list[tuple[str, int, str]] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._bomb: bytes | None = None
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.routes: dict[str, Callable[[int], Answer | None]] = {
            "/robots.txt": lambda n: (200, {"Content-Type": "text/plain"},
                                      b"User-agent: *\nDisallow: /robots/private/\n"),
            "/retry-after/seconds.html": lambda n: (429, {"Retry-After": "1"}, b"slow down") if n == 1
            else (200, HTML, good_article("after a 429")),
            "/retry-after/date.html": lambda n: (503, {"Retry-After": formatdate(time.time() + 1, usegmt=True)},
                                                 b"maintenance") if n == 1
            else (200, HTML, good_article("after a 503")),
            "/retry-after/too-long.html": lambda n: (429, {"Retry-After": "3600"}, b"come back in an hour"),
            "/flapping/page.html": lambda n: (500, HTML, b"<h1>500</h1>") if n <= 2
            else (200, HTML, good_article("after two 500s")),
            "/slow/page.html": self._slow,
            "/redirect-loop/a.html": lambda n: (302, {"Location": "/redirect-loop/b.html"}, b""),
            "/redirect-loop/b.html": lambda n: (302, {"Location": "/redirect-loop/a.html"}, b""),
            "/gzip-bomb/page.html": lambda n: (200, {**HTML, "Content-Encoding": "gzip"}, self._gzip_bomb()),
            "/robots/private/page.html": lambda n: (200, HTML, good_article("disallowed")),
            "/euc-kr-as-utf8/page.html": lambda n: (200, HTML, korean_article("utf-8")),
            "/no-charset/page.html": lambda n: (200, {"Content-Type": "text/html"}, korean_article(None)),
            "/empty/page.html": lambda n: (200, HTML, b"<html><body><nav><a href='/'>Home</a></nav></body></html>"),
            "/media/photo.jpg": lambda n: (200, {"Content-Type": "image/jpeg"}, b"\xff\xd8\xff" + b"\0" * 1000),
            "/media/clip": lambda n: (200, {"Content-Type": "video/mp4"}, b"\0" * (2 * 1024 * 1024)),
            "/media/report": lambda n: (200, {"Content-Type": "application/pdf"}, b"%PDF-1.7" + b"\0" * 100_000),
            "/media/gallery.html": lambda n: (200, HTML, self._gallery()),
        }

    # --- answers ------------------------------------------------------------------------

    def _slow(self, n: int) -> Answer | None:
        self._stopping.wait(self.slow_seconds)
        return (200, HTML, good_article("slow"))

    def _gzip_bomb(self) -> bytes:
        if self._bomb is None:
            self._bomb = gzip.compress(b"<html><body><p>" + b"deepfake " * (BIG // 9) + b"</p></body></html>", 9)
        return self._bomb

    def _gallery(self) -> bytes:
        extras = "".join(t.format(n=n) for n in range(1, 6) for t in GALLERY_EXTRAS)
        extras += f"<p>{escape(INVITES)}</p>"
        return article_html("Police report a surge in deepfake sex crimes (gallery)", EN_PARAGRAPHS,
                            extra=extras).encode()

    def _feed(self, case: str, links: tuple[str, ...]) -> bytes:
        items = "".join(f"<item><title>{escape(case)} {i}</title><link>{self.base}{path}</link>"
                        f"<guid>{self.base}{path}</guid><pubDate>{FEED_DATE}</pubDate></item>"
                        for i, path in enumerate(links))
        return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{case}</title>'
                f"<link>{self.base}/</link><description>hostile case {case}</description>{items}"
                f"</channel></rss>").encode()

    def answer(self, path: str, n: int) -> Answer | None:
        """(status, headers, body) for the n-th request of `path`; None = streamed by the handler."""
        case = path.strip("/").split("/", 1)[0]
        rss = {"Content-Type": "application/rss+xml"}
        if case in self.CASES and path == f"/{case}/feed.xml":
            return 200, rss, self._feed(case, (f"/{case}/good.html", *self.CASES[case]))
        if case in self.CASES and path == f"/{case}/good.html":
            return 200, HTML, good_article(case)
        if path == "/plain/feed.xml":
            return 200, rss, self._feed("plain", tuple(f"/plain/{i}.html" for i in range(1, PLAIN_PAGES + 1)))
        if path.startswith("/plain/"):
            return 200, HTML, good_article(path)
        if path.startswith("/redirect-loop/chain-"):  # chain-0 → chain-1 → … : never ends, never repeats
            step = int(path.removeprefix("/redirect-loop/chain-").removesuffix(".html"))
            return 302, {"Location": f"/redirect-loop/chain-{step + 1}.html"}, b""
        if path in ("/huge/declared.html", "/huge/streamed.html"):
            return None
        route = self.routes.get(path)
        return route(n) if route else (404, HTML, b"<h1>404</h1>")

    # --- serving ------------------------------------------------------------------------

    def _record(self, path: str) -> int:
        with self._lock:
            self.hits[path] += 1
            self.times.setdefault(path, []).append(time.monotonic())
            return self.hits[path]

    def _logged(self, path: str, status: int, ctype: str) -> None:
        with self._lock:
            self.log.append((path, status, ctype))

    def start(self) -> HostileWeb:
        web = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - stdlib name
                path = urlsplit(self.path).path
                answer = web.answer(path, web._record(path))
                try:
                    if answer is None:
                        self._stream_huge(path)
                    else:
                        self._reply(path, *answer)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the crawler hung up, as it should on a page this big

            def _reply(self, path: str, status: int, headers: dict[str, str], body: bytes) -> None:
                web._logged(path, status, headers.get("Content-Type", ""))
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _stream_huge(self, path: str) -> None:
                web._logged(path, 200, HTML["Content-Type"])
                self.send_response(200)
                self.send_header("Content-Type", HTML["Content-Type"])
                if path == "/huge/declared.html":
                    self.send_header("Content-Length", str(BIG))
                self.end_headers()
                chunk = b"<p>" + b"x" * (CHUNK - 7) + b"</p>\n"
                for _ in range(BIG // CHUNK):
                    if web._stopping.is_set():
                        return
                    self.wfile.write(chunk)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: object, client_address: object) -> None:
                pass

        self._server = Server((self.host, 0), Handler)
        self.base = f"http://{self.host}:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="hostileweb", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> HostileWeb:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def url(self, path: str) -> str:
        return self.base + path

    def plain_source(self, **politeness: float) -> dict[str, object]:
        """`hostile-plain`: a well-behaved feed of PLAIN_PAGES good articles, with these politeness overrides."""
        return {"id": "hostile-plain", "name": "Hostile web: a plain feed", "type": "news", "country": "KR",
                "language": "en", "strategy": "feed", "urls": [self.url("/plain/feed.xml")],
                "politeness": politeness}

    def sources(self) -> list[dict[str, object]]:
        """One feed source per case, `hostile-<case>`."""
        return [{"id": f"hostile-{case}", "name": f"Hostile web: {case}", "type": "news", "country": "KR",
                 "language": "ko" if "charset" in case or "euc" in case else "en", "strategy": "feed",
                 "urls": [self.url(f"/{case}/feed.xml")]} for case in self.CASES]
