"""Reference tables for kxgen: parties, programme areas, themes, SDG codes.

Everything here is plain data.  Party names are real places and bodies,
spelled the way a partner system of that country would write them.  No
name contains ';' or '|', because the CSV form of the feed joins arrays
with ';' and writes a party as name|country|kind|eu without escaping.
Every SDG target and indicator listed exists in the UN global indicator
framework.
"""

# The 27 EU member states, by ISO 3166-1 alpha-2 code (Greece is GR).
EU = frozenset(
    "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO "
    "SK SI ES SE".split()
)

# name|country|kind[|v]
# A trailing 'v' marks a party that partner systems also write in another
# case or Unicode normalisation form (NFD, upper case), so that the
# (country, name) identity rule of the contract gets exercised.
PARTY_TABLE = """\
Wien|AT|city
Graz|AT|city
Linz|AT|city
Innsbruck|AT|city
Bruxelles|BE|city
Gent|BE|city
Antwerpen|BE|city
Liège|BE|city|v
Région de Bruxelles-Capitale|BE|region
Eurocities|BE|organisation
CEMR – Council of European Municipalities and Regions|BE|organisation
София|BG|city|v
Пловдив|BG|city
Варна|BG|city
Бургас|BG|city
Zagreb|HR|city
Rijeka|HR|city
Split|HR|city
Osijek|HR|city
Λευκωσία|CY|city
Λεμεσός|CY|city
Praha|CZ|city
Brno|CZ|city
Ostrava|CZ|city
Plzeň|CZ|city|v
København|DK|city|v
Aarhus|DK|city
Odense|DK|city
Region Hovedstaden|DK|region
Tallinn|EE|city
Tartu|EE|city
Helsinki|FI|city
Tampere|FI|city
Turku|FI|city
Oulu|FI|city
Espoo|FI|city
Paris|FR|city
Île-de-France|FR|region|v
Lyon|FR|city
Bordeaux Métropole|FR|metropolitan_area
Nantes|FR|city
Strasbourg|FR|city
Lille|FR|city
Marseille|FR|city
Grenoble-Alpes Métropole|FR|metropolitan_area
Toulouse|FR|city
Métropole du Grand Paris|FR|metropolitan_area
Occitanie|FR|region
Energy Cities|FR|organisation
Berlin|DE|city
Hamburg|DE|city
München|DE|city|v
Köln|DE|city|v
Frankfurt am Main|DE|city
Stuttgart|DE|city
Düsseldorf|DE|city
Leipzig|DE|city
Dresden|DE|city
Freiburg im Breisgau|DE|city
Nürnberg|DE|city
Heidelberg|DE|city
Metropolregion Rhein-Neckar|DE|metropolitan_area
Nordrhein-Westfalen|DE|region
ICLEI European Secretariat|DE|organisation
Αθήνα|GR|city|v
Θεσσαλονίκη|GR|city
Ηράκλειο|GR|city
Πάτρα|GR|city
Περιφέρεια Κεντρικής Μακεδονίας|GR|region
Budapest|HU|city
Debrecen|HU|city
Pécs|HU|city
Győr|HU|city|v
Szeged|HU|city
Dublin|IE|city
Cork|IE|city
Galway|IE|city
Limerick|IE|city
Milano|IT|city
Torino|IT|city
Bologna|IT|city
Firenze|IT|city
Napoli|IT|city
Roma Capitale|IT|city
Venezia|IT|city
Genova|IT|city
Bari|IT|city
Reggio nell'Emilia|IT|city
Regione Emilia-Romagna|IT|region
Città metropolitana di Milano|IT|metropolitan_area
Rīga|LV|city|v
Liepāja|LV|city
Vilnius|LT|city
Kaunas|LT|city
Klaipėda|LT|city
Luxembourg|LU|city
Esch-sur-Alzette|LU|city
Valletta|MT|city
Amsterdam|NL|city
Rotterdam|NL|city
Utrecht|NL|city
Eindhoven|NL|city
Den Haag|NL|city
Groningen|NL|city
Metropoolregio Amsterdam|NL|metropolitan_area
Provincie Noord-Brabant|NL|region
Warszawa|PL|city
Kraków|PL|city|v
Łódź|PL|city|v
Wrocław|PL|city
Gdańsk|PL|city
Poznań|PL|city
Lublin|PL|city
Katowice|PL|city
Górnośląsko-Zagłębiowska Metropolia|PL|metropolitan_area
Województwo Małopolskie|PL|region
Lisboa|PT|city|v
Porto|PT|city
Braga|PT|city
Coimbra|PT|city
Área Metropolitana de Lisboa|PT|metropolitan_area
Região Autónoma dos Açores|PT|region
București|RO|city
Cluj-Napoca|RO|city
Timișoara|RO|city
Iași|RO|city
Brașov|RO|city
Oradea|RO|city
Bratislava|SK|city
Košice|SK|city
Žilina|SK|city
Ljubljana|SI|city
Maribor|SI|city
Kranj|SI|city
Madrid|ES|city
Barcelona|ES|city
València|ES|city|v
Sevilla|ES|city
Bilbao|ES|city
Málaga|ES|city
Zaragoza|ES|city
A Coruña|ES|city
Vitoria-Gasteiz|ES|city
Donostia / San Sebastián|ES|city
Córdoba|ES|city
Guadalajara|ES|city
Mérida|ES|city
Área Metropolitana de Barcelona|ES|metropolitan_area
Euskadi|ES|region
Comunidad de Madrid|ES|region
UCLG – United Cities and Local Governments|ES|organisation
Metropolis|ES|organisation
Stockholm|SE|city
Göteborg|SE|city|v
Malmö|SE|city|v
Uppsala|SE|city
Umeå|SE|city
Region Skåne|SE|region
Västra Götalandsregionen|SE|region
Zürich|CH|city|v
Genève|CH|city
Basel|CH|city
Oslo|NO|city
Bergen|NO|city
Trondheim|NO|city
London|GB|city
Manchester|GB|city
Glasgow|GB|city
Bristol|GB|city
Cambridge|GB|city
Greater Manchester Combined Authority|GB|metropolitan_area
C40 Cities|GB|organisation
Reykjavík|IS|city|v
Київ|UA|city|v
Львів|UA|city
Харків|UA|city
Одеса|UA|city
Вінниця|UA|city
Chișinău|MD|city
Bălți|MD|city
თბილისი|GE|city
ბათუმი|GE|city
ქუთაისი|GE|city
İstanbul|TR|city
İzmir|TR|city
Gaziantep|TR|city
Београд|RS|city
Нови Сад|RS|city
Tiranë|AL|city
Երևան|AM|city
New York City|US|city
Los Angeles|US|city
Chicago|US|city
Pittsburgh|US|city
Portland|US|city
Boston|US|city
Seattle|US|city
Denver|US|city
Austin|US|city
Atlanta|US|city
San Francisco|US|city
Washington, D.C.|US|city
San José|US|city
Cambridge|US|city
Honolulu|US|city
Phoenix|US|city
California|US|region
Inter-American Development Bank|US|organisation
Montréal|CA|city|v
Québec|CA|city|v
Toronto|CA|city
Vancouver|CA|city
Ottawa|CA|city
Calgary|CA|city
Halifax|CA|city
Victoria|CA|city
London|CA|city
Communauté métropolitaine de Montréal|CA|metropolitan_area
Federation of Canadian Municipalities|CA|organisation
Ciudad de México|MX|city|v
Guadalajara|MX|city
Monterrey|MX|city
Mérida|MX|city
Puebla|MX|city
Querétaro|MX|city
León|MX|city
Jalisco|MX|region
São Paulo|BR|city|v
Rio de Janeiro|BR|city
Curitiba|BR|city
Belo Horizonte|BR|city
Recife|BR|city
Porto Alegre|BR|city
Salvador|BR|city
Fortaleza|BR|city
Niterói|BR|city
Florianópolis|BR|city
Paraná|BR|region
Bogotá|CO|city|v
Medellín|CO|city|v
Cali|CO|city
Barranquilla|CO|city
Cartagena de Indias|CO|city
Área Metropolitana del Valle de Aburrá|CO|metropolitan_area
Buenos Aires|AR|city
Córdoba|AR|city|v
Rosario|AR|city
Mendoza|AR|city
Provincia de Santa Fe|AR|region
Santiago|CL|city
Valparaíso|CL|city
Concepción|CL|city
Temuco|CL|city
Región Metropolitana de Santiago|CL|region
Lima|PE|city
Arequipa|PE|city
Trujillo|PE|city
Cusco|PE|city
Quito|EC|city
Guayaquil|EC|city
Cuenca|EC|city
Montevideo|UY|city
San José|CR|city
Ciudad de Panamá|PA|city
La Paz|BO|city
Asunción|PY|city
Santo Domingo|DO|city
Kingston|JM|city
Ciudad de Guatemala|GT|city
San Salvador|SV|city
CAF – banco de desarrollo de América Latina y el Caribe|VE|organisation
北京|CN|city
上海|CN|city
深圳|CN|city
成都|CN|city
广州|CN|city
武汉|CN|city
青岛|CN|city
西安|CN|city
杭州|CN|city
重庆|CN|city
广东省|CN|region
東京|JP|city
大阪|JP|city
横浜|JP|city
京都|JP|city
北九州|JP|city
富山|JP|city
札幌|JP|city
神戸|JP|city
서울|KR|city|v
부산|KR|city
대구|KR|city
광주|KR|city
수원|KR|city
인천|KR|city
제주특별자치도|KR|region
मुंबई|IN|city
Pune|IN|city
Bengaluru|IN|city
சென்னை|IN|city
কলকাতা|IN|city
Ahmedabad|IN|city
Kochi|IN|city
Bhubaneswar|IN|city
Surat|IN|city
Sydney|AU|city
Melbourne|AU|city
Brisbane|AU|city
Adelaide|AU|city
Perth|AU|city
Tāmaki Makaurau / Auckland|NZ|city
Wellington|NZ|city
Christchurch|NZ|city
Jakarta|ID|city
Surabaya|ID|city
Bandung|ID|city
Semarang|ID|city
Hà Nội|VN|city|v
Thành phố Hồ Chí Minh|VN|city|v
Đà Nẵng|VN|city
Huế|VN|city
กรุงเทพมหานคร|TH|city
เชียงใหม่|TH|city
Khon Kaen|TH|city
Kuala Lumpur|MY|city
George Town|MY|city
Iskandar Puteri|MY|city
Manila|PH|city
Quezon City|PH|city
Cebu City|PH|city
Iloilo City|PH|city
Singapore|SG|city
ភ្នំពេញ|KH|city
ঢাকা|BD|city
Chattogram|BD|city
काठमाडौं|NP|city
Colombo|LK|city
Lahore|PK|city
Улаанбаатар|MN|city
عمّان|JO|city
بيروت|LB|city
Johannesburg|ZA|city
Cape Town|ZA|city
eThekwini|ZA|metropolitan_area
Tshwane|ZA|metropolitan_area
Nairobi|KE|city
Mombasa|KE|city
Kisumu|KE|city
UN-Habitat|KE|organisation
Lagos|NG|city
Accra|GH|city
Kumasi|GH|city
Dakar|SN|city
Saint-Louis|SN|city
Abidjan|CI|city
Kigali|RW|city
Dar es Salaam|TZ|city
አዲስ አበባ|ET|city
Kampala|UG|city
الدار البيضاء|MA|city
الرباط|MA|city
تونس|TN|city
القاهرة|EG|city
الإسكندرية|EG|city
Maputo|MZ|city
Yaoundé|CM|city
Douala|CM|city
"""

