"""The driver display's web server: the page, its assets and one live websocket per page.

In: display views (`publish`, from any thread, once per cycle) and the page's messages.
Out: the views pushed to every open page (the newest view; the sounds of skipped views are
carried along so none is lost), and the page's driver inputs, hands-on stand-in and
"continue" presses (`take_messages`, `hands_on`). Runs aiohttp on its own thread and
event loop. Binds 127.0.0.1 by default; any other address needs an access token, which the
page and the websocket must then present (`?token=...`).
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import json
import logging
import threading
from importlib import resources
from typing import Any

from aiohttp import WSMsgType, web

from propilot.hmi_web.inputs import PageMessage, parse_page_message
from propilot.hmi_web.options import DEFAULT_HOST, DEFAULT_PORT, AccessError

LOG = logging.getLogger("propilot.hmi_web")
STATIC_FILES = {"index.html": "text/html", "display.js": "application/javascript", "display.css": "text/css"}


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class DisplayServer:
    def __init__(self, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, token: str | None = None):
        if not is_loopback(host) and not token:
            raise AccessError(f"refusing to serve the display on {host}: a non-loopback address needs --token")
        self.host, self.port, self.token = host, port, token or None
        self._messages: list[PageMessage] = []
        self._hands_on = False
        self._lock = threading.Lock()
        self._latest: dict[str, Any] | None = None
        self._pending_sounds: list[str] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._changed: asyncio.Event | None = None
        self._sockets: set[web.WebSocketResponse] = set()
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None

    # --- called from the drive / node thread --------------------------------------------------------

    @property
    def url(self) -> str:
        query = f"?token={self.token}" if self.token else ""
        return f"http://{self.host}:{self.port}/{query}"

    def start(self) -> str:
        """Serve in the background; returns the page's address (the port is known once bound)."""
        self._thread = threading.Thread(target=self._serve, name="hmi-display", daemon=True)
        self._thread.start()
        self._started.wait()
        if self._error is not None:
            raise self._error
        return self.url

    def publish(self, view: dict[str, Any]) -> None:
        """Show this view on every page (thread-safe, never blocks the caller)."""
        with self._lock:
            if view.get("sound"):
                self._pending_sounds.append(view["sound"])
            self._latest = view
        if self._loop is not None and self._changed is not None:
            self._loop.call_soon_threadsafe(self._changed.set)

    def take_messages(self) -> list[PageMessage]:
        """The page messages received since the last call."""
        with self._lock:
            messages, self._messages = self._messages, []
        return messages

    @property
    def hands_on(self) -> bool:
        """Whether a page holds the hands-on stand-in (key or button) right now."""
        return self._hands_on

    @property
    def clients(self) -> int:
        return len(self._sockets)

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(timeout=5.0)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5.0)

    # --- the server's own thread --------------------------------------------------------------------

    def _serve(self) -> None:
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._start_site())
        except BaseException as exc:  # noqa: BLE001 - handed to start() in the caller's thread
            self._error = exc
            self._started.set()
            return
        self._started.set()
        self._loop.run_forever()
        self._loop.close()

    async def _start_site(self) -> None:
        self._changed = asyncio.Event()
        app = web.Application(middlewares=[self._check_token])
        app.router.add_get("/", self._page)
        app.router.add_get("/ws", self._websocket)
        app.router.add_get("/static/{name}", self._asset)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]  # the bound port (port 0: any free one)
        asyncio.ensure_future(self._broadcast())

    async def _shutdown(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @web.middleware
    async def _check_token(self, request: web.Request, handler):
        if self.token and not hmac.compare_digest(request.query.get("token", ""), self.token):
            raise web.HTTPForbidden(text="access token required")
        return await handler(request)

    async def _page(self, request: web.Request) -> web.Response:
        return web.Response(text=_asset_text("index.html"), content_type="text/html")

    async def _asset(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in STATIC_FILES:
            raise web.HTTPNotFound()
        return web.Response(text=_asset_text(name), content_type=STATIC_FILES[name])

    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=10.0)
        await ws.prepare(request)
        self._sockets.add(ws)
        with self._lock:
            latest = self._latest
        if latest is not None:
            await ws.send_str(json.dumps({**latest, "sounds": []}))
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    LOG.warning("display input ignored: non-text websocket message (%s)", msg.type.name)
                    continue
                message = parse_page_message(msg.data)
                if message is None:
                    continue
                if message.kind == "hands_on":
                    self._hands_on = message.hands_on
                else:
                    with self._lock:
                        self._messages.append(message)
        finally:
            self._sockets.discard(ws)
        return ws

    async def _broadcast(self) -> None:
        while True:
            await self._changed.wait()
            self._changed.clear()
            with self._lock:
                view, sounds, self._pending_sounds = self._latest, self._pending_sounds, []
            if view is None:
                continue
            text = json.dumps({**view, "sounds": sounds})
            for ws in list(self._sockets):
                try:
                    await ws.send_str(text)
                except (ConnectionError, RuntimeError):
                    self._sockets.discard(ws)


def _asset_text(name: str) -> str:
    return resources.files("propilot.hmi_web").joinpath("static", name).read_text()
