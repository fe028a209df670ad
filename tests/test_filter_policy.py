"""SNS subscription filter policies: every vector of spec §4.5, each operator, limits and SNS's errors."""

from __future__ import annotations

import json
from typing import Any

import pytest

from vigil.errors import UsageError
from vigil.notify.filter_policy import (
    FilterPolicyError,
    compile_policy,
    sns_error_message,
)


def S(value: str) -> dict[str, str]:
    return {"DataType": "String", "StringValue": value}


def N(value: str) -> dict[str, str]:
    return {"DataType": "Number", "StringValue": value}


def SA(value: Any) -> dict[str, str]:
    return {"DataType": "String.Array", "StringValue": value if isinstance(value, str) else json.dumps(value)}


# §4.5 "A": the documentation's message attributes, and the same keys in the body.
A = {
    "customer_interests": SA(["soccer", "rugby", "hockey"]),
    "store": S("example_corp"),
    "event": S("order_placed"),
    "price_usd": N("210.75"),
}
A_BODY = {
    "customer_interests": ["soccer", "rugby", "hockey"],
    "store": "example_corp",
    "event": "order_placed",
    "price_usd": 210.75,
}

F1 = {
    "store": ["example_corp"],
    "event": [{"anything-but": "order_cancelled"}],
    "customer_interests": ["rugby", "football", "baseball"],
    "price_usd": [{"numeric": [">=", 100]}],
}
F2 = {
    "store": ["example_corp"],
    "event": ["order_cancelled"],
    "encrypted": [False],
    "customer_interests": ["basketball", "baseball"],
}

# (vector, policy, attributes, body or None when the vector is attribute-only, expected)
VECTORS: list[tuple[str, dict[str, Any], dict[str, Any], dict[str, Any] | None, bool]] = [
    ("F1", F1, A, A_BODY, True),
    ("F2", F2, A, A_BODY, False),
    ("F3", {"customer_interests": ["rugby", "tennis"]}, {"customer_interests": S("tennis")}, None, True),
    ("F4", {"customer_interests": ["rugby", "tennis"]}, {"customer_interests": S("baseball")}, None, False),
    ("F5", {"customer_interests": [{"prefix": "bas"}]}, {"customer_interests": S("basketball")}, None, True),
    ("F5b", {"customer_interests": [{"prefix": "bas"}]}, {"customer_interests": S("rugby")}, None, False),
    (
        "F6",
        {"customer_interests": [{"anything-but": ["rugby", "tennis"]}]},
        {"customer_interests": SA(["rugby", "baseball"])},
        {"customer_interests": ["rugby", "baseball"]},
        True,
    ),
    (
        "F7",
        {"customer_interests": [{"anything-but": ["rugby", "tennis"]}]},
        {"customer_interests": S("rugby")},
        None,
        False,
    ),
    ("F8", {"event": [{"anything-but": {"prefix": "order-"}}]}, {"event": S("order_number")}, None, True),
    (
        "F8b",
        {"event": [{"anything-but": {"prefix": "order-"}}]},
        {"event": S("order-cancelled")},
        None,
        False,
    ),
    ("F9", {"source_ip": [{"cidr": "10.0.0.0/24"}]}, {"source_ip": S("10.0.0.255")}, None, True),
    ("F9b", {"source_ip": [{"cidr": "10.0.0.0/24"}]}, {"source_ip": S("10.1.1.0")}, None, False),
    ("F10", {"price_usd": [{"numeric": ["=", 301.5]}]}, {"price_usd": N("3.015e2")}, None, True),
    ("F11", {"price": [{"anything-but": [100, 500]}]}, {"price": SA([100, 50])}, {"price": [100, 50]}, True),
    ("F11b", {"price": [{"anything-but": [100, 500]}]}, {"price": N("100")}, None, False),
    ("F12", {"price_usd": [{"numeric": [">", 0, "<=", 150]}]}, {"price_usd": N("150")}, None, True),
    ("F12b", {"price_usd": [{"numeric": [">", 0, "<=", 150]}]}, {"price_usd": N("0")}, None, False),
    ("F12c", {"price_usd": [{"numeric": [">", 0, "<=", 150]}]}, {"price_usd": N("200")}, None, False),
    ("F13", {"store": [{"exists": True}]}, {"event": S("order_placed")}, None, False),
    ("F14", {"store": [{"exists": False}]}, {"event": S("order_placed")}, None, True),
    (
        "F15",
        {"customer_interests": ["rugby"], "price_usd": [{"numeric": [">", 100]}]},
        {"customer_interests": S("rugby"), "price_usd": N("90")},
        None,
        False,
    ),
    ("F16", {"filter": [{"suffix": "gby"}]}, {"filter": SA(["soccer", "rugby"])}, None, True),
    ("F17", {"filter": [{"equals-ignore-case": "TYPE1"}]}, {"filter": S("type1")}, None, True),
    ("F18", {"filter": [{"numeric": ["=", 300]}]}, {"filter": S("test")}, None, False),
    (
        "F19",
        {"f1": ["v1"], "$or": [{"f2": ["v2"]}, {"f3": ["v3"]}]},
        {"f1": S("v1"), "f3": S("v3")},
        None,
        True,
    ),
    (
        "F20",
        {"f1": ["v1"], "$or": [{"f2": ["v2"]}, {"f3": ["v3"]}]},
        {"f1": S("v2"), "f3": S("v3")},
        None,
        False,
    ),
    ("F21", {"field": [True]}, {"field": SA("[true]")}, None, True),
    ("F22", {"field": ["anything"]}, {"field": SA("['anything']")}, None, False),
    ("F23", {"attr1": [None, {"anything-but": "whatever"}]}, {}, None, False),
    ("F24", {"attr1": [{"numeric": [">", 0, "<=", 100]}]}, {"attr1": N("99")}, None, True),
    ("F24b", {"attr1": [{"numeric": [">", 0, "<=", 100]}]}, {"attr1": N("111")}, None, False),
]