# Programme areas: code -> the partner countries on the non-EU side.
AREAS = {
    "NA": ["US", "CA"],
    "LAC": ["MX", "BR", "CO", "AR", "CL", "PE", "EC", "UY", "CR", "PA", "BO",
            "PY", "DO", "JM", "GT", "SV", "VE"],
    "CN": ["CN"],
    "JP": ["JP"],
    "KR": ["KR"],
    "IN": ["IN"],
    "AA": ["AU", "NZ", "ID", "VN", "TH", "MY", "PH", "SG"],
    "ASEAN": ["ID", "VN", "TH", "MY", "PH", "SG", "KH"],
    "AFR": ["ZA", "KE", "NG", "GH", "SN", "CI", "RW", "TZ", "ET", "UG", "MA",
            "TN", "EG", "MZ", "CM"],
    "ASIA": ["IN", "BD", "NP", "LK", "PK", "MN", "ID", "VN", "PH", "KH", "TH",
             "JO", "LB"],
}

PROGRAMMES = ["IUC", "IURC", "ICP-AGIR", "URBELAC", "RPD"]

# The geo_area codes each programme uses.  RPD (regional policy dialogues)
# is organised per partner country, so its areas are country codes.
PROGRAMME_AREAS = {
    "IUC": ["NA", "CN", "JP", "IN", "LAC"],
    "IURC": ["NA", "LAC", "CN", "JP", "KR", "IN", "AA", "ASEAN"],
    "ICP-AGIR": ["AFR", "ASIA", "LAC"],
    "URBELAC": ["LAC"],
    "RPD": ["CN", "UA", "MD", "GE", "BR", "MX", "CL", "CO", "PE", "AR", "JP",
            "ZA", "IN", "KR"],
}

