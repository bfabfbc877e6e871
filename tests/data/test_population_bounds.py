"""The rural population bound has one source: ``wastenet.data.generator.MAX_RURAL_POPULATION``.

The scenario schema (``data.rural_population``) and the generator
(:class:`~wastenet.data.generator.GeneratorParams`) both take it from there, so that a
population the schema accepts is never refused by the generator, and the other way round.
"""

from __future__ import annotations

import pytest
from pydantic import ValidationError as PydanticValidationError

from wastenet.data.generator import MAX_RURAL_POPULATION, GeneratorParams
from wastenet.errors import ValidationError
from wastenet.scenario.schema import DataSpec


def test_schema_and_generator_accept_the_same_largest_population() -> None:
    """Exactly MAX_RURAL_POPULATION is accepted by the schema and by the generator's
    parameters; one more is refused by both."""
    assert DataSpec(rural_population=MAX_RURAL_POPULATION).rural_population \
        == MAX_RURAL_POPULATION
    assert GeneratorParams(rural_population=MAX_RURAL_POPULATION).rural_population \
        == MAX_RURAL_POPULATION
    with pytest.raises(PydanticValidationError, match=f"{MAX_RURAL_POPULATION}"):
        DataSpec(rural_population=MAX_RURAL_POPULATION + 1)
    with pytest.raises(ValidationError, match=f"{MAX_RURAL_POPULATION:,}"):
        GeneratorParams(rural_population=MAX_RURAL_POPULATION + 1)


def test_schema_description_states_the_generator_bound() -> None:
    """The field description of data.rural_population states the generator's bound (in
    millions), so the documented limit cannot drift from the enforced one."""
    description = DataSpec.model_fields["rural_population"].description or ""
    assert f"at most {MAX_RURAL_POPULATION / 1e6:g} million" in description
    assert "at most 100 million" in description  # the text is unchanged