def _body_of(attributes: dict[str, Any]) -> dict[str, Any]:
    """The same keys in the body (§4.5 "same keys in body"): typed as the attribute's data type says."""
    out: dict[str, Any] = {}
    for name, attribute in attributes.items():
        text = attribute["StringValue"]
        if attribute["DataType"] == "Number":
            out[name] = float(text)
        elif attribute["DataType"] == "String.Array":
            try:
                out[name] = json.loads(text)
            except ValueError:
                out[name] = text  # F22's invalid array text is a plain string in the body
        else:
            out[name] = text
    return out


@pytest.mark.parametrize(
    ("name", "policy", "attributes", "body", "expected"), VECTORS, ids=[v[0] for v in VECTORS]
)
def test_vectors_attributes(
    name: str, policy: dict[str, Any], attributes: dict[str, Any], body: dict[str, Any] | None, expected: bool
) -> None:
    assert compile_policy(policy).matches_attributes(attributes) is expected
    assert compile_policy(json.dumps(policy)).matches("ignored", attributes) is expected


@pytest.mark.parametrize(
    ("name", "policy", "attributes", "body", "expected"), VECTORS, ids=[v[0] for v in VECTORS]
)
def test_vectors_body(
    name: str, policy: dict[str, Any], attributes: dict[str, Any], body: dict[str, Any] | None, expected: bool
) -> None:
    if name == "F22":  # a body has no invalid array text: the string 'anything'-list is not "anything"
        expected = False
    message = body if body is not None else _body_of(attributes)
    compiled = compile_policy(policy, "MessageBody")
    assert compiled.matches_body(message) is expected
    assert compiled.matches(json.dumps(message)) is expected


def test_f25_nested_body_array() -> None:
    policy = compile_policy({"headers": {"route-to": ["queue1"]}}, "MessageBody")
    assert policy.matches_body({"headers": {"route-to": ["queue1", "queue2"]}})
    assert not policy.matches_body({"headers": {"route-to": ["queue2"]}})
    assert not policy.matches_body({"route-to": ["queue1"]})


