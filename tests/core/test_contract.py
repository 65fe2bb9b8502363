"""Model contract: learned from real data, strict JSON, quiet on training data, loud on bad input"""

from __future__ import annotations

import io
import json
import math
import shutil
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pandas.api import types as ptypes
from sklearn.datasets import load_wine

from jupyter_mlops.errors import MlopsError
from jupyter_mlops.runtime import contract as contract_module
from jupyter_mlops.runtime.contract import (
    MAX_CATEGORIES,
    Contract,
    ContractError,
    ContractWarning,
)

CITIES = ["Bergen", "Oslo", "Tromsø"]
# pandas' own string dtype: the default "str" in pandas 3; in pandas 2 strings default to object
STR = "str" if int(pd.__version__.split(".")[0]) >= 3 else "string"


def training() -> pd.DataFrame:
    """The wine data plus a string, an object, a categorical, a boolean, a date and an integer."""
    X = load_wine(as_frame=True).data
    n = len(X)
    rng = np.random.default_rng(7)
    X["city"] = pd.Series(rng.choice(CITIES, n), dtype=STR)
    X["city_obj"] = pd.Series(rng.choice(CITIES, n), dtype=object)
    X["grade"] = pd.Categorical(rng.choice(list("abc"), n), categories=list("cba"), ordered=True)
    X["organic"] = rng.random(n) < 0.3
    X["harvested"] = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 900, n), "D")
    X["batch"] = rng.integers(1, 50, n)
    X["maybe"] = np.where(rng.random(n) < 0.1, np.nan, rng.normal(size=n))  # has nulls
    return X


@pytest.fixture(scope="module")
def X() -> pd.DataFrame:
    return training()


@pytest.fixture(scope="module")
def contract(X: pd.DataFrame) -> Contract:
    return Contract.learn(X)


