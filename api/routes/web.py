"""The dashboard: index page at "/" and its own static assets under "/static" (no CDN)."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from importlib import metadata, resources
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
# Third-party browser code, served from the installed wheels (never a CDN, never copied here):
# URL name -> (Python package, file inside it, distribution whose version names the file).
VENDOR = {
    "plotly.min.js": ("plotly", "package_data/plotly.min.js", "plotly"),
    "swagger-ui-bundle.js": ("fastapi_offline", "static/swagger-ui-bundle.js", "fastapi-offline"),
    "swagger-ui.css": ("fastapi_offline", "static/swagger-ui.css", "fastapi-offline"),
}


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
    return html.replace("{{plotly}}", vendor_url("plotly.min.js")), version


@lru_cache(maxsize=8)
def _vendor(name: str) -> tuple[Path, str] | None:
    """Return (file, package version) of a third-party asset, or None when it is not known."""
    if name not in VENDOR:
        return None
    package, inside, distribution = VENDOR[name]
    path = Path(str(resources.files(package).joinpath(inside)))
    return (path, metadata.version(distribution)) if path.is_file() else None


def vendor_url(name: str) -> str:
    """Return the versioned URL of a third-party asset."""
    found = _vendor(name)
    return f"/static/vendor/{name}?v={found[1] if found else 0}"


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
    """Return the API documentation: Swagger UI from the installed package, read from here."""
    _, version = _page(_stamp())
    html = (WEB_DIR / "docs.html").read_text(encoding="utf-8").replace(VERSION_MARK, version)
    html = html.replace("{{swagger_css}}", vendor_url("swagger-ui.css"))
    return HTMLResponse(html.replace("{{swagger_js}}", vendor_url("swagger-ui-bundle.js")),
                        headers={"Cache-Control": "no-cache"})


@router.get("/static/vendor/{name}")
def vendor_asset(name: str, v: str | None = None) -> FileResponse:
    """Return a third-party asset from its installed package; versioned links are cached."""
    found = _vendor(name)
    if found is None:
        raise HTTPException(404, "Không có tệp này")
    path, version = found
    cache = "public, max-age=31536000, immutable" if v == version else "no-cache"
    kind = ASSET_TYPES[path.suffix]
    return FileResponse(path, media_type=kind, headers={"Cache-Control": cache})


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