@pytest.mark.parametrize(
    ("name", "policy", "reason"),
    [
        ("F26", {"key": [{"anything-but": {"suffix": "test"}}]}, "Unsupported anything-but pattern: suffix"),
        ("F27", {"key": [{"numeric": [">", 3, "<", 1]}]}, "Bottom must be less than top"),
        ("F28", {"key": [{"cidr": "bad-filter"}]}, "Malformed CIDR, one '/' required"),
        ("F29", {"key": []}, "Empty arrays are not allowed"),
    ],
)
def test_invalid_vectors(name: str, policy: dict[str, Any], reason: str) -> None:
    for scope in ("MessageAttributes", "MessageBody"):
        with pytest.raises(FilterPolicyError) as caught:
            compile_policy(policy, scope)  # type: ignore[arg-type]
        assert caught.value.reason == reason
        assert isinstance(caught.value, UsageError)
        assert sns_error_message(caught.value) == f"Invalid parameter: FilterPolicy: {reason}"
        assert (
            sns_error_message(caught.value, subscribe=True)
            == f"Invalid parameter: Attributes Reason: FilterPolicy: {reason}"
        )


def test_f30_nested_policy_needs_body_scope() -> None:
    with pytest.raises(FilterPolicyError) as caught:
        compile_policy({"key_a": {"key_b": ["x"]}})
    assert sns_error_message(caught.value) == (
        "Invalid parameter: Filter policy scope MessageAttributes does not support nested filter policy"
    )
    assert compile_policy({"key_a": {"key_b": ["x"]}}, "MessageBody").matches_body({"key_a": {"key_b": "x"}})


# -- validation errors (texts observed from SNS, §4.4) -------------------------------------------------

ERRORS = [
    ({"key": [["value"]]}, "Match value must be String, number, true, false, or null"),
    ({"key": [{"wrong-operator": True}]}, "Unrecognized match type wrong-operator"),
    ({"key": [{"wildcard": "a*"}]}, "Unrecognized match type wildcard"),  # §4.4: no wildcard in SNS
    ({"key": [{"suffix": "value", "prefix": "value2"}]}, "Only one key allowed in match expression"),
    ({"key": [{"suffix": 100}]}, "suffix match pattern must be a string"),
    ({"key": [{"prefix": None}]}, "prefix match pattern must be a string"),
    ({"key": [{"equals-ignore-case": 1}]}, "equals-ignore-case match pattern must be a string"),
    ({"key": {"suffix": "value"}}, None),  # body scope: a nested key named suffix whose value is bad
    ({"key_a": "value_one"}, '"key_a" must be an object or an array'),
    ({"key": [{"numeric": []}]}, "Invalid member in numeric match: ]"),
    ({"key": [{"numeric": ["operator"]}]}, "Unrecognized numeric range operator: operator"),
    ({"key": [{"numeric": [1, "<="]}]}, "Invalid member in numeric match: 1"),
    ({"key": [{"numeric": ["=", "000"]}]}, "Value of equals must be numeric"),
    ({"key": [{"numeric": [">="]}]}, "Value of >= must be numeric"),
    ({"key": [{"numeric": ["<", 100, ">", 10]}]}, "Too many elements in numeric expression"),
    ({"key": [{"numeric": [">=", 1, ">", 2]}]}, "Bad numeric range operator: >"),
    ({"key": [{"numeric": [">", 20, "<="]}]}, "Value of <= must be numeric"),
    ({"key": [{"numeric": [">", 20, 30]}]}, "Bad value in numeric range: 30"),
    ({"key": [{"numeric": [">", 20, "test"]}]}, "Bad numeric range operator: test"),
    ({"key": [{"numeric": [">", "20", "<", "30"]}]}, "Value of > must be numeric"),
    ({"key": [{"numeric": [">", 20, "<", "30"]}]}, "Value of < must be numeric"),
    ({"key": [{"numeric": [">", 20, "<", 30, "<", 50]}]}, "Too many terms in numeric range expression"),
    ({"key": [{"numeric": [">", 5, "<", 5]}]}, "Bottom must be less than top"),
    ({"key": [{"numeric": "=5"}]}, "Value of numeric must be an array."),
    ({"key": [{"numeric": ["<", 1e10]}]}, "Value must be between -1.0E9 and 1.0E9, inclusive"),
    ({"key": [{"exists": None}]}, "exists match pattern must be either true or false."),
    ({"key": [{"exists": "no"}]}, "exists match pattern must be either true or false."),
    (
        {"key": [{"anything-but": {"wrong-operator": None}}]},
        "Unsupported anything-but pattern: wrong-operator",
    ),
    ({"key": [{"anything-but": {"exists": False}}]}, "Unsupported anything-but pattern: exists"),
    (
        {"key": [{"anything-but": {"equals-ignore-case": "x"}}]},
        "Unsupported anything-but pattern: equals-ignore-case",
    ),
    ({"key": [{"anything-but": {"prefix": False}}]}, "prefix match pattern must be a string"),
    (
        {"key": [{"anything-but": None}]},
        "Value of anything-but must be an array or single string/number value.",
    ),
    ({"key": [{"anything-but": [None]}]}, "Inside anything but list, start|null|boolean is not supported."),
    (
        {"key": [{"anything-but": ["a", 1]}]},
        "Inside anything but list, either all values are number or string, mixed type is not supported",
    ),
    ({"key": [{"cidr": "10.0.0.0/x"}]}, "Malformed CIDR, mask bits must be an integer"),
    ({"key": [{"cidr": "10.0.0.0/-1"}]}, "Malformed CIDR, mask bits must not be negative"),
    ({"key": [{"cidr": "10.0.0.0/32"}]}, "IPv4 mask bits must be < 32"),
    ({"key": [{"cidr": "2001:db8::/128"}]}, "IPv6 mask bits must be < 128"),
    ({"key": [{"cidr": "host/24"}]}, "Nonstandard IP address: host"),
    ({"key": [{"cidr": 10}]}, "prefix match pattern must be a string"),
]


