"""moto in server mode, embedded in this process, with every request serialized.

Measured here: moto's server is not safe under concurrent requests (20 threads of conditional
TransactWriteItems on a stock of 300 gave 305 successes and a RuntimeError inside moto). One lock
around the WSGI app, with the response body materialized inside it, makes the emulator
linearizable, as DynamoDB is for a single item: races in our code still show, races in moto do not.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from infra.local.emulator_patches import (
    install_item_level_transaction_backup,
    install_module_list_cache,
    install_partition_scoped_queries,
)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
# A fault answers a request in moto's place: (X-Amz-Target, body) -> (status, headers, body) or None.
Fault = Callable[[str, bytes], tuple[str, list[tuple[str, str]], bytes] | None]


class SerializedApp:
    def __init__(self, app: WSGIApp):
        self._app = app
        self._lock = threading.Lock()
        self.requests = 0
        self.fault: Fault | None = None  # tests inject throttling here: AWS does it, moto cannot

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if self.fault is not None:
            injected = self._injected(environ)
            if injected is not None:
                start_response(injected[0], injected[1])
                return [injected[2]]
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
        start_response(*captured)
        return [body]

    def _injected(self, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes] | None:
        import io

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
