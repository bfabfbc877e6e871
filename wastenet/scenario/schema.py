"""The scenario schema: one pydantic model, read from TOML (stdlib ``tomllib``) or JSON.

Every quantity carries its unit in its key name (``capex_yuan``, ``speed_km_per_h``,
``haul_yuan_per_t_km``...). Every default names its source in the field description,
or says "assumption". The HTTP API accepts the same schema as JSON or TOML.

Sources cited below:
* [NDRC2006] National Development and Reform Commission & Ministry of Construction,
  *Methods and Parameters for Economic Evaluation of Construction Projects*, 3rd ed.
  (2006): social discount rate 8 %.
* [ISSUE3] Wastenet siting brief (issue 3): Liaoning waste-to-energy plants cost about
  CNY 0.5 million per t/d of capacity; a township transfer station costs about
  CNY 0.4 million to build.
* [DATA] ``wastenet/data/liaoning/README.md``: about 11,500 administrative villages,
  about 11 million rural residents (2023), 0.5 kg/person/day median rural waste
  generation (range 0.2-1.1).
* [PLAN] Liaoning "beautiful villages" plan: 1,880 new transfer facilities and 126 new
  incineration facilities by 2025; co-built, shared facilities between counties.
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from wastenet.bounds import MAX_SEED, MAX_THREADS, MAX_TIME_LIMIT_S, MAX_VEHICLE_COST_YUAN
from wastenet.data import liaoning
from wastenet.data.generator import MAX_RURAL_POPULATION
from wastenet.errors import DataFormatError, ValidationError
from wastenet.scenario.names import RULE, first_bad_char

SCHEMA_VERSION: Literal[1] = 1

PosFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]
NonNegFloat = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Adcode = Annotated[str, Field(pattern=r"^\d{6}$", examples=["210124"])]
_ADCODE_RE = re.compile(r"[0-9]{6}")


def _time_of_day(text: str) -> str:
    """A real time of day ``H:MM`` or ``HH:MM`` from 00:00 to 23:59, or ``24:00`` (the
    end of the day); anything else (``99:99``, ``24:30``) is refused."""
    h, m = text.split(":")  # the pattern guarantees one colon between digits
    hh, mm = int(h), int(m)
    if not (0 <= mm < 60 and (hh < 24 or (hh == 24 and mm == 0))):
        raise ValueError(f"{text!r} is not a time of day (HH:MM from 00:00 to 24:00)")
    return text


#: a clock time ``HH:MM`` that names a real time of the day
HHMM = Annotated[str, Field(pattern=r"^\d{1,2}:\d{2}$"), AfterValidator(_time_of_day)]


def _printable_name(text: str) -> str:
    """A name holds no control character, surrogate, U+FFFE or U+FFFF
    (:func:`wastenet.scenario.names.bad_char`, the rule the data loaders apply too)."""
    found = first_bad_char(text)
    if found is not None:
        pos, ch = found
        raise PydanticCustomError(
            "control_character_in_name", RULE + ": found {char} at position {pos}",
            {"char": repr(ch), "pos": pos})
    return text


#: a user-given name (of a village, site, module size, vehicle type or the scenario):
#: free text without control characters (:func:`_printable_name`)
Name = Annotated[str, AfterValidator(_printable_name)]

#: a user-given id (of a village or site): like a :data:`Name`, no control character,
#: surrogate, U+FFFE or U+FFFF; ids are written into every export next to the names
Id = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_printable_name)]


def _prefecture_hint(text: str) -> str:
    """The valid prefecture adcodes, led by the one whose name ``text`` looks like
    (``沈阳``, ``沈阳市``) when there is one."""
    prefs = liaoning.load_prefectures()
    key = text.strip().removesuffix("市")
    same = [p for p in prefs if key and p.name.removesuffix("市") == key]
    listed = ", ".join(f"{p.adcode} {p.name}" for p in prefs)
    if same:
        return f"{same[0].name} is prefecture {same[0].adcode}; the prefectures are {listed}"
    return f"the prefectures are {listed}"


def _known_county(field_name: str) -> Callable[[str], str]:
    """A check that an adcode of ``data.<field_name>`` is one of the 100 bundled
    county-level divisions; the error names ``data.<field_name>`` and the code."""

    def check(code: str) -> str:
        if code not in liaoning.county_index():
            raise PydanticCustomError(
                "unknown_county",
                "unknown Liaoning county adcode '{code}' in data.{field}: not one of the "
                "province's 100 county-level divisions",
                {"code": code, "field": field_name, "domain_field": f"data.{field_name}",
                 "domain_value": code})
        return code

    return check


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class SiteSpec(_Model):
    """A user-supplied candidate site (WGS-84)."""

    id: Id
    name: Name = Field(default="", max_length=128)
    lon: float = Field(ge=-180, le=180, allow_inf_nan=False)
    lat: float = Field(ge=-90, le=90, allow_inf_nan=False)
    county: Adcode | None = None


class ExistingSpec(SiteSpec):
    """An existing facility: fixed open, with its remaining capacity."""

    remaining_capacity_t_per_day: PosFloat


class VillageSpec(_Model):
    """A user-supplied village given inline (HTTP scenarios)."""

    id: Id
    name: Name = Field(default="", max_length=128)
    lon: float = Field(ge=-180, le=180, allow_inf_nan=False)
    lat: float = Field(ge=-90, le=90, allow_inf_nan=False)
    population: PosFloat | None = None
    tonnes_per_day: PosFloat | None = None
    county: Adcode | None = None
    tourism: bool = False
    demonstration: bool = False

    @model_validator(mode="after")
    def _amount(self) -> VillageSpec:
        if self.population is None and self.tonnes_per_day is None:
            raise ValueError("give population or tonnes_per_day")
        return self


class DataSpec(_Model):
    """Where the villages come from."""

    source: Literal["liaoning-synthetic", "user"] = Field(
        "liaoning-synthetic",
        description="'liaoning-synthetic': the bundled geography with generated villages; "
        "'user': villages from villages_file or the inline villages list.")
    seed: int = Field(2025, ge=0, le=2**32 - 1,
                      description="generator seed (assumption: an arbitrary fixed value)")
    villages_total: int = Field(
        11_500, ge=1, le=200_000,
        description="provincial village count [DATA]; split over the rural counties by "
        "largest remainder, so below about 2,629 the smallest counties get none")
    rural_population: int = Field(
        11_000_000, ge=1, le=MAX_RURAL_POPULATION,
        description="rural residents [DATA]; at least data.villages_total (one person per "
        f"village) and at most {MAX_RURAL_POPULATION / 1e6:g} million (over twice "
        "Liaoning's population)")
    waste_kg_per_person_per_day: PosFloat = Field(0.5, description="median rate [DATA]")
    seasonal_factor: PosFloat = Field(1.0, description="peak-season multiplier (assumption)")
    counties: list[Annotated[Adcode, AfterValidator(_known_county("counties"))]] = Field(
        default_factory=list,
        description="restrict to these counties (empty: all); each one of Liaoning's 100 "
        "county-level adcodes")
    tourism_fraction: float = Field(
        0.02, ge=0, le=1, allow_inf_nan=False,
        description="share of key tourism villages (assumption); synthetic data only (user "
        "villages carry their own tourism field)")
    demonstration_counties: list[
        Annotated[Adcode, AfterValidator(_known_county("demonstration_counties"))]] = Field(
        default_factory=list,
        description="counties whose villages all belong to the demonstration belt; "
        "synthetic data only, and within data.counties when that is given")
    villages_file: str | None = Field(None, description="CSV or GeoJSON of villages (CLI only)")
    villages: list[VillageSpec] = Field(default_factory=list, description="inline villages")
    distance_matrix_file: str | None = Field(
        None, description="CSV or .npz road distance/time matrix replacing the estimate")

    @field_validator("villages_file")
    @classmethod
    def _villages_file(cls, v: str | None, info: ValidationInfo) -> str | None:
        source = info.data.get("source")
        if v is not None and source is not None and source != "user":
            raise PydanticCustomError(
                "villages_file_ignored",
                "a villages file given with data.source='{source}', which generates its own "
                "villages and would ignore it: set data.source='user' to use it",
                {"source": source, "domain_value": v})
        return v

    @field_validator("villages")
    @classmethod
    def _villages(cls, v: list[VillageSpec], info: ValidationInfo) -> list[VillageSpec]:
        source = info.data.get("source")
        if v and source is not None and source != "user":
            raise PydanticCustomError(
                "villages_ignored",
                "{count} inline village(s) given with data.source='{source}', which generates "
                "its own villages and would ignore them: set data.source='user' to use them",
                {"count": len(v), "source": source, "domain_value": source})
        first: dict[str, int] = {}
        for r, village in enumerate(v):
            if village.id in first:
                raise PydanticCustomError(
                    "duplicate_village_id",
                    "duplicate village id '{id}': data.villages.{first} has it too",
                    {"row": r, "id": village.id, "first": first[village.id],
                     "domain_field": f"data.villages.{r}.id", "domain_value": village.id})
            first[village.id] = r
        return v

    @model_validator(mode="after")
    def _settings_used(self) -> DataSpec:
        """Refuse settings that the data source would silently ignore, and demonstration
        counties outside the selection (they would mark no village)."""
        if self.source == "user":
            fields = DataSpec.model_fields
            ignored = [(name, getattr(self, name)) for name in
                       ("demonstration_counties", "tourism_fraction", "villages_total",
                        "rural_population")
                       if getattr(self, name) != fields[name].get_default(
                           call_default_factory=True)]
            if ignored:
                name, value = ignored[0]
                use = {"demonstration_counties": "mark the villages with the "
                       "demonstration field instead",
                       "tourism_fraction": "mark the villages with the tourism field "
                       "instead"}.get(name, "the supplied villages are used as they are")
                raise PydanticCustomError(
                    "setting_ignored",
                    "data.{name} is given with data.source='user', which takes the villages "
                    "as supplied and would ignore it: remove it ({use})",
                    {"name": name, "use": use, "domain_field": f"data.{name}",
                     "domain_value": value})
        elif self.counties:
            outside = [c for c in self.demonstration_counties if c not in self.counties]
            if outside:
                raise PydanticCustomError(
                    "demonstration_outside_selection",
                    "demonstration county {code} is not among data.counties {counties}, so "
                    "it would mark no village: add it to data.counties or remove it",
                    {"code": outside[0], "counties": list(self.counties),
                     "domain_field": "data.demonstration_counties",
                     "domain_value": outside[0]})
        return self

    @model_validator(mode="after")
    def _one_person_per_village(self) -> DataSpec:
        if self.source == "liaoning-synthetic" and self.rural_population < self.villages_total:
            raise PydanticCustomError(
                "too_few_people",
                "must be at least data.villages_total={total} (one person per generated "
                "village)",
                {"total": self.villages_total, "domain_field": "data.rural_population",
                 "domain_value": self.rural_population})
        return self


#: fields that an earlier schema had and that nothing reads: a scenario that sets one is
#: refused with this reason rather than a generic "extra field" error
_UNUSED_NETWORK_FIELDS = {
    "haul_speed_km_per_h": "'haul_speed_km_per_h' is not used and no longer part of the "
    "schema: transfer haul costs are per tonne-km (costs.transfer_haul_yuan_per_t_km) and "
    "no model needs a haul time; remove it from the scenario",
}


class NetworkSpec(_Model):
    @model_validator(mode="before")
    @classmethod
    def _unused(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for name, reason in _UNUSED_NETWORK_FIELDS.items():
                if name in data:
                    raise PydanticCustomError(
                        "unused_field", reason,
                        {"domain_field": f"network.{name}", "domain_value": data[name]})
        return data

    circuity_factor: float = Field(1.3, ge=1.0, le=3.0, allow_inf_nan=False,
                                   description="road / great-circle distance (assumption)")
    truck_speed_km_per_h: PosFloat = Field(35.0, description="collection truck (assumption)")
    neighbours_per_village: int = Field(
        24, ge=1, le=500,
        description="nearest transfer candidates kept per village (assumption)")
    incinerators_per_station: int = Field(
        30, ge=1, le=2000,
        description="nearest incinerator candidates kept per station (assumption)")


class SizeSpec(_Model):
    """A module size: capacity, capital cost and lifetime, fixed operating cost."""

    name: Name = ""
    capacity_t_per_day: PosFloat
    capex_yuan: NonNegFloat
    lifetime_years: int = Field(15, ge=1, le=100, description="asset life (assumption)")
    fixed_opex_yuan_per_year: NonNegFloat = Field(
        0.0, description="fixed operating cost (assumption: none unless given)")


def _default_transfer_sizes() -> list[SizeSpec]:
    # [ISSUE3]: ~CNY 0.4 m for a township station; larger modules scaled (assumption).
    return [
        SizeSpec(name="T5", capacity_t_per_day=5, capex_yuan=300_000, lifetime_years=15,
                 fixed_opex_yuan_per_year=40_000),
        SizeSpec(name="T10", capacity_t_per_day=10, capex_yuan=400_000, lifetime_years=15,
                 fixed_opex_yuan_per_year=60_000),
        SizeSpec(name="T30", capacity_t_per_day=30, capex_yuan=900_000, lifetime_years=15,
                 fixed_opex_yuan_per_year=120_000),
        SizeSpec(name="T100", capacity_t_per_day=100, capex_yuan=2_400_000, lifetime_years=15,
                 fixed_opex_yuan_per_year=300_000),
    ]


def _default_small_incinerator_sizes() -> list[SizeSpec]:
    # Decentralised units 10-50 t/d [ISSUE3]; CNY 0.5 m per t/d [ISSUE3]; opex assumption.
    return [
        SizeSpec(name="I10", capacity_t_per_day=10, capex_yuan=5_000_000, lifetime_years=15,
                 fixed_opex_yuan_per_year=300_000),
        SizeSpec(name="I25", capacity_t_per_day=25, capex_yuan=12_500_000, lifetime_years=15,
                 fixed_opex_yuan_per_year=600_000),
        SizeSpec(name="I50", capacity_t_per_day=50, capex_yuan=25_000_000, lifetime_years=15,
                 fixed_opex_yuan_per_year=1_000_000),
    ]


def _default_large_incinerator_sizes() -> list[SizeSpec]:
    # CNY 0.5 m per t/d [ISSUE3]; 25-year plant life and opex: assumption.
    return [
        SizeSpec(name="I100", capacity_t_per_day=100, capex_yuan=50_000_000,
                 lifetime_years=25, fixed_opex_yuan_per_year=2_000_000),
        SizeSpec(name="I300", capacity_t_per_day=300, capex_yuan=150_000_000,
                 lifetime_years=25, fixed_opex_yuan_per_year=5_000_000),
        SizeSpec(name="I600", capacity_t_per_day=600, capex_yuan=300_000_000,
                 lifetime_years=25, fixed_opex_yuan_per_year=9_000_000),
    ]


class TransferCandidatesSpec(_Model):
    township_seats: bool = Field(
        True, description="a candidate at each rural town or township seat (assumption)")
    extra_per_county: int = Field(
        20, ge=0, le=500,
        description="extra candidates per rural county, spread over its villages; the plan's "
        "1,880 stations exceed the 841 township seats [PLAN]")
    sites: list[SiteSpec] = Field(default_factory=list)
    existing: list[ExistingSpec] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list, description="candidate ids not to open")
    force: list[str] = Field(default_factory=list, description="candidate ids that must open")
    sizes: list[SizeSpec] = Field(
        default_factory=_default_transfer_sizes, min_length=1,
        description="station modules: about CNY 0.4 m for a township station [ISSUE3], "
        "taken as the 10 t/d module; the other sizes, lives and fixed opex: assumption")
    opex_yuan_per_t: NonNegFloat = Field(25.0, description="variable operating cost (assumption)")


class IncineratorCandidatesSpec(_Model):
    county_seats: bool = Field(True, description="a candidate at each county seat "
                               "(the county's interior point; assumption)")
    township_seats: bool = Field(True, description="small decentralised plants [PLAN]")
    sites: list[SiteSpec] = Field(default_factory=list)
    existing: list[ExistingSpec] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)
    force: list[str] = Field(default_factory=list)
    county_seat_sizes: list[SizeSpec] = Field(
        default_factory=_default_large_incinerator_sizes, min_length=1,
        description="county plants of 100-600 t/d at CNY 0.5 m per t/d [ISSUE3]; 25-year "
        "life and fixed opex (assumption)")
    township_sizes: list[SizeSpec] = Field(
        default_factory=_default_small_incinerator_sizes, min_length=1,
        description="decentralised plants of 10-50 t/d at CNY 0.5 m per t/d [ISSUE3]; "
        "15-year life and fixed opex (assumption)")
    processing_yuan_per_t: NonNegFloat = Field(
        90.0, description="variable treatment cost net of energy sales (assumption)")


class CandidatesSpec(_Model):
    transfer: TransferCandidatesSpec = Field(default_factory=TransferCandidatesSpec)
    incinerator: IncineratorCandidatesSpec = Field(default_factory=IncineratorCandidatesSpec)


class CostsSpec(_Model):
    discount_rate: float = Field(0.08, ge=0, le=1, allow_inf_nan=False,
                                 description="social discount rate [NDRC2006]")
    collection_haul_yuan_per_t_km: NonNegFloat = Field(
        2.5, description="compactor truck, village to station (assumption)")
    transfer_haul_yuan_per_t_km: NonNegFloat = Field(
        0.8, description="large transfer truck, station to plant (assumption)")


class CountSpec(_Model):
    echelon: Literal["transfer", "incinerator"]
    value: int = Field(ge=0)
    sense: Literal["eq", "le", "ge"] = "eq"
    prefecture: Adcode | None = Field(
        None, description="the prefecture's 6-digit adcode (e.g. 210100 for 沈阳市); "
        "None: the whole province")

    @field_validator("prefecture", mode="before")
    @classmethod
    def _prefecture_code(cls, v: Any) -> Any:
        # a name (沈阳市) or a mistyped code is refused here with the valid codes listed,
        # rather than by the bare pattern; whether a well-formed code is a prefecture of
        # the scenario is checked where the network is known (build_network and
        # build_siting_data)
        if isinstance(v, str) and not _ADCODE_RE.fullmatch(v):
            raise PydanticCustomError(
                "prefecture_code",
                "must be a prefecture's 6-digit adcode (hint: {hint})",
                {"hint": _prefecture_hint(v), "domain_value": v})
        return v


class PolicySpec(_Model):
    sharing: Literal["none", "adjacent", "prefecture", "free"] = Field(
        "adjacent", description="which counties may share facilities [PLAN]")
    service_radius_km: PosFloat = Field(
        20.0, description="max road distance village -> station (assumption)")
    direct_radius_km: NonNegFloat = Field(
        10.0, description="max road distance for direct delivery to a plant (assumption)")
    max_transfer_haul_km: PosFloat = Field(150.0, description="max station -> plant (assumption)")
    counts: list[CountSpec] = Field(default_factory=list)
    must_cover_tourism: bool = Field(
        True, description="key tourism villages must be covered [PLAN]")
    must_cover_demonstration: bool = Field(
        True, description="demonstration-belt villages must be covered [PLAN]")
    uncovered_penalty_yuan_per_t: NonNegFloat | None = Field(
        None, description="None: full coverage is a hard constraint")


class VehicleSpec(_Model):
    name: Name = Field(min_length=1, description="unique within fleet.vehicles: it labels "
                       "the vehicles in the route exports")
    count: int = Field(ge=0, le=1000)
    capacity_t: PosFloat
    capacity_m3: PosFloat | None = None
    fixed_cost_yuan: NonNegFloat = Field(300.0, le=MAX_VEHICLE_COST_YUAN,
                                         description="per vehicle used a day (assumption)")
    cost_yuan_per_km: NonNegFloat = Field(3.0, le=MAX_VEHICLE_COST_YUAN,
                                          description="assumption")
    cost_yuan_per_h: NonNegFloat = Field(60.0, le=MAX_VEHICLE_COST_YUAN,
                                         description="crew and vehicle time (assumption)")
    speed_factor: PosFloat = Field(1.0, description="times network.truck_speed_km_per_h "
                                   "(assumption)")
    shift_start: HHMM = Field("06:00", description="assumption")
    shift_end: HHMM = Field("18:00", description="assumption")
    max_shift_h: PosFloat = Field(10.0, description="assumption")
    max_stops: int | None = Field(None, ge=1)
    route_capacity_t: PosFloat | None = None
    break_minutes: NonNegFloat = Field(60.0, description="lunch break (assumption)")
    break_earliest: HHMM = Field("11:00",
                                description="assumption")
    break_latest: HHMM = Field("12:00", description="assumption")
    narrow_lane_ok: bool = Field(True, description="may serve narrow-lane villages "
                                 "(assumption)")


def _default_fleet() -> list[VehicleSpec]:
    return [
        VehicleSpec(name="compactor-8t", count=12, capacity_t=8.0, capacity_m3=20.0,
                    narrow_lane_ok=False),
        VehicleSpec(name="tricycle-truck-2t", count=12, capacity_t=2.0, capacity_m3=6.0,
                    fixed_cost_yuan=150.0, cost_yuan_per_km=1.5, speed_factor=0.8),
    ]


class FleetSpec(_Model):
    vehicles: list[VehicleSpec] = Field(
        default_factory=_default_fleet, min_length=1,
        description="the fleet of a county-day plan: 12 compactors of 8 t and 12 tricycle "
        "trucks of 2 t (assumption)")
    service_minutes_per_stop: NonNegFloat = Field(10.0, description="assumption")
    unload_minutes: NonNegFloat = Field(15.0, description="assumption")
    density_t_per_m3: PosFloat = Field(0.4, description="compacted rural waste (assumption)")
    narrow_lane_fraction: float = Field(
        0.1, ge=0, le=1, allow_inf_nan=False,
        description="villages served by small trucks only (assumption)")
    station_open: HHMM = Field("05:00",
                              description="unloading hours start (assumption)")
    station_close: HHMM = Field("20:00",
                               description="unloading hours end (assumption)")
    frequency_per_week: Literal[1, 2, 3, 6, 7] = Field(
        7, description="default collection frequency (daily; assumption)")
    tourism_frequency_per_week: Literal[1, 2, 3, 6, 7] = Field(
        7, description="key tourism villages (daily; assumption); at least "
        "fleet.frequency_per_week, as key tourism villages are collected at least as often "
        "as the other villages")

    @field_validator("vehicles")
    @classmethod
    def _unique_names(cls, v: list[VehicleSpec]) -> list[VehicleSpec]:
        # the route exports label a vehicle by its type's name and number: two types of
        # one name would give two vehicles the same label on every sheet and file
        first: dict[str, int] = {}
        for r, vehicle in enumerate(v):
            if vehicle.name in first:
                raise PydanticCustomError(
                    "duplicate_vehicle_name",
                    "duplicate vehicle name '{name}' at fleet.vehicles.{row}: "
                    "fleet.vehicles.{first} has it too",
                    {"row": r, "name": vehicle.name, "first": first[vehicle.name],
                     "domain_field": f"fleet.vehicles.{r}.name",
                     "domain_value": vehicle.name})
            first[vehicle.name] = r
        return v

    @field_validator("tourism_frequency_per_week")
    @classmethod
    def _tourism_at_least_normal(cls, v: int, info: ValidationInfo) -> int:
        # info.data holds frequency_per_week (given or its default) unless it was itself
        # invalid, in which case that error is reported and this check has nothing to do
        normal = info.data.get("frequency_per_week")
        if normal is not None and v < normal:
            raise PydanticCustomError(
                "tourism_frequency_below_normal",
                "must be at least fleet.frequency_per_week={normal}: key tourism villages "
                "are collected at least as often as the other villages",
                {"normal": normal})
        return v


class SolverSpec(_Model):
    time_limit_s: PosFloat = Field(600.0, le=MAX_TIME_LIMIT_S, description="siting (assumption)")
    seed: int = Field(0, ge=0, le=MAX_SEED,
                      description="solver seed (assumption: an arbitrary fixed value)")
    method: Literal["auto", "exact", "decomposition"] = "auto"
    threads: int = Field(1, ge=1, le=MAX_THREADS,
                         description="siting: sub-problems solved at a time by the scalable "
                                     "path (assumption: 1, one core per run)")
    routing_time_limit_s: PosFloat = Field(30.0, le=MAX_TIME_LIMIT_S,
                                           description="one county-day plan (assumption)")


class Scenario(_Model):
    """A Wastenet scenario (schema version 1)."""

    schema_version: Literal[1] = SCHEMA_VERSION
    name: Name = Field(min_length=1, max_length=128, examples=["faku"])
    description: str = ""
    data: DataSpec = Field(default_factory=DataSpec)
    network: NetworkSpec = Field(default_factory=NetworkSpec)
    candidates: CandidatesSpec = Field(default_factory=CandidatesSpec)
    costs: CostsSpec = Field(default_factory=CostsSpec)
    policy: PolicySpec = Field(default_factory=PolicySpec)
    fleet: FleetSpec = Field(default_factory=FleetSpec)
    solver: SolverSpec = Field(default_factory=SolverSpec)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be blank")
        # control characters (NUL among them) are refused by the Name type
        return v

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        if self.data.source == "user" and not (self.data.villages_file or self.data.villages):
            raise ValueError("data.source='user' needs data.villages_file or data.villages")
        return self

    # -- helpers -------------------------------------------------------------------
    def server_file_fields(self) -> list[str]:
        """Dotted names of the fields that name files on the server (not allowed via HTTP)."""
        out = []
        if self.data.villages_file:
            out.append("data.villages_file")
        if self.data.distance_matrix_file:
            out.append("data.distance_matrix_file")
        return out

    @classmethod
    def from_toml_text(cls, text: str, *, source: str = "<toml>") -> Scenario:
        try:
            raw = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise DataFormatError(source, f"invalid TOML: {exc}") from exc
        except RecursionError:
            raise DataFormatError(source, "invalid TOML: arrays or tables nested too "
                                  "deeply") from None
        return cls.model_validate(raw)

    def resolve_paths(self, base: Path) -> Scenario:
        """A copy with relative file paths made absolute against ``base`` (a folder)."""
        upd: dict[str, Any] = {}
        for name in ("villages_file", "distance_matrix_file"):
            v = getattr(self.data, name)
            if v and not Path(v).is_absolute():
                upd[name] = str((base / v).resolve())
        if not upd:
            return self
        return self.model_copy(update={"data": self.data.model_copy(update=upd)})


def load_scenario(path: str | Path) -> Scenario:
    """Read a scenario from a ``.toml`` or ``.json`` file; paths inside are resolved
    relative to the file. Schema errors become :class:`ValidationError` naming the field."""
    from pydantic import ValidationError as PydanticValidationError

    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise ValidationError("scenario", str(p), f"cannot read: {exc.strerror}") from exc
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataFormatError(str(p), f"not UTF-8 text (bad byte at offset {exc.start})",
                              line=data.count(b"\n", 0, exc.start) + 1) from None
    try:
        if p.suffix.lower() == ".json":
            try:
                raw = json.loads(text)  # NaN/Infinity parse, then fail validation by field
            except json.JSONDecodeError as exc:
                raise DataFormatError(str(p), f"invalid JSON: {exc.msg}", line=exc.lineno) from exc
            except RecursionError:
                raise DataFormatError(str(p), "invalid JSON: arrays or objects nested too "
                                      "deeply") from None
            sc = Scenario.model_validate(raw)
        else:
            sc = Scenario.from_toml_text(text, source=str(p))
    except PydanticValidationError as exc:
        raise pydantic_to_domain(exc) from exc
    return sc.resolve_paths(p.parent)


def pydantic_to_domain(exc: Any) -> ValidationError:
    """The first pydantic error as a :class:`ValidationError` naming the field. A
    validator of this schema may name a finer field and value than pydantic's location
    and input, in the error context keys ``domain_field`` and ``domain_value``."""
    err = exc.errors()[0]
    ctx = err.get("ctx") or {}
    loc = ctx.get("domain_field") or ".".join(str(x) for x in err.get("loc", ())) or "scenario"
    value = ctx["domain_value"] if "domain_value" in ctx else err.get("input")
    return ValidationError(loc, value, err.get("msg", "invalid"))


def hhmm_to_s(text: str) -> float:
    """'06:30' -> 23400.0 seconds from midnight."""
    h, m = text.split(":")
    hh, mm = int(h), int(m)
    if not (0 <= mm < 60 and (0 <= hh < 24 or (hh == 24 and mm == 0))):
        raise ValidationError("time", text, "must be HH:MM within the day")
    return float(hh * 3600 + mm * 60)


def crf(rate: float, years: int) -> float:
    """Capital recovery factor ``r (1+r)^n / ((1+r)^n - 1)`` (1/n when r = 0)."""
    if years <= 0:
        raise ValidationError("lifetime_years", years, "must be >= 1")
    if rate == 0:
        return 1.0 / years
    g = math.pow(1.0 + rate, years)
    return rate * g / (g - 1.0)


def annualised_fixed_cost(size: SizeSpec, discount_rate: float) -> float:
    """Yearly fixed cost of a module: capex x CRF(rate, lifetime) + fixed opex."""
    return size.capex_yuan * crf(discount_rate, size.lifetime_years) + size.fixed_opex_yuan_per_year
