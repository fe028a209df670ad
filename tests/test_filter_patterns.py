"""CloudWatch Logs filter patterns against every vector of aws-semantics.md §1.9, plus errors,
the term-mode switch, ``?`` grouping and space-delimited extraction."""

from __future__ import annotations

import orjson
import pytest

from vigil.logs.pattern import Match, PatternError, compile_pattern
from vigil.logs.pattern.compiler import split_fields, wildcard_match

M, N, INVALID = "M", "N", "INVALID"

E1 = "[ERROR 400] BAD REQUEST"
E2 = "[ERROR 401] UNAUTHORIZED REQUEST"
E3 = "[ERROR 419] MISSING ARGUMENTS"
E4 = "[ERROR 420] INVALID ARGUMENTS"
E5 = "[ERROR 500] INTERNAL SERVER ERROR"
E6 = "[SUCCESS 200] AUTHORIZED REQUEST"
UNSTRUCTURED = (E1, E2, E3, E4, E5, E6)

J1 = (
    '{"eventType":"UpdateTrail","sourceIPAddress":"111.111.111.111","arrayKey":["value","another value"],'
    '"objectList":[{"name":"a","id":1},{"name":"b","id":2}],"SomeObject":null}'
)
J2 = (
    '{"user":{"id":1,"email":"John.Stiles@example.com"},"users":[{"id":2,"email":"John.Doe@example.com"},'
    '{"id":3,"email":"Jane.Doe@example.com"}],"actions":["GET","PUT","DELETE"],'
    '"coordinates":[[0,1,2],[4,5,6],[7,8,9]]}'
)
J3 = (
    '{"eventType":"UpdateTrail","sourceIPAddress":"111.111.111.111","someString":"111.111.111.111",'
    '"emptyString":"","someInt":123,"someFloat":12.34,"someFloat2":12.0,"someObject":{},"someArray":[],'
    '"someNull":null}'
)
S1 = '127.0.0.1 Prod frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 404 1534'
S_APACHE = '127.0.0.1 - bob [10/Oct/2000:13:55:36 -0700] "GET /apache_pb2.gif HTTP/1.0" 200 2326'

