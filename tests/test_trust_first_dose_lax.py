import pytest
from handouts.cli import main


# Values pydantic's lax date parsing would accept (exact midnights, numeric text):
# only the project's own date check refuses them.
@pytest.mark.parametrize("value", ["1796083200", '"1796083200"', "2026-12-01T00:00:00",
                                   "2026-12-01 00:00:00Z", '"2026-12-01T00:00:00"'])
def test_first_dose_refuses_what_pydantic_would_take(capsys, tmp_path, value):
    p = tmp_path / "p.toml"
    p.write_text(f"first_dose = {value}\n")
    code = main(["build", "handout", "--patient", str(p), "--out", str(tmp_path / "o")])
    out, err = capsys.readouterr()
    assert code == 2, err
    errors = [ln for ln in err.splitlines() if ln.startswith("handouts: error")]
    assert len(errors) == 1 and "first_dose" in errors[0], err
    assert not (tmp_path / "o").exists() or not [f for f in (tmp_path / "o").rglob("*") if f.is_file()]