@pytest.mark.parametrize(("policy", "reason"), [e for e in ERRORS if e[1] is not None])
def test_errors(policy: dict[str, Any], reason: str) -> None:
    with pytest.raises(FilterPolicyError) as caught:
        compile_policy(policy)
    assert caught.value.reason == reason
    assert caught.value.message == reason


def test_operator_object_not_in_list_is_a_nested_key_in_body_scope() -> None:
    # §4.4: in body scope {"key": {"suffix": …}} is a nested key named "suffix", whose value is not a list
    with pytest.raises(FilterPolicyError) as caught:
        compile_policy({"key": {"suffix": "value"}}, "MessageBody")
    assert caught.value.reason == '"suffix" must be an object or an array'


def test_policy_must_be_a_json_object() -> None:
    with pytest.raises(FilterPolicyError):
        compile_policy("[1]")
    with pytest.raises(FilterPolicyError) as caught:
        compile_policy("{not json")
    assert caught.value.reason.startswith("failed to parse JSON")
    with pytest.raises(UsageError) as scope_error:
        compile_policy({}, "Body")  # type: ignore[arg-type]
    assert "Please use either MessageBody or MessageAttributes" in scope_error.value.message


# -- limits: keys and combinations ------------------------------------------------------------------


def test_five_keys_limit() -> None:
    five = {f"k{i}": ["v"] for i in range(5)}
    assert compile_policy(five).matches_attributes({f"k{i}": S("v") for i in range(5)})
    with pytest.raises(FilterPolicyError) as caught:
        compile_policy({**five, "k5": ["v"]})
    assert caught.value.reason == "Filter policy can not have more than 5 keys"


def test_nested_keys_count_their_parent_only() -> None:
    # §4.4 (DOC example): finding's three nested keys count as one key
    policy = {
        "state": ["SUCCESS"],
        "severity": [{"exists": True}],
        "message": [{"exists": True}],
        "finding": {
            "standard_control": [{"exists": True}],
            "region": [{"exists": True}],
            "account": [{"exists": True}],
        },
    }
    assert compile_policy(policy, "MessageBody").root.top_keys == 4
    six_parents = {f"k{i}": {"x": ["v"]} for i in range(6)}
    with pytest.raises(FilterPolicyError, match="more than 5 keys"):
        compile_policy(six_parents, "MessageBody")