# (vector id, pattern, event, expected). Vector 17 is AMBIG: the default token mode is tested here,
# substring mode in test_term_mode_switch. Vectors 13/14 ("any event") run against every E event.
VECTORS: list[tuple[str, str, str, str]] = [
    ("1", "ERROR", E1, M),
    ("2", "ERROR", E4, M),
    ("3", "ERROR", E6, N),
    ("4", "error", E1, N),
    ("5", "ERROR ARGUMENTS", E3, M),
    ("6", "ERROR ARGUMENTS", E1, N),
    ("7", "?ERROR ?ARGUMENTS", E2, M),
    ("8", "?ERROR ?ARGUMENTS", E6, N),
    ("9", '"INTERNAL SERVER ERROR"', E5, M),
    ("10", '"INTERNAL SERVER ERROR"', "[ERROR 500] INTERNAL SERVER", N),
    ("11", "ERROR -ARGUMENTS", E2, M),
    ("12", "ERROR -ARGUMENTS", E4, N),
    *((f"13/{i}", '" "', event, M) for i, event in enumerate(UNSTRUCTURED, 1)),
    *((f"14/{i}", "", event, M) for i, event in enumerate(UNSTRUCTURED, 1)),
    ("15", "%AUTHORIZED%", E2, M),
    ("16", "%AUTHORIZED%", E6, M),
    ("17", "AUTHORIZED", E2, N),
    ("18", "%[Ee]rror%", "an error occurred", M),
    ("19a", "%^[hc]at%", "cat sat", M),
    ("19b", "%^[hc]at%", "the cat", N),
    ("20", "%something!%", E1, INVALID),
    ("21", "Cloud watch", "Cloud logs watch", M),
    ("22", '"Cloud watch"', "Cloud logs watch", N),
    ("23", '{ $.eventType = "UpdateTrail" }', J1, M),
    ("24", "{ $.eventType = UpdateTrail }", J1, M),
    ("25", "{ $.sourceIPAddress != 123.123.* }", J1, M),
    ("26", "{ $.sourceIPAddress = 111.111.* }", J1, M),
    ("27", '{ $.arrayKey[0] = "value" }', J1, M),
    ("28", '{ $.arrayKey = "value" }', J1, N),
    ("29", "{ $.objectList[1].id = 2 }", J1, M),
    ("30", "{ $.SomeObject IS NULL }", J1, M),
    ("31", "{ $.SomeOtherObject NOT EXISTS }", J1, M),
    ("32", "{ $.eventType NOT EXISTS }", J1, N),
    ("33", '{ $.eventType = "*" && $.sourceIPAddress != 123.123.* }', J1, M),
    ("34", '{ $.notExisted != "UpdateTrail" }', J1, N),
    ("35", "{ $.eventType IS NOT NULL }", J1, INVALID),
    ("36", '{ ($.user.id = 1) && ($.users[0].email = "John.Doe@example.com") }', J2, M),
    (
        "37",
        '{ $.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = "nonmatch"'
        ' && $.actions[2] = "nonmatch" }',
        J2,
        M,
    ),
    (
        "38",
        '{ ($.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = "nonmatch")'
        ' && $.actions[2] = "nonmatch" }',
        J2,
        N,
    ),
    ("39", '{ ($.user.id = 2 && $.users[0].email = "nonmatch") || $.actions[2] = "GET" }', J2, N),
    ("40", "{ $.coordinates[1][2] = 6 }", J2, M),
    ("41", '{ $.someString = "111.111.111.111" }', J3, M),
    ("42", '{ $.emptyString = "*" }', J3, M),
    ("43", '{ $.someString = "*.111.111.111" }', J3, M),
    ("44", '{ $.someString = "*111.111.111" }', J3, N),
    ("45", "{ $.someString != 111*111 }", J3, M),
    ("46", '{ $.someInt = "123" }', J3, M),
    ("47", '{ $.someInt != "123.0" }', J3, M),
    ("48", "{ $.someInt = 123.0 }", J3, M),
    ("49", "{ $.someInt = *23 }", J3, M),
    ("50", "{ $.someInt != *1 }", J3, M),
    ("51", '{ $.someInt != "1*3" }', J3, N),
    ("52", "{ $.someFloat = 12.3* }", J3, M),
    ("53", "{ $.someFloat2 = 12 }", J3, M),
    ("54", '{ $.someFloat2 != "12" }', J3, M),
    ("55", "{ $.someString != 111 }", J3, M),
    ("56", "{ $.someString = 123 }", J3, N),
    ("57", "{ $.someString > 123 }", J3, N),
    ("58", "{ $.someObject = 123 }", J3, N),
    ("59", '{ $.someObject != "non-number-like" }', J3, N),
    ("60", "{ $.someString > unquoted_string }", J3, INVALID),
    ("61", '{ $.someString >= "123" }', J3, INVALID),
    ("62", "[ip, user, username, timestamp, request =*.html*, status_code = 4*, bytes]", S1, M),
    ("63", "[..., request =*.html*, status_code = 4*, bytes]", S1, M),
    (
        "64",
        "[ip, user, username, timestamp, request =*.html*, status_code = 404 || status_code = 410, bytes]",
        S1,
        M,
    ),
    ("65", "[ip, server, username, timestamp, request, status_code, bytes > 1000]", S1, M),
    ("66", "[ip, server, username, timestamp, request, status_code, bytes > 2000]", S1, N),
    ("67", "[ip, id, user, timestamp, request, status_code=404, size]", S_APACHE, N),
    ("68", "[ip, user, username, timestamp, request, status_code = 4* && bytes > 1000]", S1, INVALID),
    ("69", "[w1!=ERROR && w1!=WARNING, w2]", "INFO started", M),
    ("70", "[w1=ERROR, ...]", "ERROR disk full now", M),
]