def validate_recording(contract: Contract, df: pd.DataFrame, **kwargs) -> tuple[pd.DataFrame, list]:
    """``contract.validate(df)`` and every warning it issued (none filtered away)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = contract.validate(df, **kwargs)
    return out, caught


def contract_warnings(caught: list) -> list[str]:
    return [str(w.message) for w in caught if issubclass(w.category, ContractWarning)]


# learning -------------------------------------------------------------------------------------


def test_learn_records_every_column_in_order(X: pd.DataFrame, contract: Contract) -> None:
    assert contract.column_names == list(X.columns)
    assert contract.rows == len(X) == 178
    spec = {c.name: c for c in contract.columns}
    families = {name: c.family for name, c in spec.items()}
    assert families["alcohol"] == "number"
    assert families["city"] == families["city_obj"] == "string"
    assert families["grade"] == "category"
    assert families["organic"] == "boolean"
    assert families["harvested"] == "datetime"
    assert families["batch"] == "integer"
    assert {name: c.dtype for name, c in spec.items()} == {c: str(X[c].dtype) for c in X}

    for column in ("alcohol", "proline", "maybe"):
        assert spec[column].min == X[column].min() and spec[column].max == X[column].max()
        assert 0 < spec[column].tolerance < 1e-5 * abs(X[column]).max()
    assert (spec["alcohol"].min, spec["alcohol"].max) == (11.03, 14.83)
    assert (spec["batch"].min, spec["batch"].max) == (int(X.batch.min()), int(X.batch.max()))
    assert isinstance(spec["batch"].min, int) and spec["batch"].tolerance is None
    assert spec["harvested"].min == X.harvested.min().isoformat()
    assert spec["city"].categories == spec["city_obj"].categories == CITIES
    assert spec["grade"].categories == ["c", "b", "a"] and spec["grade"].ordered is True
    assert spec["alcohol"].null_rate == 0.0
    assert spec["maybe"].null_rate > 0
    assert spec["maybe"].null_rate == pytest.approx(X.maybe.isna().mean(), rel=1e-3)


def test_min_and_max_ignore_infinities_and_all_null_columns_have_none() -> None:
    df = pd.DataFrame({"x": [1.0, np.inf, -np.inf, 3.0, np.nan], "empty": [np.nan] * 5})
    spec = {c.name: c for c in Contract.learn(df).columns}
    assert (spec["x"].min, spec["x"].max) == (1.0, 3.0)
    assert spec["x"].null_rate == 0.2
    assert (spec["empty"].min, spec["empty"].max, spec["empty"].null_rate) == (None, None, 1.0)


def test_a_column_with_too_many_levels_is_free_text_and_not_checked() -> None:
    assert MAX_CATEGORIES == 1_000
    many = pd.DataFrame({"note": [f"note {i}" for i in range(1_001)]})
    few = pd.DataFrame({"note": [f"note {i}" for i in range(1_000)]})
    free = Contract.learn(many)
    assert free.columns[0].free_text and free.columns[0].categories is None
    assert free.to_dict()["columns"][0]["levels"] == 1_001
    _, caught = validate_recording(free, pd.DataFrame({"note": ["never seen"]}))
    assert caught == []
    assert len(Contract.learn(few).columns[0].categories) == 1_000
    _, caught = validate_recording(Contract.learn(few), pd.DataFrame({"note": ["never seen"]}))
    assert contract_warnings(caught) == ["note: 1 row with unseen categories ('never seen')"]


def test_learn_refuses_frames_it_cannot_describe(X: pd.DataFrame) -> None:
    with pytest.raises(ContractError, match="empty frame"):
        Contract.learn(X.head(0))
    with pytest.raises(ContractError, match="DataFrame"):
        Contract.learn(X.to_numpy())
    with pytest.raises(ContractError, match="duplicate column names: alcohol"):
        Contract.learn(pd.concat([X[["alcohol"]], X[["alcohol"]]], axis=1))
    with pytest.raises(ContractError, match="segment column 'store'"):
        Contract.learn(X, segment_column="store")


# JSON -----------------------------------------------------------------------------------------


def test_json_round_trip_is_equal(contract: Contract, tmp_path: Path) -> None:
    text = contract.to_json()
    assert Contract.from_json(text) == contract
    assert Contract.from_dict(json.loads(text)) == contract
    path = contract.save(tmp_path / "contract.json")
    assert Contract.load(path) == contract
    assert path.read_text(encoding="utf-8") == text + "\n"
    assert contract.to_json() == text  # stable


def test_json_is_strict_and_readable(X: pd.DataFrame) -> None:
    df = X.assign(empty=np.nan, spikes=X.alcohol.where(X.index % 5 > 0, np.inf))
    text = Contract.learn(df).to_json()

    def refuse(name: str) -> None:
        raise AssertionError(f"{name} in contract.json")

    data = json.loads(text, parse_constant=refuse)  # NaN, Infinity, -Infinity are refused
    assert "NaN" not in text and "Infinity" not in text
    assert list(data)[:2] == ["version", "rows"] and data["version"] == 1
    columns = {c["name"]: c for c in data["columns"]}
    assert columns["empty"]["min"] is None and columns["spikes"]["max"] == 14.83
    assert list(columns["alcohol"])[:4] == ["name", "family", "dtype", "null_rate"]
    assert '"categories": ["Bergen", "Oslo", "Tromsø"]' in text  # one line, unescaped
    assert max(len(line) for line in text.splitlines()) < 100


def test_contracts_that_are_not_ours_are_refused(contract: Contract) -> None:
    data = contract.to_dict()
    with pytest.raises(ContractError, match="version 2 is not supported"):
        Contract.from_dict({**data, "version": 2})
    with pytest.raises(ContractError, match="not valid JSON"):
        Contract.from_json("{")
    with pytest.raises(ContractError, match="has no 'dtype'"):
        Contract.from_dict({**data, "columns": [{"name": "a", "family": "number"}]})


# validating: schema -----------------------------------------------------------------------------


def test_training_data_validates_silently_and_unchanged(
    X: pd.DataFrame, contract: Contract
) -> None:
    out, caught = validate_recording(contract, X)
    assert caught == []
    pd.testing.assert_frame_equal(out, X)
    assert contract.violations(X) == []
    X2 = training()
    _, caught = validate_recording(Contract.from_json(contract.to_json()), X2)
    assert caught == []


def test_a_missing_column_raises_naming_it(X: pd.DataFrame, contract: Contract) -> None:
    with pytest.raises(ContractError) as info:
        contract.validate(X.drop(columns=["alcohol", "city"]))
    message = str(info.value)
    assert message == "missing columns the model was trained on: alcohol, city"
    assert isinstance(info.value, MlopsError) and "\n" not in message


@pytest.mark.parametrize("as_text", [STR, "object"])
def test_strings_where_numbers_were_learned_raise(X: pd.DataFrame, contract: Contract, as_text):
    numeric_strings = X.alcohol.map(str).astype(as_text)  # "14.23": numbers, but as text
    with pytest.raises(ContractError, match=r"^alcohol: expected numbers \(float64\), got strings"):
        contract.validate(X.assign(alcohol=numeric_strings))
    with pytest.raises(ContractError, match=r"^batch: expected whole numbers"):
        contract.validate(X.assign(batch=X.batch.map(str).astype(as_text)))


def test_several_type_problems_are_one_line(X: pd.DataFrame, contract: Contract) -> None:
    bad = X.drop(columns=["hue"]).assign(
        harvested=X.harvested.dt.strftime("%d/%m/%Y"), organic=X.batch, city=X.batch
    )
    with pytest.raises(ContractError) as info:
        contract.validate(bad)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("missing column the model was trained on: hue; ")
    assert f"city: expected strings ({X.city.dtype}), got integers (int64)" in message
    assert "organic: expected booleans (bool), got " in message and "other than 0 and 1" in message
    assert f"harvested: expected datetimes ({X.harvested.dtype}), got strings" in message
    assert "only ISO 8601 text is read as datetimes" in message and "pandas.to_datetime" in message


def test_integer_columns_take_whole_floats_but_not_fractions(X, contract) -> None:
    out, caught = validate_recording(contract, X.assign(batch=X.batch.astype(float)))
    assert caught == []
    assert out.batch.dtype == np.int64 and out.batch.equals(X.batch)
    fractions = X.batch.astype(float)
    fractions.iloc[[3, 8]] = [2.5, np.inf]
    with pytest.raises(ContractError) as info:
        contract.validate(X.assign(batch=fractions))
    assert str(info.value) == (
        "batch: expected whole numbers (int64), got 2 rows with fractions or infinities (float64)"
    )


def test_lossless_casts_give_the_model_the_training_dtypes(X, contract) -> None:
    given = X.assign(
        magnesium=X.magnesium.astype("int32"),  # whole numbers in a float column
        batch=X.batch.astype("int16"),
        organic=X.organic.astype(int),  # 0/1 for a boolean column
        grade=X.grade.astype(str),
        city=X.city.astype("category"),
        harvested=X.harvested.astype("datetime64[s]"),
    )
    out, caught = validate_recording(contract, given)
    assert caught == []
    pd.testing.assert_frame_equal(out, X)
    assert out.grade.cat.codes.tolist() == X.grade.cat.codes.tolist()


def test_a_lossy_cast_is_not_made(X: pd.DataFrame) -> None:
    contract = Contract.learn(X.assign(small=X.magnesium.astype("float32")))
    given = X.assign(small=X.magnesium.clip(upper=161) + 1e-3)  # beyond float32's precision
    out, caught = validate_recording(contract, given)
    assert caught == [] and out.small.dtype == np.float64 and out.small.equals(given.small)


def test_column_order_is_restored_and_extra_columns_dropped(X, contract) -> None:
    given = X.assign(customer_id=range(len(X)), note="x")[["note", *X.columns[::-1], "customer_id"]]
    out, caught = validate_recording(contract, given)
    pd.testing.assert_frame_equal(out, X)
    assert [str(w.message) for w in caught] == [
        "dropped 2 columns the model was not trained on: note, customer_id"
    ]
    assert caught[0].category is UserWarning  # not a ContractWarning: nothing is out of range
    assert not contract_warnings(caught)
    extra = [v for v in contract.violations(given) if v["check"] == "extra_column"]
    assert [v["column"] for v in extra] == ["note", "customer_id"]


def test_the_input_frame_is_not_modified_and_its_index_is_kept(X, contract) -> None:
    given = X.assign(batch=X.batch.astype(float))[X.columns[::-1]]
    given.index = [0] * len(given)  # duplicate labels, as after a concat
    before = given.copy()
    out, _ = validate_recording(contract, given)
    pd.testing.assert_frame_equal(given, before)
    assert out.index.equals(given.index) and out.batch.dtype == np.int64


def test_pandas_str_and_object_strings_are_alike(X: pd.DataFrame, contract: Contract) -> None:
    swapped = X.assign(city=X.city.astype(object), city_obj=X.city_obj.astype(STR))
    assert swapped.city.dtype == object and swapped.city_obj.dtype != object
    out, caught = validate_recording(contract, swapped)
    assert caught == []
    assert out.city.dtype == X.city.dtype and out.city_obj.dtype == object
    pd.testing.assert_frame_equal(out, X)

    as_str = Contract.learn(X[["city"]])
    as_object = Contract.learn(X[["city"]].astype(object))
    assert as_str.columns[0].family == as_object.columns[0].family == "string"
    assert as_str.columns[0].categories == as_object.columns[0].categories == CITIES
    for learned in (as_str, as_object):
        for dtype in (STR, object):
            new = pd.DataFrame({"city": pd.Series(["Oslo", "Paris", None], dtype=dtype)})
            _, caught = validate_recording(learned, new)
            assert contract_warnings(caught) == [
                "city: 1 row missing (none in training), 1 row with unseen categories ('Paris')"
            ]


def test_a_frame_is_required(contract: Contract, X: pd.DataFrame) -> None:
    with pytest.raises(ContractError, match="must be a pandas DataFrame, got ndarray"):
        contract.validate(X.to_numpy())
    with pytest.raises(ValueError, match="on_violation"):
        contract.validate(X, on_violation="ignore")


# validating: values -----------------------------------------------------------------------------


def shifted(X: pd.DataFrame) -> pd.DataFrame:
    """Three rows above the alcohol max, one below the proline min, two unseen cities."""
    df = X.copy()
    df.loc[df.index[:3], "alcohol"] = [15.5, 16.0, 20.0]
    df.loc[df.index[3], "proline"] = 100.0
    df.loc[df.index[4:6], "city"] = ["Paris", "Paris"]
    return df


def test_out_of_range_and_unseen_values_give_one_warning(X: pd.DataFrame, contract) -> None:
    df = shifted(X)
    out, caught = validate_recording(contract, df)
    assert len(caught) == 1 and caught[0].category is ContractWarning
    assert issubclass(ContractWarning, UserWarning)
    assert str(caught[0].message) == (
        "alcohol: 3 rows above the training max 14.83; "
        "proline: 1 row below the training min 278; "
        "city: 2 rows with unseen categories ('Paris')"
    )
    pd.testing.assert_frame_equal(out, df)  # warned, not changed


def test_on_violation_raise_raises_instead(X: pd.DataFrame, contract: Contract) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ContractError) as info:
            contract.validate(shifted(X), on_violation="raise")
    assert caught == []
    assert "alcohol: 3 rows above" in str(info.value) and "city: 2 rows" in str(info.value)
    out = contract.validate(X, on_violation="raise")  # clean input passes
    assert out.shape == X.shape


def test_values_within_the_tolerance_are_in_range(X: pd.DataFrame, contract: Contract) -> None:
    df = X.copy()
    df["alcohol"] = df.alcohol.astype("float32").astype("float64")  # rounded through float32
    df.loc[df.index[0], "proline"] = 1680.0 * (1 + 1e-7)
    _, caught = validate_recording(contract, df)
    assert caught == []
    df.loc[df.index[0], "proline"] = 1680.1
    _, caught = validate_recording(contract, df)
    assert contract_warnings(caught) == ["proline: 1 row above the training max 1680"]


def test_nan_in_a_column_that_had_none_warns(X: pd.DataFrame, contract: Contract) -> None:
    df = X.copy()
    df.loc[df.index[:4], "hue"] = np.nan
    df.loc[df.index[:9], "maybe"] = np.nan  # had nulls in training: fine
    df.loc[df.index[0], "city_obj"] = None
    _, caught = validate_recording(contract, df)
    assert contract_warnings(caught) == [
        "hue: 4 rows missing (none in training); city_obj: 1 row missing (none in training)"
    ]
    with pytest.raises(ContractError, match="hue: 4 rows missing"):
        contract.validate(df, on_violation="raise")


def test_integer_columns_with_nulls_stay_floats(X: pd.DataFrame, contract: Contract) -> None:
    batch = X.batch.astype(float)
    batch.iloc[0] = np.nan
    out, caught = validate_recording(contract, X.assign(batch=batch))
    assert contract_warnings(caught) == ["batch: 1 row missing (none in training)"]
    assert out.batch.dtype == np.float64  # int64 cannot hold the NaN: nothing lost


def test_columns_of_nulls_are_typed_for_the_model(X: pd.DataFrame, contract: Contract) -> None:
    given = X.assign(alcohol=None, batch=None, harvested=None, city=None)  # JSON nulls
    out, caught = validate_recording(contract, given)
    assert contract_warnings(caught) == [
        "alcohol: 178 rows missing (none in training); city: 178 rows missing (none in "
        "training); harvested: 178 rows missing (none in training); batch: 178 rows missing "
        "(none in training)"
    ]
    assert out.alcohol.dtype == out.batch.dtype == np.float64
    assert out.harvested.dtype == X.harvested.dtype and out.city.dtype == X.city.dtype
    assert out[["alcohol", "batch", "harvested", "city"]].isna().all().all()


def test_other_dtypes_are_kept_and_type_checked() -> None:
    df = pd.DataFrame({"wait": pd.to_timedelta([1, 2, 3], unit="D"), "x": [1.0, 2.0, 3.0]})
    contract = Contract.learn(df)
    assert contract.columns[0].family == "other"
    out, caught = validate_recording(contract, df)
    assert caught == [] and out.wait.equals(df.wait)
    with pytest.raises(ContractError, match=r"^wait: expected timedelta64\[\w+\], got strings"):
        contract.validate(df.assign(wait=["1 day", "2 days", "3 days"]))


def test_datetimes_out_of_range_and_time_zones(X: pd.DataFrame, contract: Contract) -> None:
    df = X.copy()
    df.loc[df.index[:2], "harvested"] = pd.Timestamp("2030-06-01")
    _, caught = validate_recording(contract, df)
    latest = X.harvested.max()
    assert contract_warnings(caught) == [f"harvested: 2 rows after the training max {latest}"]
    with pytest.raises(ContractError, match="harvested: expected timezone-naive datetimes"):
        contract.validate(X.assign(harvested=X.harvested.dt.tz_localize("UTC")))

    aware = pd.DataFrame({"when": pd.date_range("2024-01-01", periods=48, freq="h", tz="UTC")})
    learned = Contract.learn(aware)
    oslo = aware.assign(when=aware.when.dt.tz_convert("Europe/Oslo"))
    out, caught = validate_recording(learned, oslo)
    assert caught == [] and out.when.dtype == aware.when.dtype and out.when.equals(aware.when)
    with pytest.raises(ContractError, match="expected timezone-aware"):
        learned.validate(aware.assign(when=aware.when.dt.tz_localize(None)))


def test_iso_text_in_a_datetime_column_is_read_as_datetimes(X, contract) -> None:
    as_json = X.harvested.dt.strftime("%Y-%m-%dT%H:%M:%S.000")  # pandas' to_json(date_format="iso")
    as_csv = X.harvested.astype(str).astype(object)  # to_csv: "2020-01-01"
    for text in (as_json, as_csv):
        out, caught = validate_recording(contract, X.assign(harvested=text))
        assert caught == [] and out.harvested.dtype == X.harvested.dtype
        assert out.harvested.equals(X.harvested)
    late = as_json.copy()
    late.iloc[:2] = ["2031-01-01T00:00:00", None]
    out, caught = validate_recording(contract, X.assign(harvested=late))
    assert contract_warnings(caught) == [
        "harvested: 1 row missing (none in training), 1 row after the training max "
        f"{X.harvested.max()}"
    ]
    assert out.harvested.iloc[0] == pd.Timestamp("2031-01-01") and pd.isna(out.harvested.iloc[1])
    with pytest.raises(ContractError, match="harvested: expected timezone-naive datetimes"):
        contract.validate(X.assign(harvested=as_json + "Z"))  # UTC is not the naive training time


def test_what_json_and_csv_carry_is_cast_back_to_categoricals_nullable_ints_and_datetimes(
    X: pd.DataFrame,
) -> None:
    """A served model gets text for categories and datetimes and floats (or, through MLflow's
    ``Any``, objects) for a nullable integer: the model must get the training dtypes back."""
    rooms = pd.array(np.where(np.arange(len(X)) % 7 == 0, None, X.batch % 6 + 1), dtype="Int64")
    trained = X.assign(rooms=rooms)
    contract = Contract.learn(trained)
    spec = {c.name: c for c in contract.columns}["rooms"]
    assert (spec.family, spec.dtype, spec.min, spec.max) == ("integer", "Int64", 1, 6)
    assert spec.null_rate == float(f"{26 / 178:.4g}")
    sent = pd.read_csv(io.StringIO(trained.to_csv(index=False)))
    assert sent.rooms.dtype == np.float64 and sent.grade.dtype != trained.grade.dtype
    assert not ptypes.is_datetime64_any_dtype(sent.harvested)
    out, caught = validate_recording(contract, sent)
    assert caught == []
    pd.testing.assert_frame_equal(out, trained)
    assert out.grade.cat.categories.tolist() == ["c", "b", "a"] and out.grade.cat.ordered
    through_any = trained.assign(rooms=pd.Series(list(rooms), dtype=object))  # 1, <NA>, ...
    out, caught = validate_recording(contract, through_any)
    assert caught == [] and out.rooms.dtype == "Int64" and out.rooms.equals(trained.rooms)
    with pytest.raises(ContractError, match=r"^rooms: expected whole numbers \(Int64\), got 1 row"):
        contract.validate(trained.assign(rooms=sent.rooms.where(sent.index != 1, 2.5)))


def test_categoricals_keep_their_codes_with_unseen_levels_last(X, contract) -> None:
    grade = X.grade.astype(str)
    grade.iloc[0] = "z"
    out, caught = validate_recording(contract, X.assign(grade=grade))
    assert contract_warnings(caught) == ["grade: 1 row with unseen categories ('z')"]
    assert out.grade.cat.categories.tolist() == ["c", "b", "a", "z"]
    assert out.grade.cat.codes.iloc[1:].tolist() == X.grade.cat.codes.iloc[1:].tolist()
    assert out.grade.iloc[0] == "z"  # kept, not turned into a missing value


def test_unseen_examples_are_the_most_frequent_few(X: pd.DataFrame, contract: Contract) -> None:
    city = X.city.copy()
    city.iloc[:10] = ["Rome"] * 4 + ["Lima"] * 3 + ["Kyiv"] * 2 + ["Nuuk"]
    found = [v for v in contract.violations(X.assign(city=city)) if v["column"] == "city"]
    assert found == [
        {
            "column": "city",
            "check": "unseen_categories",
            "severity": "warning",
            "rows": 10,
            "message": "city: 10 rows with unseen categories ('Rome', 'Lima', 'Kyiv', ...)",
            "examples": ["Rome", "Lima", "Kyiv"],
            "unseen": 4,
        }
    ]


def test_violations_are_structured_and_loggable(X: pd.DataFrame, contract: Contract) -> None:
    df = shifted(X).drop(columns=["hue"]).assign(batch=X.batch.map(str), extra=1)
    found = contract.violations(df)  # raises nothing, even with errors
    json.dumps(found, allow_nan=False)
    by_check = {(v["column"], v["check"]): v for v in found}
    assert by_check["hue", "missing_column"]["severity"] == "error"
    assert by_check["batch", "type"]["severity"] == "error"
    assert by_check["batch", "type"]["expected"] == "int64"
    assert by_check["alcohol", "above_max"] | {} == {
        "column": "alcohol",
        "check": "above_max",
        "severity": "warning",
        "rows": 3,
        "message": "alcohol: 3 rows above the training max 14.83",
        "limit": 14.83,
    }
    assert by_check["proline", "below_min"]["limit"] == 278.0
    assert by_check["extra", "extra_column"]["severity"] == "info"
    assert by_check["city", "unseen_categories"]["rows"] == 2


def test_the_segment_column_keeps_every_segment(X: pd.DataFrame) -> None:
    df = X.assign(store=np.arange(len(X)) % 1_200 + 1)  # more levels than the free-text cap
    df = pd.concat([df] * 7, ignore_index=True)
    contract = Contract.learn(df, segment_column="store")
    store = contract.columns[-1]
    assert contract.segment_column == "store" and store.family == "integer"
    assert store.categories == list(range(1, len(X) + 1)) and store.min is None
    assert Contract.from_json(contract.to_json()) == contract
    new = df.head(5).assign(store=[1, 2, 9_999, 9_999, 3])
    _, caught = validate_recording(contract, new)
    assert contract_warnings(caught) == ["store: 2 rows with unseen segments (9999)"]


# plain file, speed ------------------------------------------------------------------------------


def test_a_shipped_copy_warns_with_the_installed_class(tmp_path: Path) -> None:
    """Where jupyter-mlops is installed, a model's plain copy of the contract warns with the
    package's ``ContractWarning`` (a class any process can import by name: pytest-xdist's
    controller re-creates a worker's warnings from it)."""
    copy = tmp_path / "mlops_contract_shipped.py"
    shutil.copy(contract_module.__file__, copy)
    shutil.copy(
        Path(contract_module.__file__).with_name("contract_columns.py"),
        tmp_path / "mlops_contract_shipped_columns.py",
    )
    script = f"""
import importlib.util, warnings
import pandas as pd
from jupyter_mlops.runtime.errors import ContractWarning, MlopsError

spec = importlib.util.spec_from_file_location("mlops_contract_shipped", {str(copy)!r})
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
assert module.ContractWarning is ContractWarning and module.MlopsError is MlopsError
contract = module.Contract.learn(pd.DataFrame({{"x": [1.0, 2.0]}}))
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    contract.validate(pd.DataFrame({{"x": [9.0]}}))
print(caught[0].category.__module__, caught[0].category.__name__)
"""
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["jupyter_mlops.runtime.errors", "ContractWarning"]