def test_or_keys_count_the_widest_branch() -> None:
    ok = {"a": ["1"], "b": ["1"], "$or": [{"c": ["1"], "d": ["1"]}, {"e": ["1"]}], "f": ["1"]}
    assert compile_policy(ok).root.top_keys == 5
    with pytest.raises(FilterPolicyError, match="more than 5 keys"):
        compile_policy({**ok, "$or": [{"c": ["1"], "d": ["1"], "g": ["1"]}, {"e": ["1"]}]})


def test_combinations_product_of_array_sizes() -> None:
    # §4.4 DOC example: 3 x 1 x 2 = 6
    policy = {"key_a": ["v1", "v2", "v3"], "key_b": ["v1"], "key_c": ["v1", "v2"]}
    assert compile_policy(policy).combinations == 6
    at_limit = {"a": [str(i) for i in range(10)], "b": [str(i) for i in range(15)]}
    assert compile_policy(at_limit).combinations == 150
    with pytest.raises(FilterPolicyError) as caught:
        compile_policy({**at_limit, "c": ["x", "y"]})
    assert caught.value.reason == "Filter policy is too complex"
    with pytest.raises(FilterPolicyError, match="too complex"):
        compile_policy({"a": [str(i) for i in range(151)]})


def test_combinations_sum_or_branches() -> None:
    # §4.4: $or branches are summed: 1 x (2 + 1 x (2 + 3)) = 7
    policy = {
        "source": ["aws.cloudwatch"],
        "$or": [
            {"metricName": ["CPUUtilization", "ReadLatency"]},
            {
                "metricType": ["MetricType"],
                "$or": [{"metricId": [1234, 4321]}, {"spaces": [1000, 2000, 3000]}],
            },
        ],
    }
    assert compile_policy(policy).combinations == 7
    flat = {
        "a": [str(i) for i in range(10)],
        "$or": [{"b": [str(i) for i in range(10)]}, {"c": ["1", "2", "3", "4", "5", "6"]}],
    }
    with pytest.raises(FilterPolicyError, match="too complex"):  # 10 x (10 + 6) = 160
        compile_policy(flat)


def test_combinations_body_scope_multiply_nesting_depth() -> None:
    # §4.4 (doc example): key_c has 4 values at depth 3, key_e 3 values at depth 2: 3x4 x 2x3 = 72
    policy = {"key_a": {"key_b": {"key_c": ["1", "2", "3", "4"]}}, "key_d": {"key_e": ["1", "2", "3"]}}
    assert compile_policy(policy, "MessageBody").combinations == 72
    deep = {"a": {"b": {"c": [str(i) for i in range(51)]}}}  # 3 x 51 = 153
    with pytest.raises(FilterPolicyError, match="too complex"):
        compile_policy(deep, "MessageBody")


# -- $or recognition ------------------------------------------------------------------------------------


def test_or_needs_two_objects_without_operator_keys() -> None:
    # §4.4 [DOC]: otherwise "$or" is an ordinary key name
    as_key = compile_policy({"$or": ["a", "b"]})
    assert as_key.matches_attributes({"$or": S("a")})
    with pytest.raises(FilterPolicyError, match="Unrecognized match type f2"):
        compile_policy({"$or": [{"f2": ["v2"]}]})
    with pytest.raises(FilterPolicyError, match="Value of numeric must be an array"):
        compile_policy({"$or": [{"numeric": 123}, {"prefix": "abc"}]})


def test_nested_or() -> None:
    policy = compile_policy(
        {"source": ["cw"], "$or": [{"name": ["cpu"]}, {"type": ["t"], "$or": [{"id": [1]}, {"space": [2]}]}]}
    )
    assert policy.matches_attributes({"source": S("cw"), "type": S("t"), "space": N("2")})
    assert not policy.matches_attributes({"source": S("cw"), "type": S("t")})
    assert policy.matches_attributes({"source": S("cw"), "name": S("cpu")})