@pytest.mark.parametrize(("vector", "pattern", "event", "expected"), VECTORS, ids=[v[0] for v in VECTORS])
def test_spec_vectors(vector: str, pattern: str, event: str, expected: str) -> None:
    if expected == INVALID:
        with pytest.raises(PatternError):
            compile_pattern(pattern)
        return
    outcome = M if compile_pattern(pattern).match(event) is not None else N
    assert outcome == expected


def test_every_spec_vector_is_in_the_table() -> None:
    numbers = {vector.split("/")[0].rstrip("ab") for vector, *_ in VECTORS}
    assert numbers == {str(n) for n in range(1, 71)}


# ---------------------------------------------------------------------------------------- term mode


@pytest.mark.parametrize(
    ("pattern", "event", "token", "substring"),
    [
        ("AUTHORIZED", E2, N, M),  # vector 17 [AMBIG]
        ("AUTHORIZED", E6, M, M),
        ('"hello cruel"', "hello cruela", N, M),  # moto's substring assertion
        ("ERROR", "service ERROR: timeout", M, M),  # ':' is a delimiter
        ("ERROR DATABASE", "ERROR: DATABASE down", M, M),
        ('"#Cloud"', "x#Cloud watch", M, M),  # non-word edges need no boundary
        ("%AUTHORIZED%", E2, M, M),  # regex is always a substring search
    ],
)
def test_term_mode_switch(pattern: str, event: str, token: str, substring: str) -> None:
    for mode, expected in (("token", token), ("substring", substring)):
        outcome = M if compile_pattern(pattern, term_mode=mode).match(event) else N
        assert (mode, outcome) == (mode, expected)


def test_default_term_mode_is_token() -> None:
    assert compile_pattern("AUTHORIZED").match(E2) is None


def test_unknown_term_mode_is_rejected() -> None:
    with pytest.raises(ValueError, match="term_mode must be one of token, substring"):
        compile_pattern("ERROR", term_mode="fuzzy")


# ---------------------------------------------------------------------------------------- ? groups


@pytest.mark.parametrize(
    ("event", "expected"),
    [("a b", M), ("c d", M), ("a d", N), ("b c", N), ("a b c d", M)],
)
def test_question_mark_opens_an_and_group(event: str, expected: str) -> None:
    # What the AWS CDK's anyTermGroup(["a","b"],["c","d"]) emits: (a AND b) OR (c AND d).
    pattern = compile_pattern('?"a" "b" ?"c" "d"')
    assert (M if pattern.match(event) else N) == expected


def test_exclusion_inside_or_group() -> None:
    pattern = compile_pattern("?ERROR -ARGUMENTS ?SUCCESS")
    assert [bool(pattern.match(e)) for e in UNSTRUCTURED] == [True, True, False, False, True, True]


def test_plain_terms_before_first_question_mark_are_rejected() -> None:
    with pytest.raises(PatternError) as caught:
        compile_pattern("ERROR ?WARN")
    assert (caught.value.position, caught.value.expected) == (0, "'?' before the first term")


# ---------------------------------------------------------------------------------------- errors


def test_error_message_format() -> None:
    with pytest.raises(PatternError) as caught:
        compile_pattern("{ $.eventType ~ 1 }")
    err = caught.value
    assert (err.position, err.expected, err.found) == (14, "an operator (= != < <= > >=)", '"~"')
    assert str(err) == 'filter pattern: at column 15: expected an operator (= != < <= > >=), found "~"'
    assert isinstance(err, ValueError)


