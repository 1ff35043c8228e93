import pytest
from handouts import patient as patient_mod
from handouts.errors import HandoutsError

# Letters only (category Lo, no vowel signs or virama): only the script check refuses these.
UNSHAPED_SCRIPTS = {"Devanagari": "रमन", "Bengali": "রমন", "Tamil": "ரமன", "Arabic": "علي", "Thai": "สม"}


@pytest.mark.parametrize("kind", sorted(UNSHAPED_SCRIPTS))
def test_scripts_the_card_cannot_shape_are_refused_even_without_combining_marks(kind):
    with pytest.raises(HandoutsError) as exc:
        patient_mod.from_mapping({"name": f"Ann {UNSHAPED_SCRIPTS[kind]}"}, "p.toml")
    assert (exc.value.where, exc.value.field) == ("p.toml", "name")
    assert "shaping" in str(exc.value)
