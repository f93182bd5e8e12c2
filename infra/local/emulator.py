"""moto in server mode, embedded in this process, with every request serialized.

Measured here: moto's server is not safe under concurrent requests (20 threads of conditional
TransactWriteItems on a stock of 300 gave 305 successes and a RuntimeError inside moto). One lock
around the WSGI app, with the response body materialized inside it, makes the emulator
linearizable, as DynamoDB is for a single item: races in our code still show, races in moto do not.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from infra.local.emulator_patches import (
    install_item_level_transaction_backup,
    install_module_list_cache,
    install_partition_scoped_queries,
)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
Answer = tuple[str, list[tuple[str, str]], bytes]  # status, headers, body


@dataclass(frozen=True)
class Rewritten:
    """A fault that lets moto answer part of a request (a `PutEvents` of which AWS accepted only some
    entries): moto gets `body`, and `answer` turns moto's answer into the one the client gets."""

    body: bytes
    answer: Callable[[Answer], Answer]


# A fault answers a request in moto's place, or rewrites it, or lets it pass (None):
# (X-Amz-Target, body) -> Answer | Rewritten | None.
Fault = Callable[[str, bytes], Answer | Rewritten | None]


class SerializedApp:
    def __init__(self, app: WSGIApp):
        self._app = app
        self._lock = threading.Lock()
        self.requests = 0
        self.fault: Fault | None = None  # tests and `make chaos` inject what AWS does and moto cannot

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        injected = self._injected(environ) if self.fault is not None else None
        if isinstance(injected, Rewritten):
            environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(injected.body), str(len(injected.body))
            answer = injected.answer(self._moto(environ))
        else:
            answer = injected or self._moto(environ)
        start_response(answer[0], answer[1])
        return [answer[2]]

    def _moto(self, environ: dict[str, Any]) -> Answer:
        with self._lock:
            self.requests += 1
            captured: list[Any] = []

            def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
                captured[:] = [status, headers, exc_info]
                return lambda _data: None

            result = self._app(environ, capture)
            try:
                body = b"".join(result)
            finally:
                close = getattr(result, "close", None)
                if close:
                    close()
        return captured[0], captured[1], body

    def _injected(self, environ: dict[str, Any]) -> Answer | Rewritten | None:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)  # moto reads it again if the fault passes
        assert self.fault is not None
        return self.fault(environ.get("HTTP_X_AMZ_TARGET", ""), body)


class Emulator:
    """The local AWS endpoint: DynamoDB, SQS and EventBridge over HTTP."""

    def __init__(self, host: str = "127.0.0.1", port: int = 4566):
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        install_item_level_transaction_backup()
        install_partition_scoped_queries()
        install_module_list_cache()
        self.app = SerializedApp(DomainDispatcherApplication(create_backend_app))  # type: ignore[arg-type]
        self._server = make_server(host, port, self.app, threaded=True, request_handler=MotoRequestHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="emulator", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host.decode() if isinstance(host, bytes) else host}:{port}"

    def start(self) -> Emulator:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