@pytest.mark.parametrize(
    ("pattern", "position", "expected"),
    [
        (
            "%something!%",
            10,
            r"a regex character (letters, digits, : _ # = @ / ; , - or ^ $ ? [ ] { } | \ * + .)",
        ),
        ("%(a|b)%", 1, r"a regex character (letters, digits, : _ # = @ / ; , - or ^ $ ? [ ] { } | \ * + .)"),
        ("%abc", 4, "a closing '%'"),
        ("%a{2,1}%", 3, "a valid regular expression"),
        ("{ $.eventType IS NOT NULL }", 17, "NULL, TRUE or FALSE after IS"),
        ("{ $.eventType EXISTS }", 14, "an operator (= != < <= > >=), IS or NOT EXISTS"),
        ("{ $.a NOT THERE }", 10, "EXISTS after NOT"),
        ('{ $.someString >= "123" }', 18, "an unquoted number after '>='"),
        ("{ $.someString > unquoted_string }", 17, "an unquoted number after '>'"),
        ("{ $.a > 1* }", 8, "an unquoted number after '>'"),
        ("{ $.a > %1% }", 8, "an unquoted number after '>'"),
        ("{ $.a[*] = 1 }", 6, "an array index such as [0]"),
        ("{ $..a = 1 }", 4, "a field name"),
        ("{ $.* = 1 }", 4, "a field name"),
        ("{ $ = 1 }", 3, "'.' or '[' after '$'"),
        ("{ $.a = }", 8, "a value (a quoted string, a number, a word or a %regex%)"),
        ('{ $.a = "x }', 12, "a closing '\"'"),
        ("{ $.a = 1", 9, "'&&', '||' or '}'"),
        ("{ ($.a = 1 }", 11, "'&&', '||' or ')'"),
        ("{ $.a = 1 } extra", 12, "end of pattern"),
        ("{ a = 1 }", 2, "a selector ($.field) or '('"),
        (
            "{ $.a = %x% || $.b = %y% || $.c = %z% }",
            34,
            "at most 2 regular expressions in one JSON or space-delimited pattern",
        ),
        ("[a, b", 5, "',' or ']'"),
        ("[a, , b]", 4, "a field name ([A-Za-z0-9_-]) or '...'"),
        ("[..., a, ...]", 9, "a field name"),
        ("[a, a]", 4, "a new field name"),
        ("[a ~ 1]", 3, "an operator (= != < <= > >=), ',' or ']'"),
        (
            "[ip, user, username, timestamp, request, status_code = 4* && bytes > 1000]",
            61,
            "the field name 'status_code'",
        ),
        ("ERROR ?", 7, "a term after '?'"),
        ("ERROR -", 7, "a term after '-'"),
        ('ab"cd"', 2, "whitespace between terms"),
        ("x" * 1025, 1024, "at most 1024 characters"),
    ],
)
def test_error_positions(pattern: str, position: int, expected: str) -> None:
    with pytest.raises(PatternError) as caught:
        compile_pattern(pattern)
    assert (caught.value.position, caught.value.expected) == (position, expected)


def test_error_found_names_the_whole_word() -> None:
    with pytest.raises(PatternError) as caught:
        compile_pattern("{ $.eventType IS NOT NULL }")
    assert caught.value.found == '"NOT"'
    assert "IS NOT is not supported" in str(caught.value)


# ---------------------------------------------------------------------------------------- JSON details


@pytest.mark.parametrize(
    ("pattern", "event", "expected"),
    [
        ('{ $.n = "1e3" }', '{"n":1e3}', M),  # number lexeme kept, not 1000.0
        ("{ $.n = 1000 }", '{"n":1e3}', M),  # numeric equality
        ("{ $.n >= 1e+3 }", '{"n":1000}', M),
        ("{ $.n < -1.5e-3 }", '{"n":-0.002}', M),
        ("{ $.flag IS TRUE }", '{"flag":true}', M),
        ("{ $.flag IS FALSE }", '{"flag":true}', N),
        ("{ $.flag IS TRUE }", '{"flag":"true"}', N),
        ("{ $.flag = true }", '{"flag":true}', M),  # booleans compare as text [INFER]
        ("{ $.someNull IS NULL }", '{"someNull":null}', M),
        ("{ $.someNull NOT EXISTS }", '{"someNull":null}', N),  # null counts as existing
        ('{ $.someNull != "x" }', '{"someNull":null}', N),
        ("{ $.a = 1 }", "not json at all", N),
        ("{ $.a = 1 }", "[1]", N),  # the event must be a JSON object
        ("{ $.a = 1 }", '{"a":NaN}', N),
        ('{ $.msg = "error \\"message\\"" }', '{"msg":"error \\"message\\""}', M),
        ('{ $["detail-type"] = "X" }', '{"detail-type":"X"}', M),
        ("{ $.detail-type = X }", '{"detail-type":"X"}', M),
        ("{ $.a[5] NOT EXISTS }", '{"a":[1]}', M),
        ("{ $.a[0] NOT EXISTS }", '{"a":[1]}', N),
        ("{ $.message = %^ERR% }", '{"message":"ERROR x"}', M),
        ("{ $.message != %^ERR% }", '{"message":"ERROR x"}', N),
        ("{ $.errorMessage = Failed authentication }", '{"errorMessage":"Failed authentication"}', M),
    ],
)
def test_json_details(pattern: str, event: str, expected: str) -> None:
    assert (M if compile_pattern(pattern).match(event) else N) == expected


