"""The minimum a new password must meet: at least `MIN_LENGTH` characters, at most
`MAX_LENGTH`, not only spaces, text (no NUL, nothing that is not UTF-8: standard input
read with undecodable bytes), not the user's e-mail address (or its name part), and not
one of the passwords every guessing list starts with (`COMMON`, compared without case).
Each refusal says which rule it is, for the API, the CLI and the screens alike."""
from __future__ import annotations

from engine.fieldtypes import UNSTORABLE

MIN_LENGTH = 10
MAX_LENGTH = 200

# Passwords of ten characters or more at the top of the public breach lists (shorter ones
# are refused by the length already), and Loom's own name.
COMMON = frozenset("""
1234567890 12345678910 123456789a 0123456789 0987654321 1q2w3e4r5t 1qaz2wsx3edc 1234qwer!@
qwertyuiop qwerty1234 qwerty123456 qwertyuiop1 asdfghjkl1 zxcvbnm123 asdfghjkl;
password12 password123 password1234 password!1 passw0rd12 p@ssw0rd12 password01 password2024
password2025 password2026 iloveyou12 iloveyou123 1234567890a abcdefghij abc1234567 abcd123456
a123456789 aa12345678 11111111111 1111111111 0000000000 2222222222 9999999999 123123123123
1234512345 1122334455 5555555555 7777777777 8888888888 6666666666 3333333333 4444444444
123321123321 1qazxsw23edc q1w2e3r4t5 zaq12wsx3edc welcome123 welcome1234 admin12345
administrator letmein123 sunshine12 princess12 football12 baseball12 dragon1234 monkey1234
changeme123 trustno1234 superman12 qazwsxedcrfv loom123456 loompassword
""".split())


MESSAGES = {
    "too_short": f"a password needs at least {MIN_LENGTH} characters",
    "too_long": f"a password has at most {MAX_LENGTH} characters",
    "blank": "a password cannot be only spaces",
    "not_text": "a password cannot hold a NUL character or bytes that are not UTF-8 text",
    "is_email": "a password cannot be your e-mail address",
    "common": "this password is one of the most common ones; choose another",
}


def problem_code(password, email: str | None = None) -> str | None:
    """Which rule `password` breaks for the user `email` (a key of `MESSAGES`), or None."""
    if not isinstance(password, str) or len(password) < MIN_LENGTH:
        return "too_short"
    if len(password) > MAX_LENGTH:
        return "too_long"
    if not password.strip():
        return "blank"
    if UNSTORABLE.search(password):
        return "not_text"
    folded = password.strip().casefold()
    address = (email or "").strip().casefold()
    if address and folded in (address, address.partition("@")[0]):
        return "is_email"
    return "common" if folded in COMMON else None


def password_problem(password, email: str | None = None) -> str | None:
    """Why `password` is not acceptable for the user `email`, or None."""
    code = problem_code(password, email)
    return None if code is None else MESSAGES[code]
