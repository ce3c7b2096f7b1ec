"""Digests by email: the standard library's smtplib, run in a thread (a digest goes out once per
window, not per message, so a thread costs nothing that matters)."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate

from interlace.config.models import Smtp
from interlace.options import parse_duration


def compose(smtp: Smtp, to: str, subject: str, text: str, key: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = smtp.from_
    mail["To"] = to
    mail["Subject"] = subject
    mail["Date"] = formatdate(usegmt=True)
    domain = smtp.from_.rpartition("@")[2] or "interlace"
    mail["Message-ID"] = f"<{key}@{domain}>"  # the same for a notice sent again: a mail client can tell
    mail.set_content(text)
    return mail


def _send(smtp: Smtp, mail: EmailMessage) -> None:
    timeout = parse_duration(smtp.timeout)
    if smtp.security == "tls":
        context = ssl.create_default_context()
        client: smtplib.SMTP = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=timeout, context=context)
    else:
        client = smtplib.SMTP(smtp.host, smtp.port, timeout=timeout)
    with client:
        if smtp.security == "starttls":
            client.starttls(context=ssl.create_default_context())
        if smtp.username is not None:
            client.login(smtp.username, smtp.password or "")
        client.send_message(mail)


async def send_email(smtp: Smtp, to: str, subject: str, text: str, key: str) -> None:
    await asyncio.to_thread(_send, smtp, compose(smtp, to, subject, text, key))