CIS_UNAUTHORIZED_V4 = (
    "{ ($.errorCode =*UnauthorizedOperation) || ($.errorCode =AccessDenied*) &&"
    " ($.sourceIPAddress!=delivery.logs.amazonaws.com) && ($.eventName!=HeadBucket) }"
)


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ('{"errorCode":"Client.UnauthorizedOperation","eventName":"HeadBucket"}', M),
        ('{"errorCode":"AccessDenied","sourceIPAddress":"1.2.3.4","eventName":"GetObject"}', M),
        ('{"errorCode":"AccessDenied","sourceIPAddress":"1.2.3.4","eventName":"HeadBucket"}', N),
        ('{"eventName":"GetObject","sourceIPAddress":"1.2.3.4"}', N),
    ],
)
def test_cis_unauthorized_api_calls_precedence(event: str, expected: str) -> None:
    assert (M if compile_pattern(CIS_UNAUTHORIZED_V4).match(event) else N) == expected


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("*", "", True),
        ("*.111.111.111", "111.111.111.111", True),
        ("*111.111.111", "111.111.111.111", False),
        ("111*111", "111.111.111.111", False),
        ("1*3", "123", True),
        ("*1", "123", False),
        ("12.3*", "12.34", True),
        ("a*b*c", "aXbYc", True),
        ("a**c", "ac", True),
        ("abc", "abc", True),
        ("abc", "abcd", False),
    ],
)
def test_wildcard_without_backtracking(pattern: str, value: str, expected: bool) -> None:
    assert wildcard_match(pattern, value) is expected


# ---------------------------------------------------------------------------------------- space-delimited


def test_extraction_of_named_fields() -> None:
    pattern = compile_pattern("[ip, user, username, timestamp, request =*.html*, status_code = 4*, bytes]")
    assert pattern.match(S1) == Match(
        {
            "$ip": "127.0.0.1",
            "$user": "Prod",
            "$username": "frank",
            "$timestamp": "10/Oct/2000:13:25:15 -0700",
            "$request": "GET /index.html HTTP/1.0",
            "$status_code": "404",
            "$bytes": "1534",
        }
    )


def test_extraction_around_an_ellipsis() -> None:
    pattern = compile_pattern("[ip, ..., status_code = 4*, bytes]")
    assert pattern.match(S1) == Match({"$ip": "127.0.0.1", "$status_code": "404", "$bytes": "1534"})


def test_json_and_term_matches_extract_nothing() -> None:
    assert compile_pattern("{ $.eventType = UpdateTrail }").match(J1) == Match({})
    assert compile_pattern("ERROR").match(E1) == Match({})


