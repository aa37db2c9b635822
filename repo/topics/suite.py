"""The expectation suite of a topic's pooled rows, from its data dictionary rather than from the data.

The dictionary says what every trial's rows must be once harmonised: the
columns, the key, the codes of each coded variable and the range of each
bounded one, and the trials pooled. The suite states exactly that, so ``ipd
check TOPIC`` holds each pooled version to the dictionary.
"""

from __future__ import annotations

from typing import Any

from ..checks.suite import GX_VERSION, expectation
from .dictionary import POOLED_ID, TRIAL, TopicDictionary


def from_dictionary(topic: str, dictionary: TopicDictionary, trials: list[str], named: str) -> dict[str, Any]:
    """``named``: the trial versions pooled, as the suite's notes say them."""
    expectations = [
        expectation("expect_table_columns_to_match_set", column_set=dictionary.columns(), exact_match=True),
        expectation("expect_column_values_to_not_be_null", column=POOLED_ID),
        expectation("expect_column_values_to_be_unique", column=POOLED_ID),
        expectation("expect_column_values_to_be_in_set", column=TRIAL, value_set=sorted(trials)),
    ]
    for variable in dictionary.variables:
        if variable.role in ("participant", "arm", "outcome_status"):
            expectations.append(expectation("expect_column_values_to_not_be_null", column=variable.name))
        if variable.values is not None:
            expectations.append(expectation("expect_column_values_to_be_in_set", column=variable.name,
                                            value_set=list(variable.values)))
        if variable.min is not None or variable.max is not None:
            expectations.append(expectation("expect_column_values_to_be_between", column=variable.name,
                                            min_value=variable.min, max_value=variable.max))
    return {"name": topic, "expectations": expectations,
            "meta": {"great_expectations_version": GX_VERSION,
                     "ipd": {"generated_from": f"the topic dictionary of {topic}", "by": "ipd topic build",
                             "pooled_from": named}},
            "notes": None}