DEFAULT_PROGRAMME_WEIGHTS = {
    "IURC": 0.35, "IUC": 0.15, "ICP-AGIR": 0.2, "URBELAC": 0.15, "RPD": 0.15,
}

# Partner systems by (programme, family).
SOURCES = {
    "IUC": {"pairing": "iuc-archive", "visit": "iuc-archive",
            "practice": "iuc-archive"},
    "IURC": {"pairing": "iurc-crm", "visit": "iurc.events",
             "practice": "iurc-crm"},
    "ICP-AGIR": {"pairing": "agir.partnerships", "visit": "agir.partnerships",
                 "practice": "agir-catalogue"},
    "URBELAC": {"pairing": "urbelac.registrations",
                "visit": "urbelac.registrations",
                "practice": "urbelac.registrations"},
    "RPD": {"pairing": "rpd-dialogues", "visit": "rpd-dialogues",
            "practice": "rpd-dialogues"},
}

# How each partner system writes its export.  tz entries are fixed offsets
# or 'brussels' (CET/CEST by the EU daylight-saving rule).  frac: None, 'ms',
# 'us' or 'mixed' (1, 2, 3, 6 or 9 digits).  variant: which alternative
# spelling of a 'v' party the system uses ('nfd', 'upper', 'any').
STYLES = {
    "iurc-crm": dict(sep=(",", ":"), ascii=False, nulls=False,
                     upper_uuid=False, tz=["brussels", "brussels", "Z"],
                     frac="ms", frac_p=0.3, variant="nfd", variant_p=0.3,
                     omit_zero_pilot=True),
    "iurc.events": dict(sep=(", ", ": "), ascii=False, nulls=False,
                        upper_uuid=False,
                        tz=["Z", "-05:00", "+08:00", "+09:00", "+05:30",
                            "-03:00", "+07:00", "brussels"],
                        frac=None, frac_p=0.0, variant="any", variant_p=0.15,
                        omit_zero_pilot=False),
    "iuc-archive": dict(sep=(",", ":"), ascii=True, nulls=False,
                        upper_uuid=True, tz=["Z"], frac=None, frac_p=0.0,
                        variant="upper", variant_p=0.35,
                        omit_zero_pilot=False),
    "urbelac.registrations": dict(sep=(",", ":"), ascii=False, nulls=True,
                                  upper_uuid=False,
                                  tz=["-03:00", "-05:00", "-06:00", "-04:00",
                                      "brussels"],
                                  frac="us", frac_p=0.5, variant="any",
                                  variant_p=0.2, omit_zero_pilot=False),
    "agir.partnerships": dict(sep=(",", ":"), ascii=False, nulls=False,
                              upper_uuid=False,
                              tz=["+00:00", "+01:00", "+03:00", "+07:00",
                                  "+05:30", "Z", "brussels"],
                              frac="mixed", frac_p=0.25, variant="nfd",
                              variant_p=0.1, omit_zero_pilot=True),
    "agir-catalogue": dict(sep=(", ", ": "), ascii=False, nulls=False,
                           upper_uuid=False, tz=["Z", "+00:00", "brussels"],
                           frac="ms", frac_p=0.5, variant="any",
                           variant_p=0.15, omit_zero_pilot=False),
    "rpd-dialogues": dict(sep=(",", ":"), ascii=False, nulls=True,
                          upper_uuid=False,
                          tz=["brussels", "+08:00", "+09:00", "+02:00",
                              "+04:00", "-03:00", "+05:45", "-06:00"],
                          frac=None, frac_p=0.0, variant="upper",
                          variant_p=0.2, omit_zero_pilot=False),
}
DEFAULT_STYLE = dict(sep=(",", ":"), ascii=False, nulls=False,
                     upper_uuid=False, tz=["Z", "brussels"], frac="ms",
                     frac_p=0.2, variant="any", variant_p=0.15,
                     omit_zero_pilot=False)

