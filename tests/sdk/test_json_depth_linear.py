"""The JSON depth bound runs before any signature check (trust lists, headers), so it must be linear in the
input: the substitution it replaced took 4 s on 16 KB of hostile bytes and hours on a 1 MB trust list."""
import random
import subprocess
import sys

import pytest

from partner_sdk import format as fmt


def _depth_by_the_spec(data: bytes, max_depth: int) -> bool:
    """The spec's rule written as plainly as possible (clients/js/src/json.js checkDepth does the same)."""
    depth, i, n, strings = 0, 0, len(data), True
    while i < n:
        b = data[i]
        if b == 0x22 and strings:
            j = i + 1
            while j < n and data[j] != 0x22:
                j += 2 if data[j] == 0x5C else 1
            if j < n:
                i = j
            else:
                strings = False
        elif b in (0x5B, 0x7B):
            depth += 1
            if depth > max_depth:
                return True
        elif b in (0x5D, 0x7D):
            depth -= 1
        i += 1
    return False


def test_same_answers_as_the_spec_rule_on_random_texts():
    rng = random.Random(18)
    alphabet = b'[]{}"\\\\ab,:'
    for _ in range(5000):
        data = bytes(rng.choice(alphabet) for _ in range(rng.randrange(0, 40)))
        for depth in (1, 2, 4):
            assert fmt.json_depth_exceeds(data, depth) == _depth_by_the_spec(data, depth), (data, depth)


HOSTILE = "b'\"' + b'\\\\\"' * 200_000 + b'[' * 20"  # an unclosed quote, 400 KB of escaped quotes, deep


def test_hostile_unclosed_strings_are_refused_in_linear_time():
    # ~minutes for the old substitution, milliseconds now. A subprocess with a generous bound, so that a
    # regression fails instead of hanging CI.
    code = (f"from partner_sdk import format as fmt\ndata = {HOSTILE}\nassert len(data) > 400_000\n"
            "try:\n    fmt.json_loads_bounded(data, 8)\nexcept fmt.TransportError:\n    print('refused')\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.stdout.strip() == "refused", r.stderr[-2000:]


@pytest.mark.parametrize("data,deep", [(b'{"a": "[[[[[[[[[["}', False), (b'[[[[[[[[[[]]]]]]]]]]', True),
                                       (b'"unclosed [[[[[[[[[[', True), (b'"\\\\" [[[[[[[[[[', True)])
def test_strings_hide_brackets_until_a_quote_is_left_open(data, deep):
    assert fmt.json_depth_exceeds(data, 8) is deep
