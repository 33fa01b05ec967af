"""Real mail servers for the mail tests: aiosmtpd with STARTTLS and AUTH, and Debian's dovecot for IMAP.

- ``tls_cert``: a self-signed certificate for 127.0.0.1, made once per run with ``openssl``; the tests
  point ``SSL_CERT_FILE`` at it, so crm verifies the server's certificate as it would a real one.
- ``smtp``: an SMTP server on a free loopback port; STARTTLS required, then AUTH ``desk`` / ``secret``.
  ``smtp.received`` holds what it accepted; a recipient whose address starts with ``refuse`` gets a
  permanent 550, one starting with ``later`` a temporary 451.
- ``imap``: a private dovecot on a free loopback port with the mailbox ``desk`` / ``secret``;
  ``imap.deliver(raw)`` drops a message into its Maildir. Skipped when dovecot is not installed
  (``apt-get install dovecot-imapd``).
- ``mailbox``: the desk's settings pointed at both (``db`` must be open).
"""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_cert(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate and key for 127.0.0.1 in ``folder``."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture(scope="session")
def tls_cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_cert(tmp_path_factory.mktemp("tls"))


def start_smtp(cert: Path, key: Path) -> SmtpServer:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(cert), str(key))
    server = SmtpServer(port=free_port(), tls=context)
    server.start()
    return server


@dataclass
class SmtpServer:
    port: int
    tls: ssl.SSLContext
    received: list[Any] = field(default_factory=list)
    controller: Any = None

    def start(self) -> None:
        """Listen (again, after :meth:`stop`) on the same port."""
        from aiosmtpd.controller import Controller

        self.controller = Controller(
            _Handler(self),
            hostname="127.0.0.1",
            port=self.port,
            tls_context=self.tls,
            require_starttls=True,
            authenticator=_auth,
            auth_required=True,
        )
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address.startswith("refuse"):
            return "550 5.1.1 no such mailbox"
        if address.startswith("later"):
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.server.received.append(envelope)
        return "250 OK"


def _auth(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
    from aiosmtpd.smtp import AuthResult

    ok = (getattr(data, "login", None), getattr(data, "password", None)) == (b"desk", b"secret")
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtp(tls_cert: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpServer]:
    cert, key = tls_cert
    server = start_smtp(cert, key)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    monkeypatch.setenv("CRM_SMTP_PASSWORD", "secret")
    yield server
    server.stop()


DOVECOT_CONF = """
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/log
protocols = imap
listen = 127.0.0.1
ssl = no
passdb {{
  driver = passwd-file
  args = {root}/passwd
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={root}/%u
}}
mail_location = maildir:~/Maildir
service imap-login {{
  inet_listener imap {{
    port = {port}
  }}
}}
"""


@dataclass
class ImapServer:
    port: int
    root: Path

    def deliver(self, raw: bytes) -> None:
        """Drop a message into the desk's Maildir, as a mail server delivering it would."""
        maildir = self.root / "desk" / "Maildir"
        name = f"{time.time():.6f}.{uuid.uuid4().hex}.test"
        tmp = maildir / "tmp" / name
        tmp.write_bytes(raw)
        shutil.chown(tmp, "nobody", "nogroup")
        tmp.rename(maildir / "new" / name)


def dovecot() -> str | None:
    return shutil.which("dovecot") or ("/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None)


def start_imap(binary: str) -> tuple[ImapServer, subprocess.Popen[bytes]]:
    """A private dovecot on a free loopback port, mailbox ``desk`` / ``secret``; ready when returned."""
    import imaplib

    # Not under pytest's 0700 folders: dovecot's mail user (nobody) must be able to walk to its home.
    root = Path(tempfile.mkdtemp(prefix="crm-dovecot-"))
    root.chmod(0o755)
    port = free_port()
    for sub in ("run", "state", "desk/Maildir/new", "desk/Maildir/cur", "desk/Maildir/tmp"):
        (root / sub).mkdir(parents=True)
    (root / "passwd").write_text("desk:{PLAIN}secret\n")
    (root / "dovecot.conf").write_text(DOVECOT_CONF.format(root=root, port=port))
    subprocess.run(["chown", "-R", "nobody:nogroup", str(root / "desk")], check=True)
    process = subprocess.Popen(
        [binary, "-F", "-c", str(root / "dovecot.conf")], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 20
    while True:
        try:
            imaplib.IMAP4("127.0.0.1", port, timeout=1).shutdown()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                log = (root / "log").read_text() if (root / "log").exists() else ""
                raise RuntimeError(f"dovecot did not start: {log[-2000:]}") from None
            time.sleep(0.05)
    return ImapServer(port=port, root=root), process


def stop_imap(server: ImapServer, process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    process.wait(timeout=10)
    shutil.rmtree(server.root, ignore_errors=True)


@pytest.fixture
def imap(monkeypatch: pytest.MonkeyPatch) -> Iterator[ImapServer]:
    binary = dovecot()
    if binary is None:
        pytest.skip("the IMAP tests need Debian's dovecot-imapd (apt-get install dovecot-imapd)")
    server, process = start_imap(binary)
    monkeypatch.setenv("CRM_IMAP_PASSWORD", "secret")
    yield server
    stop_imap(server, process)


def point_desk_at(smtp_port: int | None = None, imap_port: int | None = None) -> None:
    """The desk's mailbox settings for the test servers (the database must be open)."""
    from crm_tui.services import settings

    if smtp_port is not None:
        settings.put("mail.smtp.host", "127.0.0.1")
        settings.put("mail.smtp.port", str(smtp_port))
        settings.put("mail.smtp.security", "starttls")
        settings.put("mail.smtp.user", "desk")
        settings.put("mail.from", "Sales desk <sales@example.org>")
    if imap_port is not None:
        settings.put("mail.imap.host", "127.0.0.1")
        settings.put("mail.imap.port", str(imap_port))
        settings.put("mail.imap.security", "none")
        settings.put("mail.imap.user", "desk")
