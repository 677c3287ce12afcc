"""Reading broken messages never crashes the fetcher (issue 14, desk/mail_parse.py):
``parse_mail`` returns a message or raises ``Unreadable`` with one line — nothing else,
whatever the bytes (cases found by mutating real messages, and a property test)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from agent_console.desk.mail_parse import ParsedMail, Unreadable, parse_mail

LIMITS = {"max_body_chars": 100_000, "keep_attachment_bytes": 10_000}


def test_a_charset_name_with_a_nul_reads_as_utf8() -> None:
    raw = (
        b"From: c2@acme.example\nSubject: request 2\n"
        b'Content-Type: text/plain; charset="utf-f\x00er-Encoding: 7bit\n\nHello, it fails.\n'
    )
    m = parse_mail(raw, **LIMITS)
    assert "Hello, it fails." in m.body


def test_a_bounce_with_a_broken_inner_message_id_is_still_a_bounce() -> None:
    raw = (
        b"From: Mail Delivery System <MAILER-DAEMON@mx.example>\r\n"
        b"Subject: Undelivered\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        b"--B\r\nContent-Type: text/plain\r\n\r\nI could not deliver.\r\n"
        b"--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\n"
        b"Action: failed\r\nStatus: 5.1.1\r\n\r\n"
        b"--B\r\nContent-Type: message/rfc822\r\n\r\nMessage-ID: <\x00>\r\n\r\nhi\r\n--B--\r\n"
    )
    m = parse_mail(raw, **LIMITS)
    assert m.is_bounce and "5.1.1" in m.bounce_reason


_PIECES = [
    b"From: a@acme.example\r\n",
    b"From: =?utf-8?q?Ren=E9?= <r@acme.example>\r\n",
    b"Subject: =?iso-8859-1?q?caf=E9?=\r\n",
    b"Message-ID: <x@y>\r\n",
    b"Message-ID: <\x00>\r\n",
    b"In-Reply-To: <a@b> <c@d>\r\n",
    b"MIME-Version: 1.0\r\n",
    b'Content-Type: multipart/mixed; boundary="Q"\r\n',
    b"Content-Type: multipart/report; report-type=delivery-status; boundary=Q\r\n",
    b"Content-Type: text/plain; charset=x-unknown\r\n",
    b"Content-Type: text/html; charset=utf-16\r\n",
    b"Content-Type: message/rfc822\r\n",
    b"Content-Type: message/delivery-status\r\n",
    b"Content-Transfer-Encoding: base64\r\n",
    b"Content-Transfer-Encoding: quoted-printable\r\n",
    b"Content-Disposition: attachment; filename*=utf-8''a%00b\r\n",
    b"\r\n",
    b"--Q\r\n",
    b"--Q--\r\n",
    b"<p>hi &amp; <b>there</b>\r\n",
    b"=?",
    b"\xff\xfe",
    b"\x00",
    b"hello world\r\n",
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(_PIECES), st.binary(max_size=12)), max_size=30))
def test_any_bytes_are_a_message_or_one_unreadable_line(parts: list[bytes]) -> None:
    try:
        m = parse_mail(b"".join(parts), **LIMITS)
    except Unreadable as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert isinstance(m, ParsedMail)
    assert m.sender_email and m.message_id


def test_a_parser_error_is_one_unreadable_line(monkeypatch) -> None:
    """Whatever the stdlib parser raises on some input becomes the quarantine reason."""
    from agent_console.desk import mail_parse

    def broken(msg, sender):  # as email._header_value_parser does on some broken headers
        raise IndexError("list index out of range")

    monkeypatch.setattr(mail_parse, "_bounce_info", broken)
    try:
        parse_mail(b"From: a@acme.example\r\nSubject: x\r\n\r\nbody\r\n", **LIMITS)
    except Unreadable as exc:
        assert str(exc) == "the parser failed on this message (IndexError in broken)"
    else:  # pragma: no cover
        raise AssertionError("not quarantined")