# Themes and the SDG codes (goals, targets, indicators) they are tagged with.
THEME_SDGS = {
    "urban-mobility": ["11.2", "11.2.1", "3.6", "3.6.1", "9.1", "11"],
    "air-quality": ["11.6", "11.6.2", "3.9", "3.9.1", "11"],
    "circular-economy": ["12.5", "12.5.1", "12.2", "12.2.1", "11.6.1", "12"],
    "waste-management": ["11.6", "11.6.1", "12.5", "12.5.1", "12.3"],
    "green-deal": ["13", "7", "12", "13.2", "9.4", "9.4.1"],
    "nature-based-solutions": ["11.7", "11.7.1", "13.1", "15.9", "6.6",
                               "11.b"],
    "affordable-housing": ["11.1", "11.1.1", "1.4", "1.4.1", "11"],
    "digital-transition": ["9.c", "9.c.1", "17.8", "4.4", "4.4.1", "9.5"],
    "energy-efficiency": ["7.3", "7.3.1", "7", "13.2", "9.4"],
    "renewable-energy": ["7.2", "7.2.1", "7.a", "7.a.1", "7.b", "7.b.1",
                         "7.1", "7.1.1", "7"],
    "water-management": ["6.3", "6.3.1", "6.4", "6.4.1", "6.5", "6.5.1",
                         "6.b", "6.b.1", "6"],
    "social-inclusion": ["10.2", "10.2.1", "11.3", "1.2", "5.5", "10"],
    "climate-adaptation": ["13.1", "13.1.1", "13.1.2", "13.1.3", "11.5",
                           "11.5.1", "11.b", "11.b.1", "11.b.2", "13"],
    "climate-neutrality": ["13.2", "13.2.2", "7.2", "11.6", "13"],
    "urban-regeneration": ["11.3", "11.3.1", "11.3.2", "11.4", "8.3", "11.a",
                           "11.a.1"],
    "sustainable-tourism": ["8.9", "8.9.1", "12.b", "12.b.1", "11.4", "8"],
    "gender-equality": ["5.5", "5.5.1", "5.5.2", "5.c", "5.c.1", "5.2", "5"],
    "innovation-ecosystems": ["9.5", "9.5.1", "8.2", "8.3", "17.6", "9"],
    "local-economic-development": ["8.3", "8.3.1", "8.5", "8.5.1", "1.4",
                                   "8"],
    "food-systems": ["2.4", "2.4.1", "12.3", "12.3.1", "12.8"],
    "cultural-heritage": ["11.4", "11.4.1", "8.9"],
    "public-space": ["11.7", "11.7.1", "11.7.2", "3.4"],
    "education-for-sustainability": ["4.7", "4.7.1", "12.8", "13.3",
                                     "13.3.1", "4"],
    "coastal-resilience": ["14.1", "14.1.1", "14.2", "11.5", "13.1"],
    "public-procurement": ["12.7", "12.7.1", "16.6", "17.17"],
    "health-and-wellbeing": ["3.4", "3.9", "3.6", "11.7", "3"],
    "multilevel-governance": ["16.7", "16.7.2", "17.17", "17.17.1", "11.a",
                              "11.3.2", "17.16", "17.9", "17.19", "16.6"],
}

