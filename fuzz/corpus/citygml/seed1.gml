<?xml version="1.0"?>
<core:CityModel xmlns:core="http://www.opengis.net/citygml/2.0" xmlns:bldg="http://www.opengis.net/citygml/building/2.0" xmlns:gml="http://www.opengis.net/gml" xmlns:gen="http://www.opengis.net/citygml/generics/2.0">
<core:cityObjectMember><bldg:Building gml:id="b1"><gml:name>A</gml:name><gen:stringAttribute name="k"><gen:value>v</gen:value></gen:stringAttribute>
<bldg:measuredHeight uom="m">6</bldg:measuredHeight><bldg:storeysAboveGround>2</bldg:storeysAboveGround>
<bldg:boundedBy><bldg:GroundSurface><bldg:lod2MultiSurface><gml:MultiSurface srsName="EPSG:3405" srsDimension="3"><gml:surfaceMember><gml:Polygon><gml:exterior><gml:LinearRing>
<gml:posList>588000 2325000 0 588010 2325000 0 588010 2325010 0 588000 2325010 0 588000 2325000 0</gml:posList></gml:LinearRing></gml:exterior></gml:Polygon></gml:surfaceMember></gml:MultiSurface></bldg:lod2MultiSurface></bldg:GroundSurface></bldg:boundedBy>
<bldg:consistsOfBuildingPart><bldg:BuildingPart gml:id="p1"><bldg:lod1Solid><gml:Solid><gml:exterior><gml:CompositeSurface><gml:surfaceMember><gml:Polygon><gml:exterior><gml:LinearRing><gml:pos>588000 2325000 0</gml:pos><gml:pos>588005 2325000 0</gml:pos><gml:pos>588005 2325005 0</gml:pos><gml:pos>588000 2325000 0</gml:pos></gml:LinearRing></gml:exterior></gml:Polygon></gml:surfaceMember></gml:CompositeSurface></gml:exterior></gml:Solid></bldg:lod1Solid></bldg:BuildingPart></bldg:consistsOfBuildingPart>
</bldg:Building></core:cityObjectMember>
<core:cityObjectMember><tran:Road xmlns:tran="x"/></core:cityObjectMember>
</core:CityModel>
