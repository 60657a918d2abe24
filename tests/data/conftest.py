"""A web server on 127.0.0.1 for the download tests (never the network), and a clean set of data places."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from seqlab.cli.app import main


class LocalServer:
    """Serves ``files`` (URL path -> bytes) at ``url``; ``requests`` counts the GETs per path."""

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.requests: dict[str, int] = {}
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # the name http.server calls
                server.requests[self.path] = server.requests.get(self.path, 0) + 1
                body = server.files.get(self.path)
                if body is None:
                    self.send_error(404, "File not found")
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):  # keep the test output clean
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self._thread.start()

    def close(self):
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()


@pytest.fixture
def local_server(monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")  # a proxy set in the environment must not see these requests
    server = LocalServer()
    yield server
    server.close()


@pytest.fixture
def places(tmp_path, monkeypatch):
    """No $SEQLAB_DATA_DIR, and the per-user folder in tmp_path: only the bundled copies are found."""
    monkeypatch.delenv("SEQLAB_DATA_DIR", raising=False)
    monkeypatch.setenv("SEQLAB_HOME", str(tmp_path / "home"))
    return tmp_path / "home" / "datasets"


@pytest.fixture
def seqlab_cli(capsys, monkeypatch):
    """Run ``seqlab ...`` through the console script's entry point in this process: (exit code, stdout, stderr)."""
    monkeypatch.setenv("COLUMNS", "300")  # rich tables and lines unwrapped, so that tests can read them

    def run(*args: str) -> tuple[int, str, str]:
        try:
            main(list(args))
            code = 0
        except SystemExit as exit_:
            code = exit_.code or 0
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run