def test_or_inside_nested_body_object() -> None:
    policy = compile_policy({"detail": {"$or": [{"a": ["1"]}, {"b": ["2"]}]}}, "MessageBody")
    assert policy.matches_body({"detail": {"b": "2"}})
    assert not policy.matches_body({"detail": {"c": "2"}})


# -- operators and value types --------------------------------------------------------------------------


def test_exact_strings_are_case_sensitive_and_typed() -> None:
    policy = compile_policy({"k": ["Rugby"]})
    assert policy.matches_attributes({"k": S("Rugby")})
    assert not policy.matches_attributes({"k": S("rugby")})
    # IMPL decision (module docstring): a Number attribute is a number, not the string "100"
    assert not compile_policy({"k": ["100"]}).matches_attributes({"k": N("100")})
    assert not compile_policy({"k": [100]}).matches_attributes({"k": S("100")})
    assert compile_policy({"k": [100]}).matches_attributes({"k": N("1e2")})


def test_literals_true_false_null_in_body() -> None:
    assert compile_policy({"k": [None]}, "MessageBody").matches_body({"k": None})
    assert not compile_policy({"k": [None]}, "MessageBody").matches_body({})
    assert compile_policy({"k": [False]}, "MessageBody").matches_body({"k": False})
    assert not compile_policy({"k": [False]}, "MessageBody").matches_body({"k": 0})
    assert not compile_policy({"k": [1]}, "MessageBody").matches_body({"k": True})


def test_numeric_ranges_bounds_and_one_sided() -> None:
    between = compile_policy({"k": [{"numeric": [">=", 0, "<", 10.5]}]}, "MessageBody")
    assert [between.matches_body({"k": v}) for v in (-0.1, 0, 10.49999, 10.5)] == [False, True, True, False]
    for op, value, hits in [
        ("<", 5, [True, False, False]),
        ("<=", 5, [True, True, False]),
        (">", 5, [False, False, True]),
    ]:
        policy = compile_policy({"k": [{"numeric": [op, value]}]}, "MessageBody")
        assert [policy.matches_body({"k": v}) for v in (4, 5, 6)] == hits
    assert compile_policy({"k": [{"numeric": [">=", -1e9, "<=", 1e9]}]}).matches_attributes(
        {"k": N("-1000000000")}
    )


def test_numeric_decimals_setting() -> None:
    # §8 item 6 (AMBIG): five decimals by default, six with numeric_decimals=6
    assert compile_policy({"k": [{"numeric": ["=", 1]}]}).matches_attributes({"k": N("1.000001")})
    six = compile_policy({"k": [{"numeric": ["=", 1]}]}, numeric_decimals=6)
    assert not six.matches_attributes({"k": N("1.000001")})
    assert compile_policy({"k": [1.00001]}).matches_attributes({"k": N("1.00001")})
    assert not compile_policy({"k": [1.00001]}).matches_attributes({"k": N("1.00002")})


def test_anything_but_forms() -> None:
    single = compile_policy({"k": [{"anything-but": "x"}]})
    assert single.matches_attributes({"k": S("y")})
    assert not single.matches_attributes({"k": S("x")})
    assert not single.matches_attributes({})  # absent: nothing to be "anything but"
    number = compile_policy({"k": [{"anything-but": 100}]})
    assert number.matches_attributes({"k": N("101")})
    assert not number.matches_attributes({"k": N("1e2")})
    assert not number.matches_attributes({"k": S("text")})  # numeric anything-but sees numbers only
    prefixed = compile_policy({"k": [{"anything-but": {"prefix": "order-"}}]})
    assert prefixed.matches_attributes({"k": SA(["order-1", "other"])})
    assert not prefixed.matches_attributes({"k": SA(["order-1", "order-2"])})


