"""The locks that writers on every worker share, and the one order all of them take them in.

A transaction takes, in this order, whichever of these it needs, each held until it ends:

1. The rows its change is about, locked (``FOR UPDATE``) before anything below: the traveller
   first (``applications.lock``; a traveller's row queues every change to their case), then
   their applications, clearances and vehicles. A clearance is locked before it is revoked
   (``clearances.revoke`` locks the rows itself when its caller has not).
2. :data:`REVOCATION`, when it revokes a clearance or a trip token.
3. :data:`AUDIT_CHAIN`, by its first audit entry (``audit.append``).
4. A status list's row or version (``services/status_lists.py``: ``allocate`` and
   ``set_status``).

Holding one of these, a transaction never waits for an earlier one: two writers would
otherwise each hold what the other waits for, and PostgreSQL would abort one of them (40P01,
a 500 to its caller). So a use case locks every row it will change before its first
revocation or audit entry, revokes before it audits, and audits before it touches a status
list. Past step 1 it writes only rows that no writer holds while waiting for a later step: new
rows, and rows it has already locked.
"""

from __future__ import annotations

# Revocations take numbers from a sequence in commit order, so a lane paging by number never
# skips one that committed late: writers hold this lock from nextval() to commit.
REVOCATION = 0x7265766B  # "revk"

# Every audit entry extends one hash chain: appenders hold this until their transaction ends.
AUDIT_CHAIN = 0x61756469  # "audi"
