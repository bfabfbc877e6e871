"""``wastenet network SCENARIO [--json] [--geojson OUT]``: build and summarise a network."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from wastenet.commands.args import output_file
from wastenet.scenario.network import Network, build_network
from wastenet.scenario.schema import load_scenario


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("network", help="build a scenario's network and summarise it",
                       description="Build the villages, candidate sites and neighbour lists "
                       "of a scenario and print a summary.")
    p.add_argument("scenario", help="scenario file (.toml or .json)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--geojson", metavar="OUT", help="write the network as GeoJSON")
    p.set_defaults(func=run)


def network_geojson(net: Network) -> dict[str, Any]:
    """Villages, transfer candidates and incinerator candidates as one FeatureCollection."""
    v = net.villages
    feats: list[dict[str, Any]] = []
    for i in range(len(v)):
        feats.append({"type": "Feature",
                      "geometry": {"type": "Point",
                                   "coordinates": [round(float(v.lon[i]), 6),
                                                   round(float(v.lat[i]), 6)]},
                      "properties": {"layer": "village", "id": v.ids[i], "name": v.names[i],
                                     "county": v.county[i], "population": int(v.population[i]),
                                     "waste_t_per_day": round(float(v.waste_t_per_day[i]), 4),
                                     "tourism": bool(v.tourism[i]),
                                     "demonstration": bool(v.demonstration[i])}})
    for layer, c in (("transfer_candidate", net.transfer),
                     ("incinerator_candidate", net.incinerator)):
        for j in range(len(c)):
            feats.append({"type": "Feature",
                          "geometry": {"type": "Point",
                                       "coordinates": [round(float(c.lon[j]), 6),
                                                       round(float(c.lat[j]), 6)]},
                          "properties": {"layer": layer, "id": c.ids[j], "name": c.names[j],
                                         "county": c.county[j], "kind": c.kind[j],
                                         "existing_capacity_t_per_day":
                                             float(c.existing_capacity[j])}})
    return {"type": "FeatureCollection", "features": feats,
            "properties": {"scenario": net.scenario.name, "synthetic": net.synthetic,
                           "seed": net.seed}}


def run(args: argparse.Namespace) -> int:
    # the output path first: a folder, or a folder that cannot be made, costs no build
    out: Path | None = output_file(args.geojson, "geojson") if args.geojson else None
    scenario = load_scenario(args.scenario)
    net = build_network(scenario)
    summary = net.summary()
    if out is not None:
        out.write_text(json.dumps(network_geojson(net), ensure_ascii=False), encoding="utf-8")
    if args.json:
        json.dump(summary, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return 0
    w = sys.stdout.write
    w(f"Scenario {summary['scenario']}  (synthetic={summary['synthetic']}, "
      f"seed={summary['seed']})\n")
    w(f"  counties with villages   {summary['counties']:>10,}\n")
    w(f"  villages                 {summary['villages']:>10,}\n")
    w(f"  rural population         {summary['population']:>10,}\n")
    w(f"  waste (t/day)            {summary['waste_t_per_day']:>10,.1f}\n")
    w(f"  key tourism villages     {summary['tourism_villages']:>10,}\n")
    w(f"  township seats           {summary['township_seats']:>10,}\n")
    w(f"  transfer candidates      {summary['transfer_candidates']:>10,}\n")
    w(f"  incinerator candidates   {summary['incinerator_candidates']:>10,}\n")
    w(f"  existing facilities      {summary['existing_transfer_stations']:>5} transfer, "
      f"{summary['existing_incinerators']} incinerators"
      f"{'  (greenfield)' if summary['greenfield'] else ''}\n")
    w(f"  sharing policy           {summary['sharing']:>10}\n")
    for warning in net.warnings:
        w(f"  warning: {warning}\n")
    return 0