# How often each theme is picked (the commonest first).
THEME_WEIGHTS = {
    "circular-economy": 9, "urban-mobility": 9, "green-deal": 8,
    "nature-based-solutions": 7, "affordable-housing": 5,
    "digital-transition": 7, "energy-efficiency": 8, "water-management": 5,
    "social-inclusion": 6, "air-quality": 5, "climate-adaptation": 8,
    "climate-neutrality": 7, "urban-regeneration": 5,
    "sustainable-tourism": 3, "gender-equality": 3,
    "innovation-ecosystems": 5, "local-economic-development": 4,
    "food-systems": 3, "cultural-heritage": 2, "public-space": 3,
    "education-for-sustainability": 2, "coastal-resilience": 2,
    "public-procurement": 2, "health-and-wellbeing": 2,
    "multilevel-governance": 3,
}

# Broad tags cooperation programmes add on top of the thematic ones.
BROAD_SDGS = ["17.17", "17", "11", "17.16", "11.a", "17.17.1"]

# Practice titles by theme: phrases a catalogue would use.
PRACTICE_PHRASES = {
    "urban-mobility": ["Superblocks: reclaiming street space for people",
                       "School streets programme",
                       "Bus rapid transit corridor redesign",
                       "Integrated ticketing across the metropolitan area",
                       "Cycling network planning with open data"],
    "air-quality": ["Citizen-science network of low-cost air sensors",
                    "Low-emission zone with a phased fleet renewal",
                    "Clean air plan co-designed with schools"],
    "circular-economy": ["Municipal repair cafés and reuse centres",
                         "Construction materials passport",
                         "Circular public procurement toolkit",
                         "Food-waste valorisation in city markets"],
    "waste-management": ["Pay-as-you-throw household waste charging",
                         "Separate bio-waste collection, door to door",
                         "Informal waste pickers in the formal system"],
    "green-deal": ["Local green deal with businesses",
                   "Climate city contract and investment plan"],
    "nature-based-solutions": ["Depaving schoolyards into climate shelters",
                               "Urban forest masterplan",
                               "Sponge city retrofit of a housing estate",
                               "Green roofs subsidy scheme"],
    "affordable-housing": ["Community land trust for affordable homes",
                           "Deep renovation of social housing",
                           "Informal settlement upgrading with residents"],
    "digital-transition": ["Urban digital twin for planning",
                           "Open data portal and API standards",
                           "Digital skills for older residents"],
    "energy-efficiency": ["One-stop shop for home energy renovation",
                          "Street-lighting retrofit with LEDs",
                          "Energy performance contracting for schools"],
    "renewable-energy": ["Citizen energy community on public roofs",
                         "Solar PV on municipal buildings",
                         "District heating from waste heat"],
    "water-management": ["Non-revenue water reduction programme",
                          "Wastewater reuse for urban irrigation",
                          "Flood early-warning system"],
    "social-inclusion": ["Participatory budgeting in every district",
                         "Welcoming newcomers: a one-stop integration desk"],
    "climate-adaptation": ["Heat-health action plan",
                           "Climate risk map for every neighbourhood",
                           "Blue-green corridors against flash floods"],
    "climate-neutrality": ["Climate-neutral city roadmap",
                           "Municipal carbon budget"],
    "urban-regeneration": ["Brownfield regeneration with temporary uses",
                           "Regenerating a historic port district"],
    "sustainable-tourism": ["Managing visitor flows in the historic centre",
                            "Tourist tax reinvested in neighbourhoods"],
    "gender-equality": ["Gender-sensitive street design",
                        "Safe night mobility for women"],
    "innovation-ecosystems": ["Urban living lab with universities",
                              "Challenge-based innovation procurement"],
    "local-economic-development": ["Local food hub for small producers",
                                   "Social economy incubator"],
    "food-systems": ["City-region food strategy",
                     "Urban agriculture on vacant lots"],
    "cultural-heritage": ["Adaptive reuse of industrial heritage"],
    "public-space": ["Tactical urbanism: pilot plazas",
                     "Play streets on summer weekends"],
    "education-for-sustainability": ["Climate schools network"],
    "coastal-resilience": ["Living shorelines and dune restoration"],
    "public-procurement": ["Green public procurement criteria for works"],
    "health-and-wellbeing": ["Active ageing and walkable neighbourhoods"],
    "multilevel-governance": ["Metropolitan coordination table",
                              "Localising the SDGs: a voluntary local review"],
}
