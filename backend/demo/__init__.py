"""Demo data for ``make demo`` and ``flask --app backend seed-demo``: a believable city (``city``: partners,
venues, citizens, enrolment codes, a day of use) and its score ledger (``ledger``: providers, events, cases)."""
