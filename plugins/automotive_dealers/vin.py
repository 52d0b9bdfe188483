"""Vehicle identification numbers (ISO 3779) with the North-American check digit.

A VIN has 17 characters: digits and the letters A-Z except I, O and Q (they look like
1 and 0). Position 9 is a check digit: every character is transliterated to a number
(digits as themselves, letters by the table below), multiplied by the weight of its
position, and the sum taken modulo 11; a remainder of 10 is written `X`.

`check_vin` is the validator of the `vin` field type: it returns the VIN in upper case
or raises ValueError saying exactly what is wrong."""
from __future__ import annotations

LENGTH = 17
CHECK_POSITION = 9  # 1-based, as the standard counts
WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
TRANSLITERATION = {
    **{str(d): d for d in range(10)},
    "A": 1, "B": 2, "C": 3, "D": 4, "E": 5, "F": 6, "G": 7, "H": 8,
    "J": 1, "K": 2, "L": 3, "M": 4, "N": 5, "P": 7, "R": 9,
    "S": 2, "T": 3, "U": 4, "V": 5, "W": 6, "X": 7, "Y": 8, "Z": 9,
}
FORBIDDEN = "IOQ"
ALPHABET = "".join(sorted(TRANSLITERATION))


def check_digit(vin: str) -> str:
    """The check digit of a 17-character VIN (its own 9th character is ignored): '0'-'9' or 'X'."""
    vin = vin.upper()
    if len(vin) != LENGTH:
        raise ValueError(f"a VIN has {LENGTH} characters, not {len(vin)}")
    total = sum(TRANSLITERATION[c] * w for c, w in zip(vin, WEIGHTS) if w)
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def with_check_digit(vin: str) -> str:
    """`vin` with its check digit put in position 9 (the character there is replaced)."""
    vin = vin.upper()
    return vin[:8] + check_digit(vin) + vin[9:]


def check_vin(value):
    """The VIN in upper case, or ValueError with what is wrong with it."""
    if not isinstance(value, str):
        raise ValueError("a VIN must be text of 17 letters and digits")
    vin = value.strip().upper()
    if len(vin) != LENGTH:
        raise ValueError(f"a VIN has {LENGTH} characters; {value.strip()!r} has {len(vin)}")
    forbidden = sorted({c for c in vin if c in FORBIDDEN})
    if forbidden:
        raise ValueError(f"contains I, O or Q ({', '.join(forbidden)} at position "
                         f"{', '.join(str(n + 1) for n, c in enumerate(vin) if c in FORBIDDEN)}); "
                         "a VIN never uses these letters")
    strange = [n for n, c in enumerate(vin) if c not in TRANSLITERATION]
    if strange:
        n = strange[0]
        raise ValueError(f"contains {vin[n]!r} at position {n + 1}; a VIN has only the digits 0-9 "
                         "and the letters A-Z without I, O and Q")
    expected = check_digit(vin)
    if vin[CHECK_POSITION - 1] != expected:
        raise ValueError(f"check digit is {vin[CHECK_POSITION - 1]}, expected {expected} "
                         f"(position {CHECK_POSITION} of {vin})")
    return vin
