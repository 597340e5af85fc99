"""A real SMTP server for the integration tests: aiosmtpd, storing each message in a
directory as NNNN.eml. Usage: smtp_server.py PORT MAILDIR accept|refuse|flaky [plain|starttls|implicit]

flaky: the first message is answered 451 (a temporary failure, to be retried) and kept as
0000.rejected, the next ones are accepted.

starttls and implicit use the test certificate in tests/data/tls/ (STARTTLS is then
required before MAIL FROM)."""
import logging
import os
import ssl
import sys
import threading

from aiosmtpd.controller import Controller


class Handler:
    def __init__(self, maildir, refuse, flaky=False):
        self.maildir = maildir
        self.refuse = refuse
        self.flaky = flaky
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse:
            return "550 5.1.1 <%s>: mailbox unavailable" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.flaky:
            self.flaky = False
            with open(os.path.join(self.maildir, "0000.rejected"), "wb") as f:
                f.write(envelope.original_content or envelope.content)
            return "451 4.3.0 Try again later"
        self.count += 1
        path = os.path.join(self.maildir, "%04d.eml" % self.count)
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(envelope.original_content or envelope.content)
        os.rename(tmp, path)
        return "250 Message accepted for delivery"


def main():
    port, maildir, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    tls = sys.argv[4] if len(sys.argv) > 4 else "plain"
    handler = Handler(maildir, mode == "refuse", mode == "flaky")
    if tls == "plain":
        controller = Controller(handler, hostname="127.0.0.1", port=port)
    else:
        # The refused handshakes the tests provoke are expected: keep their tracebacks out.
        logging.getLogger("mail.log").setLevel(logging.CRITICAL)
        here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "tls")
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(os.path.join(here, "server.pem"), os.path.join(here, "server.key"))
        if tls == "starttls":
            controller = Controller(handler, hostname="127.0.0.1", port=port,
                                    tls_context=ctx, require_starttls=True)
        else:
            controller = Controller(handler, hostname="127.0.0.1", port=port, ssl_context=ctx)
    controller.start()
    print("READY", flush=True)
    try:
        threading.Event().wait()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
