"""The de-identification rules: pseudonyms, date shifts, ages, k-anonymity (DOMAIN §9)."""

from collections import Counter
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from diary.models import Child
from outcomes import deidentify as d

KEY = "k" * 40
keys = st.text(min_size=1, max_size=64)
studies = st.from_regex(r"[a-z0-9-]{1,40}", fullmatch=True)
child_ids = st.integers(min_value=1, max_value=10**9)
days = st.dates(min_value=date(1930, 1, 1), max_value=date(2100, 12, 31))


@given(keys, studies, child_ids)
def test_pseudonym_is_stable(key, study, child):
    assert d.pseudonym(key, study, child) == d.pseudonym(key, study, child)
    assert len(d.pseudonym(key, study, child)) == d.PSEUDONYM_LENGTH


@given(keys, studies, studies, child_ids)
def test_pseudonym_differs_between_studies(key, study_a, study_b, child):
    if study_a != study_b:
        assert d.pseudonym(key, study_a, child) != d.pseudonym(key, study_b, child)


@given(keys, keys, studies, child_ids)
def test_pseudonym_needs_the_key(key_a, key_b, study, child):
    if key_a != key_b:
        assert d.pseudonym(key_a, study, child) != d.pseudonym(key_b, study, child)


@given(studies, st.lists(child_ids, min_size=2, max_size=50, unique=True))
def test_children_of_a_study_get_distinct_pseudonyms(study, children):
    assert len({d.pseudonym(KEY, study, c) for c in children}) == len(children)


def test_pseudonym_refuses_an_empty_key():
    with pytest.raises(ValueError):
        d.pseudonym("", "s", 1)


@given(keys, studies, child_ids, days, days)
def test_date_shift_is_per_child_within_a_year_and_keeps_intervals(key, study, child, a, b):
    name = d.pseudonym(key, study, child)
    shift = d.date_shift(key, name)
    assert shift == d.date_shift(key, name)  # the same for all of a child's dates
    assert 0 <= shift <= 364
    assert d.shifted(b, shift) - d.shifted(a, shift) == b - a
    assert (a - d.shifted(a, shift)).days == shift


@given(days, days, days)
def test_relative_days_keep_intervals(day0, a, b):
    assert d.relative_day(b, day0) - d.relative_day(a, day0) == (b - a).days
    assert d.relative_day(day0, day0) == 0


def test_date_shift_needs_the_key():
    # Without the key, knowing the pseudonym is not enough: two keys, different shifts.
    shifts = {d.date_shift(f"key-{n}" * 8, "0123456789abcdef") for n in range(20)}
    assert len(shifts) > 10


def test_date_shifts_spread_over_the_year():
    shifts = [d.date_shift(KEY, d.pseudonym(KEY, "s", n)) for n in range(2000)]
    assert min(shifts) >= 0 and max(shifts) <= 364
    assert len(set(shifts)) > 300


@pytest.mark.parametrize(
    "born,on,years",
    [
        (date(2019, 3, 14), date(2024, 3, 13), 4),
        (date(2019, 3, 14), date(2024, 3, 14), 5),
        (date(2020, 2, 29), date(2021, 2, 28), 0),
        (date(2020, 2, 29), date(2021, 3, 1), 1),
    ],
)
def test_age_in_whole_years(born, on, years):
    assert Child(date_of_birth=born).age_in_years(on) == years


@pytest.mark.parametrize(
    "years,label,band",
    [
        (0, "0", "0-4"),
        (4, "4", "0-4"),
        (5, "5", "5-9"),
        (89, "89", "85-89"),
        (90, "90+", "90+"),
        (104, "90+", "90+"),
    ],
)
def test_age_label_and_band(years, label, band):
    assert d.age_label(years) == label
    assert d.age_band(years) == band


def test_regions():
    assert d.region("GB") == d.region("fr") == "Europe"
    assert d.region("US") == "Americas" and d.region("JP") == "Asia"
    assert d.region("ZZ") == "Other"
    assert len(d.REGION) > 240


def qi(genotype="AGS2", country="GB", band="5-9", sex="F"):  # the AGS diary, treated
    return d.QuasiIdentifiers(band, sex, genotype, country)


def test_k_anonymity_suppresses_genotype_then_country_then_generalises_then_holds_back():
    children = {}
    children.update({f"a{n}": qi("AGS2") for n in range(5)})  # a class of 5 as is
    children.update({f"b{n}": qi("AGS3") for n in range(3)})
    children.update({f"c{n}": qi("AGS7") for n in range(2)})  # with b: 5 AGS in GB
    children.update({f"d{n}": qi("CANDLE", "GB") for n in range(3)})
    children.update({f"e{n}": qi("CANDLE", "FR") for n in range(2)})  # with d: 5 in Europe
    children["f"] = qi("SAVI", "US")  # alone whatever is generalised
    result = d.k_anonymise(children, k=5)
    levels = {key: r.level for key, r in result.released.items()}
    assert {levels[f"a{n}"] for n in range(5)} == {d.NOT_GENERALISED}
    assert {levels[k] for k in ("b0", "b1", "b2", "c0", "c1")} == {d.GENOTYPE}
    # The country alone is suppressed: CANDLE, in Europe, is kept.
    assert {levels[k] for k in ("d0", "d1", "d2", "e0", "e1")} == {d.COUNTRY}
    assert result.suppressed == {"f"}
    assert result.generalised == {
        d.GENOTYPE: 5,
        d.COUNTRY: 5,
        d.GENOTYPE_AND_COUNTRY: 0,
        d.AGE_DECADE: 0,
        d.AGE: 0,
        d.SEX: 0,
    }
    released = result.released["b0"]
    assert (released.genotype, released.disease_group, released.country) == ("", "AGS", "GB")
    released = result.released["e0"]
    assert (released.genotype, released.country, released.region) == ("CANDLE", "", "Europe")