def test_exists_and_binary() -> None:
    exists = compile_policy({"k": [{"exists": True}]})
    assert exists.matches_attributes({"k": N("1")})
    assert not exists.matches_attributes({"k": {"DataType": "Binary", "BinaryValue": b"x"}})  # Binary ignored
    absent = compile_policy({"k": [{"exists": False}]})
    assert absent.matches_attributes({"k": {"DataType": "Binary", "BinaryValue": b"x"}})
    assert not absent.matches_attributes({"k": S("")})
    either = compile_policy({"k": [{"exists": False}, "x"]})
    assert either.matches_attributes({}) and either.matches_attributes({"k": S("x")})
    assert not either.matches_attributes({"k": S("y")})
    body = compile_policy({"a": {"b": [{"exists": False}]}}, "MessageBody")
    assert body.matches_body({"a": {"c": 1}}) and not body.matches_body({"a": {"b": None}})


def test_invalid_string_array_is_present_without_values() -> None:
    # §4.5 F22 (IMPL): never matches a value; exists still sees the attribute
    assert compile_policy({"k": [{"exists": True}]}).matches_attributes({"k": SA("not json")})
    assert not compile_policy({"k": [{"prefix": ""}]}).matches_attributes({"k": SA("not json")})


def test_cidr_ipv4_ipv6_and_host_bits() -> None:
    v6 = compile_policy({"ip": [{"cidr": "2001:db8::/32"}]})
    assert v6.matches_attributes({"ip": S("2001:db8:1::1")})
    assert not v6.matches_attributes({"ip": S("2001:db9::1")})
    assert not v6.matches_attributes({"ip": S("10.0.0.1")})
    assert not v6.matches_attributes({"ip": S("not an ip")})
    # SNS's range starts at the address as written: host bits are not cleared
    quirky = compile_policy({"ip": [{"cidr": "10.0.0.5/24"}]})
    assert [quirky.matches_attributes({"ip": S(f"10.0.0.{n}")}) for n in (4, 5, 255)] == [False, True, True]


def test_attribute_data_types() -> None:
    assert compile_policy({"k": [5]}).matches_attributes(
        {"k": {"DataType": "Number.int", "StringValue": "5"}}
    )
    assert compile_policy({"k": ["a"]}).matches_attributes({"k": {"Type": "String", "Value": "a"}})
    assert not compile_policy({"k": [5]}).matches_attributes({"k": N("five")})


def test_body_dotted_keys_and_arrays_of_objects() -> None:
    # §4.4 [IMPL]: "a.b" in the policy and nested {"a": {"b": …}} in the body are one key, and back
    dotted = compile_policy({"object.nested": [{"prefix": "string"}]}, "MessageBody")
    assert dotted.matches_body({"object": {"nested": "string.value"}})
    nested = compile_policy({"object": {"nested": {"test": [{"prefix": "string"}]}}}, "MessageBody")
    for body in (
        {"object": {"nested": {"test": "string.value"}}},
        {"object.nested.test": "string.value"},
        {"object.nested": {"test": "string.value"}},
        {"object": {"nested.test": "string.value"}},
    ):
        assert nested.matches_body(body), body
    records = compile_policy({"Records": {"s3": {"object": {"key": [{"prefix": "auto-"}]}}}}, "MessageBody")
    assert records.matches_body({"Records": [{"s3": {"object": [[{"key": "auto-1.xml"}]]}}, {"s3": {}}]})
    assert not records.matches_body({"Records": [{"s3": {"object": {"key": "home-1.xml"}}}]})


def test_body_must_be_a_json_object() -> None:
    policy = compile_policy({"k": [{"exists": False}]}, "MessageBody")
    assert policy.matches_body("{}")
    assert not policy.matches_body("not json")
    assert not policy.matches_body("[1, 2]")
    assert not policy.matches("plain text")


def test_empty_policy_matches_everything() -> None:
    assert compile_policy("{}").matches_attributes({})
    assert compile_policy({}, "MessageBody").matches_body({"a": 1})


def test_compile_once_match_many_is_pure() -> None:
    source = {"k": ["a", {"prefix": "b"}]}
    policy = compile_policy(source)
    assert source == {"k": ["a", {"prefix": "b"}]}
    assert [policy.matches_attributes({"k": S(v)}) for v in ("a", "bb", "c")] * 2 == [True, True, False] * 2
