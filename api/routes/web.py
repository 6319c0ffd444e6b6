"""The dashboard: index page at "/" and its own static assets under "/static" (no CDN)."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, HTMLResponse

router = APIRouter(include_in_schema=False)

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
ASSET_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
VERSION_MARK = "{{version}}"


def _assets() -> dict[str, Path]:
    return {p.name: p for p in WEB_DIR.iterdir() if p.suffix in ASSET_TYPES and p.is_file()}


@lru_cache(maxsize=4)
def _page(stamp: tuple[tuple[str, int, int], ...]) -> tuple[str, str]:
    """Return (index page with versioned asset links, version) for one state of the files."""
    digest = hashlib.sha256()
    for name, _, _ in stamp:
        digest.update((WEB_DIR / name).read_bytes())
    version = digest.hexdigest()[:12]
    html = (WEB_DIR / "index.html").read_text(encoding="utf-8").replace(VERSION_MARK, version)
    return html, version


def _stamp() -> tuple[tuple[str, int, int], ...]:
    # Keyed by size and mtime so edits to the assets show up without a restart.
    files = sorted((WEB_DIR / "index.html", *_assets().values()))
    return tuple((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in files)


@router.get("/", response_class=HTMLResponse)
def index() -> HTMLResponse:
    """Return the dashboard page; asset links carry a content hash so browsers cache them."""
    html, _ = _page(_stamp())
    return HTMLResponse(html, headers={"Cache-Control": "no-cache"})


@router.get("/api/v1/docs", response_class=HTMLResponse)
def api_docs() -> HTMLResponse:
    """Return the API documentation page (rendered from /api/v1/openapi.json by docs.js)."""
    html = (WEB_DIR / "docs.html").read_text(encoding="utf-8")
    return HTMLResponse(html, headers={"Cache-Control": "no-cache"})


@router.get("/static/{name}")
def asset(name: str, v: str | None = None) -> FileResponse:
    """Return one dashboard asset; versioned links are cached for a year."""
    path = _assets().get(name)
    if path is None:
        raise HTTPException(404, "Không có tệp này")
    _, version = _page(_stamp())
    cache = "public, max-age=31536000, immutable" if v == version else "no-cache"
    return FileResponse(path, media_type=ASSET_TYPES[path.suffix],
                        headers={"Cache-Control": cache})
