"""/docs: the OpenAPI spec as one plain HTML page, rendered on the server.

FastAPI's own docs page loads Swagger UI from a CDN; dfwatch uses no CDNs (offline machines,
privacy), so this page has no script at all. The spec itself is at /openapi.json.
"""

from __future__ import annotations

from html import escape
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)
CSP = "default-src 'none'; style-src 'sha256-{}'; frame-ancestors 'none'"
STYLE = ("body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#111}"
         "code,td{font-family:ui-monospace,monospace;font-size:13px}table{border-collapse:collapse;width:100%}"
         "td,th{border-bottom:1px solid #ccc;padding:.2rem .5rem;text-align:left;vertical-align:top}"
         "h2{margin-top:2rem;border-top:2px solid #333;padding-top:.5rem}")


def _type(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "anyOf" in schema:
        return " | ".join(_type(s) for s in schema["anyOf"])
    if schema.get("type") == "array":
        return f"array of {_type(schema.get('items', {}))}"
    if "enum" in schema:
        return " | ".join(map(str, schema["enum"]))
    if "const" in schema:
        return str(schema["const"])
    bounds = [f"{k} {schema[k]}" for k in ("minimum", "maximum", "maxLength") if k in schema]
    return str(schema.get("format") or schema.get("type", "any")) + (f" ({', '.join(bounds)})" if bounds else "")


def render(spec: dict[str, Any]) -> str:
    out = [f"<!doctype html><html lang=en><meta charset=utf-8><title>{escape(spec['info']['title'])} API</title>",
           "<meta name=viewport content='width=device-width,initial-scale=1'>", f"<style>{STYLE}</style>",
           f"<h1>{escape(spec['info']['title'])} API {escape(spec['info']['version'])}</h1>",
           f"<p>{escape(spec['info'].get('description', ''))}</p>",
           "<p>Machine-readable: <a href='/openapi.json'>/openapi.json</a>.</p>"]
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            out.append(f"<h2><code>{escape(method.upper())} {escape(path)}</code></h2>")
            out.append(f"<p>{escape(op.get('description') or op.get('summary', ''))}</p>")
            params = op.get("parameters", [])
            if params:
                out.append("<table><tr><th>parameter<th>in<th>type<th>description")
                for p in params:
                    required = " (required)" if p.get("required") else ""
                    out.append(f"<tr><td>{escape(p['name'])}{required}<td>{escape(p['in'])}"
                               f"<td>{escape(_type(p.get('schema', {})))}<td>{escape(p.get('description', ''))}")
                out.append("</table>")
            answers = ", ".join(f"{escape(code)} {escape(r.get('description', ''))}"
                                for code, r in op.get("responses", {}).items())
            out.append(f"<p>Responses: {answers}</p>")
    schemas = spec.get("components", {}).get("schemas", {})
    out.append("<h2>Schemas</h2>")
    for name, schema in schemas.items():
        fields = ", ".join(f"{escape(k)}: {escape(_type(v))}" for k, v in schema.get("properties", {}).items())
        out.append(f"<p><code>{escape(name)}</code> — {fields}</p>")
    return "\n".join(out)


def _style_hash() -> str:
    import base64
    import hashlib

    return base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()


@router.get("/docs", response_class=HTMLResponse)
def docs(request: Request) -> HTMLResponse:
    page = render(request.app.openapi())
    return HTMLResponse(page, headers={"Content-Security-Policy": CSP.format(_style_hash())})