def test_the_module_runs_as_a_plain_file_with_only_pandas_and_numpy(tmp_path: Path) -> None:
    copy = tmp_path / "contract.py"
    shutil.copy(contract_module.__file__, copy)
    # what a packaged model ships: the contract and, beside it, <its name>_columns.py
    shutil.copy(Path(contract_module.__file__).with_name("contract_columns.py"), tmp_path)
    script = f"""
import importlib.util, runpy, sys, warnings
sys.modules["jupyter_mlops"] = None  # as if jupyter-mlops were not installed
import pandas as pd

spec = importlib.util.spec_from_file_location("shipped_contract", {str(copy)!r})
module = importlib.util.module_from_spec(spec)  # not registered in sys.modules
spec.loader.exec_module(module)
assert module.MlopsError.__module__ == "shipped_contract", module.MlopsError.__module__
train = pd.DataFrame({{"x": [1.0, 2.0], "c": ["a", "b"]}})
contract = module.Contract.from_json(module.Contract.learn(train).to_json())
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    contract.validate(pd.DataFrame({{"c": ["z", "a"], "x": [1.0, 9.0]}}))
print(caught[0].category.__name__, caught[0].message)
try:
    contract.validate(pd.DataFrame({{"x": [1.0]}}))
except module.MlopsError as exc:
    print(type(exc).__name__, exc)
namespace = runpy.run_path({str(copy)!r})
assert namespace["Contract"].learn(train).column_names == ["x", "c"]
heavy = {{"jupyter_mlops", "mlflow", "IPython", "sklearn", "scipy"}}
print(sorted(m for m in heavy if sys.modules.get(m) is not None))
"""
    result = subprocess.run(
        [sys.executable, "-I", "-c", script], cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "ContractWarning x: 1 row above the training max 2; c: 1 row with unseen categories ('z')",
        "ContractError missing column the model was trained on: c",
        "[]",
    ]


def test_a_million_rows_by_twenty_columns_validate_well_under_a_second() -> None:
    rng = np.random.default_rng(0)
    n = 1_000_000
    columns = {f"x{i}": rng.normal(size=n) for i in range(14)}
    columns |= {f"n{i}": rng.integers(0, 100, n) for i in range(3)}
    columns["plan"] = pd.Series(rng.choice(["basic", "plus", "pro"], n), dtype=STR)
    columns["region"] = pd.Categorical(rng.choice(["north", "south", "east", "west"], n))
    columns["active"] = rng.random(n) < 0.5
    X = pd.DataFrame(columns)
    contract = Contract.learn(X.head(100_000))
    elapsed = math.inf
    for _ in range(2):  # the best of two: a slow first touch of memory is not the module
        started = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = contract.validate(X)
        elapsed = min(elapsed, time.perf_counter() - started)
    assert out.shape == X.shape
    assert len(contract_warnings(caught)) == 1  # the full data goes beyond the sample's range
    assert elapsed < 0.6, f"{elapsed:.2f} s"
