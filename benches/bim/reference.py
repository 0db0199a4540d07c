"""Reference figures for the IFC samples, computed with IfcOpenShell (an independent reader and
geometry kernel): per building its storeys (name, elevation in metres), the span of its shell
elements (base and top, metres, world coordinates of the file), the plan of its ground storey's
shell elements (convex hull of their triangulated vertices: area, extents), and the site's
reference point in WGS 84 degrees. The shell elements are the kinds `twin import ifc` reads the
geometry of (walls, slabs, roofs, columns, beams, curtain walls, plates, members, coverings,
stairs, ramps, railings, chimneys; not foundations, and not the parts of an element of another
kind, such as a window's frame members); the roof and its slabs count for the top, not for the
plan.

    .venv/bin/python benches/bim/reference.py ../shared/data/bim-cim/webifc_AC20-FZK-Haus.ifc ...
"""

import json
import sys

import ifcopenshell
import ifcopenshell.geom
import ifcopenshell.util.element
import ifcopenshell.util.geolocation
import ifcopenshell.util.unit

SHELL = ["IfcWall", "IfcSlab", "IfcRoof", "IfcColumn", "IfcBeam", "IfcCurtainWall",
         "IfcPlate", "IfcMember", "IfcCovering", "IfcStair", "IfcStairFlight", "IfcRamp",
         "IfcRampFlight", "IfcRailing", "IfcChimney"]


def hull(points):
    pts = sorted(set(points))
    if len(pts) < 3:
        return pts
    def cross(o, a, b):
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])
    lower, upper = [], []
    for p in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    for p in reversed(pts):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return lower[:-1] + upper[:-1]


def area(ring):
    return 0.5 * abs(sum(ring[i][0] * ring[(i + 1) % len(ring)][1]
                         - ring[(i + 1) % len(ring)][0] * ring[i][1] for i in range(len(ring))))


def is_shell(e):
    if not any(e.is_a(k) for k in SHELL):
        return False
    parent = ifcopenshell.util.element.get_aggregate(e)
    return parent is None or not parent.is_a("IfcElement") or is_shell(parent)


def is_roof(e):
    if e.is_a("IfcRoof") or (e.is_a("IfcSlab") and e.PredefinedType == "ROOF"):
        return True
    parent = ifcopenshell.util.element.get_aggregate(e)
    return parent is not None and parent.is_a("IfcRoof")


def storey_of(e):
    while e is not None:
        c = ifcopenshell.util.element.get_container(e)
        if c is not None:
            return c
        e = ifcopenshell.util.element.get_aggregate(e)
    return None


def main(path):
    f = ifcopenshell.open(path)
    scale = ifcopenshell.util.unit.calculate_unit_scale(f)
    settings = ifcopenshell.geom.settings()
    settings.set("use-world-coords", True)
    out = {"file": path.split("/")[-1], "schema": f.schema, "length_unit_m": scale}
    site = (f.by_type("IfcSite") or [None])[0]
    if site is not None and site.RefLatitude and site.RefLongitude:
        out["site_lat"] = ifcopenshell.util.geolocation.dms2dd(*site.RefLatitude)
        out["site_lon"] = ifcopenshell.util.geolocation.dms2dd(*site.RefLongitude)
        out["site_elevation_m"] = (site.RefElevation or 0.0) * scale
    buildings = []
    for b in f.by_type("IfcBuilding"):
        storeys = [s for s in ifcopenshell.util.element.get_decomposition(b)
                   if s.is_a("IfcBuildingStorey")]
        storeys.sort(key=lambda s: s.Elevation or 0.0)
        ground = storeys[0] if storeys else None
        elems = [e for e in ifcopenshell.util.element.get_decomposition(b)
                 if is_shell(e)]
        zs, plan = [], []
        for e in elems:
            if not e.Representation:
                continue
            try:
                shape = ifcopenshell.geom.create_shape(settings, e)
            except RuntimeError:
                continue
            v = shape.geometry.verts
            pts = [(v[i], v[i + 1], v[i + 2]) for i in range(0, len(v), 3)]
            zs += [p[2] for p in pts]
            if storey_of(e) == ground and not is_roof(e):
                plan += [(round(p[0], 6), round(p[1], 6)) for p in pts]
        h = hull(plan)
        buildings.append({
            "name": b.Name,
            "storeys": [[s.Name, round((s.Elevation or 0.0) * scale, 4)] for s in storeys],
            "shell_elements": len(elems),
            "base_m": round(min(zs), 4),
            "top_m": round(max(zs), 4),
            "height_m": round(max(zs) - min(zs), 4),
            "plan_hull_area_m2": round(area(h), 3),
            "plan_x": [round(min(p[0] for p in h), 4), round(max(p[0] for p in h), 4)],
            "plan_y": [round(min(p[1] for p in h), 4), round(max(p[1] for p in h), 4)],
            "spaces": sorted({(s.LongName or s.Name or "") for s in
                              ifcopenshell.util.element.get_decomposition(b)
                              if s.is_a("IfcSpace")}),
        })
    out["buildings"] = buildings
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    print("ifcopenshell", ifcopenshell.version, file=sys.stderr)
    for p in sys.argv[1:]:
        main(p)
