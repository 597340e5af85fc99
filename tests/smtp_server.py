"""A real SMTP server for the integration tests: aiosmtpd, storing each message in a
directory as NNNN.eml. Usage: smtp_server.py PORT MAILDIR accept|refuse"""
import os
import sys
import threading

from aiosmtpd.controller import Controller


class Handler:
    def __init__(self, maildir, refuse):
        self.maildir = maildir
        self.refuse = refuse
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse:
            return "550 5.1.1 <%s>: mailbox unavailable" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        path = os.path.join(self.maildir, "%04d.eml" % self.count)
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(envelope.original_content or envelope.content)
        os.rename(tmp, path)
        return "250 Message accepted for delivery"


def main():
    port, maildir, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    controller = Controller(Handler(maildir, mode == "refuse"), hostname="127.0.0.1", port=port)
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
