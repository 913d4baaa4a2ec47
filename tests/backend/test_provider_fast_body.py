"""The provider batch's fast loader agrees with its schema (issue 19, speed): every body it loads, the schema
loads to the same dict; every body it declines, the schema refuses or loads (never the other way round);
and the batch answer written without marshmallow is exactly ProviderBatchOut's fields."""
from __future__ import annotations

import random

from marshmallow import ValidationError

from backend.schemas.ledger import ProviderBatchIn, ProviderBatchOut, fast_provider_batch

GOOD = {"reference": "FZ-TP-2026-000001", "phone": "+8613800001001", "scheme": "moli", "rule": "OFFENCE-MINOR",
        "points": -5, "occurred_at": 1_795_000_000}
VARIANTS = [
    {}, {"description": "x"}, {"reference": "fz-1"}, {"reference": "FZ"}, {"reference": "F" * 41}, {"reference": 7},
    {"reference": "FZ-TP-2026-00000\x01"}, {"phone": "+86 138 0000 1001"}, {"phone": "blood type AB"},
    {"phone": {"n": 1}}, {"phone": "+" + "1" * 40}, {"citizen_id": "c_" + "a" * 24}, {"citizen_id": "c_XYZ"},
    {"scheme": "Moli"}, {"scheme": "m"}, {"rule": "offence-minor"}, {"rule": "OFFENCE MINOR"}, {"points": True},
    {"points": "5"}, {"points": 5.0}, {"points": 10001}, {"points": -10000}, {"occurred_at": -1},
    {"occurred_at": 2 ** 40 + 1}, {"occurred_at": 2 ** 40}, {"religion": "x"}, {"宗教": "x"}, {"points": None},
    {"reference": "FZ-TP-2026-000001\n"}, {"scheme": "moli\n"},
]


def _schema(body):
    try:
        return ProviderBatchIn().load(body)
    except ValidationError:
        return "refused"


def test_the_fast_loader_agrees_with_the_schema():
    bodies = [{"events": [dict(GOOD, **v)]} for v in VARIANTS]
    bodies += [{"events": [dict(GOOD, **v) for v in (VARIANTS[0], VARIANTS[7])]}, {"events": []},
               {"events": [GOOD] * 1001}, {"events": [GOOD], "extra": 1}, {"events": "x"}, {"events": [GOOD, 5]}]
    without = {k: v for k, v in GOOD.items() if k not in ("phone", "points")}
    bodies += [{"events": [without]}, {"events": [{k: v for k, v in GOOD.items() if k != "rule"}]}]
    rnd = random.Random(19)
    for _ in range(300):
        ev = dict(GOOD)
        for _k in range(rnd.randint(1, 3)):
            key = rnd.choice(list(GOOD) + ["note"])
            ev[key] = rnd.choice([None, "", "FZ-TP-1", 0, -1, 2 ** 41, "moli", "+8613800001001", [1], {"a": 1},
                                  "c_" + "0" * 24, "ABC-DEF", True, 3.5])
            if rnd.random() < 0.2:
                ev.pop(key, None)
        bodies.append({"events": [ev]})
    loaded = 0
    for body in bodies:
        fast = fast_provider_batch(body)
        slow = _schema(body)
        if fast is not None:
            loaded += 1
            assert slow == fast, (body, fast, slow)
    assert loaded >= 10, "the fast loader takes the ordinary shape"
    assert fast_provider_batch({"events": [GOOD] * 1000}) == _schema({"events": [GOOD] * 1000})


def test_the_written_answer_is_the_schema_s(h):
    from tests.backend.test_ledger import Ledger
    lg = Ledger(h)
    h.citizen("+8613800001001", {"moli": 650})
    prov = lg.provider(reference_format="FZ-TP-####-######")
    r = h.client.post("/api/v1/provider/events", headers=h.bearer(prov), json={"events": [
        GOOD, dict(GOOD, reference="FZ-TP-2026-000002", phone="+8613899999999")]})
    assert r.status_code == 200, r.json
    assert ProviderBatchOut().dump(r.json) == r.json
    assert [x["status"] for x in r.json["results"]] == ["accepted", "not_enrolled"]
    assert r.json["results"][0] == {"reference": "FZ-TP-2026-000001", "status": "accepted",
                                    "event_status": "pending_review"}
