"""Small helpers kept where pysmb users import them from (``smb.utils``).

FILETIME conversions follow [MS-DTYP] 2.3.3: a FILETIME counts 100-nanosecond intervals
since 1601-01-01 00:00 UTC.
"""

from __future__ import annotations

#: 1970-01-01 (the Unix epoch) as a FILETIME
EPOCH_AS_FILETIME = 116444736000000000
_TICKS_PER_SECOND = 10000000


def convertFILETIMEtoEpoch(t: int) -> float:
    """FILETIME -> seconds since the Unix epoch (float)."""
    return (t - EPOCH_AS_FILETIME) / float(_TICKS_PER_SECOND)


def convertEpochToFILETIME(t: float) -> int:
    """Seconds since the Unix epoch -> FILETIME (int), rounded to the nearest 100 ns."""
    return int(round(t * _TICKS_PER_SECOND)) + EPOCH_AS_FILETIME


#: an earlier, misspelled name of :func:`convertEpochToFILETIME`
convertEpochtoFILETIME = convertEpochToFILETIME
