"""Seeds the fuzzing server with one resource of each kind, through the API.

`make fuzz` calls it before schemathesis: without existing resources, every
operation on `/{id}` would only ever answer 404 and its logic would go
untested. It prints a schemathesis configuration (TOML) that pins the path
ids of those operations to the seeded resources. DELETE operations are left
to random ids: deleting the seeded resources early would turn every later
request into a 404.

Usage: fuzz_seed.py BASE_URL TOKEN > schemathesis.toml
Standard library only (the venv is for schemathesis, not for this).
"""

import json
import sys
import time
import urllib.error
import urllib.request

BASE, TOKEN = sys.argv[1], sys.argv[2]


def call(method, path, body=None):
    request = urllib.request.Request(
        BASE + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


def create(path, body, retry_for=20.0):
    """POSTs until 201: read models of other contexts fill asynchronously
    (a new chantier reaches planning's and signalements' through the relay)."""
    deadline = time.monotonic() + retry_for
    while True:
        status, answer = call("POST", path, body)
        if status == 201:
            return answer
        if time.monotonic() > deadline:
            sys.exit(f"fuzz_seed: POST {path} answered {status}: {answer}")
        time.sleep(0.2)


me = call("GET", "/api/v1/auth/me")[1]
compagnon = create(
    "/api/v1/users",
    {
        "email": "fuzz-compagnon@example.com",
        "password": "fuzz-compagnon-password-1",
        "nom": "Fuzz",
        "prenom": "Compagnon",
        "role": "compagnon",
        "type_utilisateur": "employe",
    },
)
chantier = create(
    "/api/v1/chantiers",
    {"code": "FZ001", "nom": "Chantier fuzz", "adresse": "1 rue du Test, Lyon"},
)
webhook = create(
    "/api/v1/webhooks",
    {"url": "http://127.0.0.1:9/fuzz", "events": ["*"], "description": "fuzz"},
)
affectation = create(
    "/api/v1/planning/affectations",
    {"utilisateur_id": compagnon["id"], "chantier_id": chantier["id"], "date": "2027-03-01"},
)
signalement = create(
    "/api/v1/signalements",
    {"chantier_id": chantier["id"], "titre": "Fuzz", "description": "Signalement du fuzz"},
)
reponse = create(
    f"/api/v1/signalements/{signalement['id']}/reponses", {"contenu": "Réponse du fuzz"}
)
ressource = create(
    "/api/v1/logistique/ressources",
    {"code": "FZ-GRUE", "nom": "Grue du fuzz", "categorie": "vehicule"},
)
reservation = create(
    "/api/v1/logistique/reservations",
    {
        "ressource_id": ressource["id"],
        "chantier_id": chantier["id"],
        "date_reservation": "2027-03-02",
        "heure_debut": "08:00",
        "heure_fin": "12:00",
    },
)
besoin = create(
    "/api/v1/planning-charge/besoins",
    {"chantier_id": chantier["id"], "semaine": "2027-W10", "type_metier": "macon", "besoin_heures": 35},
)
pointage = create(
    "/api/v1/pointages",
    {
        "utilisateur_id": compagnon["id"],
        "chantier_id": chantier["id"],
        "date_pointage": "2027-03-03",
        "heures_normales": "07:30",
    },
)

# (path regex, parameter, id): every operation under the path but DELETE.
PINS = [
    (r"^/api/v1/chantiers/\{id\}", "id", chantier["id"]),
    (r"^/api/v1/users/\{id\}", "id", compagnon["id"]),
    (r"^/api/v1/webhooks/\{id\}", "id", webhook["id"]),
    (r"^/api/v1/planning/affectations/\{id\}", "id", affectation["id"]),
    (r"^/api/v1/planning/chantiers/\{id\}", "id", chantier["id"]),
    (r"^/api/v1/planning/utilisateurs/\{id\}", "id", me["id"]),
    (r"^/api/v1/signalements/chantier/\{chantier_id\}", "chantier_id", chantier["id"]),
    (r"^/api/v1/signalements/\{signalement_id\}", "signalement_id", signalement["id"]),
    (r"^/api/v1/signalements/reponses/\{reponse_id\}", "reponse_id", reponse["id"]),
    (r"^/api/v1/logistique/ressources/\{id\}", "id", ressource["id"]),
    (r"^/api/v1/logistique/reservations/\{id\}", "id", reservation["id"]),
    (r"^/api/v1/logistique/chantiers/\{id\}", "id", chantier["id"]),
    (r"^/api/v1/planning-charge/besoins/\{id\}", "id", besoin["id"]),
    (r"^/api/v1/planning-charge/chantiers/\{id\}", "id", chantier["id"]),
    (r"^/api/v1/pointages/\{id\}", "id", pointage["id"]),
    (r"^/api/v1/pointages/feuilles/utilisateurs/\{id\}", "id", compagnon["id"]),
    (r"^/api/v1/event-types/\{event_type\}", "event_type", "chantier.created"),
]
for regex, name, value in PINS:
    print("[[operations]]")
    print(f"include-path-regex = {json.dumps(regex)}")
    print('exclude-method-regex = "(?i)^delete$"')
    print(f'parameters = {{ "path.{name}" = {json.dumps(value)} }}')
    print()