@pytest.mark.parametrize(
    ("pattern", "event", "expected"),
    [
        ("[w1=ERROR, w2]", "ERROR disk full now", N),  # [AMBIG] §1.4: strict whole-event rule
        ("[w1=ERROR, w2]", "ERROR disk", M),
        ("[...]", "", M),
        ("[..., last = now]", "ERROR disk full now", M),
        ("[a, b, c]", "a b", N),
        ("[ip, ..., status]", "1.2.3.4 a b c 200", M),
        ("[a, ..., b, c]", "x y", N),
        ("[code = 404.0]", "404", M),  # numeric when both sides are numbers
        ('[code = "404.0"]', "404", N),
        ("[code > 10]", "abc", N),
        ("[msg = %^GET%]", '"GET /x"', M),
        ("[a, b]", "a  b", M),  # runs of spaces are one delimiter
    ],
)
def test_space_delimited_details(pattern: str, event: str, expected: str) -> None:
    assert (M if compile_pattern(pattern).match(event) else N) == expected


def test_split_fields() -> None:
    assert split_fields(S1) == [
        "127.0.0.1",
        "Prod",
        "frank",
        "10/Oct/2000:13:25:15 -0700",
        "GET /index.html HTTP/1.0",
        "404",
        "1534",
    ]
    assert split_fields('a "unterminated b') == ["a", '"unterminated', "b"]


def test_pattern_kind() -> None:
    kinds = [compile_pattern(text).kind for text in ("ERROR", " { $.a = 1 }", "[a]", "", "%x%")]
    assert kinds == ["terms", "json", "space-delimited", "terms", "terms"]


# ---------------------------------------------------------------------------------------- CIS texts

CIS_PATTERNS = [
    '{($.errorCode="*UnauthorizedOperation") || ($.errorCode="AccessDenied*")}',
    '{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") ||'
    ' ($.sourceIPAddress!="delivery.logs.amazonaws.com") || ($.eventName!="HeadBucket") }',
    CIS_UNAUTHORIZED_V4,
    '{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") }',
    '{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != "AwsServiceEvent" }',
    "{($.eventName=DeleteGroupPolicy)||($.eventName=DeleteRolePolicy)||($.eventName=PutGroupPolicy)}",
    '{ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") }',
    "{($.eventSource = kms.amazonaws.com) && (($.eventName=DisableKey)||($.eventName=ScheduleKeyDeletion)) }",
]

ROOT_CONSOLE_LOGIN = (
    '{"eventType":"AwsConsoleSignIn","eventName":"ConsoleLogin","userIdentity":{"type":"Root"},'
    '"additionalEventData":{"MFAUsed":"No"},"responseElements":{"ConsoleLogin":"Success"}}'
)


@pytest.mark.parametrize("pattern", CIS_PATTERNS)
def test_cis_patterns_compile(pattern: str) -> None:
    assert compile_pattern(pattern).kind == "json"


def test_cis_root_and_mfa_patterns_on_a_root_sign_in() -> None:
    assert compile_pattern(CIS_PATTERNS[4]).match(ROOT_CONSOLE_LOGIN) is not None  # C6
    assert compile_pattern(CIS_PATTERNS[3]).match(ROOT_CONSOLE_LOGIN) is not None
    invoked = ROOT_CONSOLE_LOGIN.replace('"type":"Root"', '"type":"Root","invokedBy":"ec2.amazonaws.com"')
    assert compile_pattern(CIS_PATTERNS[4]).match(invoked) is None  # C7


def _json_object(text: str) -> dict[str, object] | None:
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    return document if isinstance(document, dict) else None


JSON_VECTORS = [v for v in VECTORS if v[3] != INVALID and _json_object(v[2]) is not None]


@pytest.mark.parametrize(
    ("vector", "pattern", "event"), [v[:3] for v in JSON_VECTORS], ids=[v[0] for v in JSON_VECTORS]
)
def test_parsed_record_path_agrees_with_text(vector: str, pattern: str, event: str) -> None:
    """The pipeline tests orjson-parsed dicts; for JSON text as orjson writes it, the answer is the same."""
    document = _json_object(event)
    assert document is not None
    canonical = orjson.dumps(document).decode()
    compiled = compile_pattern(pattern)
    by_text = compiled.match(canonical) is not None
    assert (compiled.match_record(document, lambda: canonical) is not None) == by_text
    assert len(JSON_VECTORS) > 20