def test_k_anonymity_widens_then_blanks_the_age_band_and_sex_before_holding_back():
    children = {f"a{n}": qi("AGS2", band="5-9") for n in range(3)}
    children.update({f"b{n}": qi("AGS3", "FR", band="0-4") for n in range(2)})  # 0-9 with a
    children.update({f"c{n}": qi("AGS1", "GB", band="10-14", sex="M") for n in range(4)})
    children.update({f"e{n}": qi("AGS1", "GB", band="30-34", sex="F") for n in range(1)})
    result = d.k_anonymise(children, k=5)
    levels = {key: r.level for key, r in result.released.items()}
    assert {levels[k] for k in ("a0", "b0", "b1")} == {d.AGE_DECADE}
    assert result.released["a0"].age_band == "0-9"
    assert {levels[k] for k in ("c0", "e0")} == {d.SEX}
    assert (result.released["e0"].age_band, result.released["e0"].sex) == ("", "")
    assert not result.suppressed


quasi = st.builds(
    d.QuasiIdentifiers,
    st.sampled_from(["0-4", "5-9", "10-14"]),
    st.sampled_from("FMX"),
    st.sampled_from(["AGS1", "AGS2", "AGS7", "CANDLE", "SAVI", "OTHER"]),
    st.sampled_from(["GB", "FR", "DE", "US", "JP"]),
)


@given(st.dictionaries(st.integers(), quasi, max_size=80), st.integers(1, 8))
def test_k_anonymity_holds_for_any_cohort(children, k):
    result = d.k_anonymise(children, k)
    assert set(result.released) | result.suppressed == set(children)
    assert not set(result.released) & result.suppressed
    classes = Counter(r.equivalence_class for r in result.released.values())
    assert all(n >= k for n in classes.values())
    # Nobody is held back whose exact class was already big enough.
    exact = Counter(children.values())
    assert all(exact[children[key]] < k for key in result.suppressed)
    # A released value is the child's own, or blank, or the wider age band.
    for key, released in result.released.items():
        qi = children[key]
        assert released.genotype in ("", qi.genotype) and released.country in ("", qi.country)
        assert released.age_band in ("", qi.age_band, d.decade(qi.age_band))
        assert released.sex in ("", qi.sex) and released.disease_group == d.disease_group(
            qi.genotype
        )


def test_k_of_one_releases_everyone_as_is():
    result = d.k_anonymise({1: qi(), 2: qi("SAVI", "US")}, k=1)
    assert not result.suppressed
    assert {r.level for r in result.released.values()} == {d.NOT_GENERALISED}


def test_small_cells_are_suppressed():
    assert [d.suppress_small(n) for n in (0, 1, 4, 5, 12)] == [0, d.SUPPRESSED, d.SUPPRESSED, 5, 12]


def test_one_small_cell_beside_a_known_total_takes_another_with_it():
    # Attack 4: north 9, south <5 and 12 exported gave south = 3.
    published = d.publish_counts({"north": 9, "south": 3}, total_known=True)
    assert published == {"north": d.SUPPRESSED, "south": d.SUPPRESSED}
    # Two small cells holding 3 between them would pin both down: a large one goes too.
    published = d.publish_counts({"a": 2, "b": 1, "c": 30, "d": 20}, total_known=True)
    assert published == {"a": d.SUPPRESSED, "b": d.SUPPRESSED, "c": 30, "d": d.SUPPRESSED}
    # Without a known total the small cell alone is hidden.
    assert d.publish_counts({"a": 2, "b": 20}, total_known=False) == {"a": d.SUPPRESSED, "b": 20}
    assert d.publish_counts({"a": 0, "b": 20}, total_known=True) == {"a": 0, "b": 20}


@given(st.dictionaries(st.text("abc", min_size=1), st.integers(0, 40), min_size=1, max_size=6))
def test_no_suppressed_cell_can_be_derived(cells):
    published = d.publish_counts(cells, total_known=True)
    hidden = [name for name, value in published.items() if value == d.SUPPRESSED]
    assert all(published[n] == n_ for n, n_ in cells.items() if n not in hidden)
    assert all(not 0 < cells[n] < 5 for n in cells if n not in hidden)
    if hidden and len(hidden) < len([n for n in cells if cells[n] > 0]):
        assert len(hidden) >= 2 and sum(cells[n] for n in hidden) >= 10


def test_shifted_dates_of_two_children_differ():
    a, b = (d.date_shift(KEY, d.pseudonym(KEY, "s", n)) for n in (1, 2))
    day = date(2024, 1, 1)
    assert a != b and d.shifted(day, a) != d.shifted(day, b)
    assert d.shifted(day, a) - d.shifted(day, b) == timedelta(days=b - a)
