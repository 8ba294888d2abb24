// Event history (administrators): the persisted events, newest first, with
// filters, each event's payload and where it was delivered.
import { api, explain, query } from "../api.js";
import { date, field, h, json, message } from "../dom.js";

const STATUS = {
  pending: "Nouvelle tentative prévue",
  in_flight: "En cours d'envoi",
  succeeded: "Livrée",
  failed: "Échec définitif",
  cancelled: "Annulée",
};

export async function evenements(page) {
  const pattern = h("input", { type: "text", name: "type", placeholder: "chantier.* ou *.created" });
  const aggregate = h("input", { type: "text", name: "aggregate_id" });
  const since = h("input", { type: "datetime-local", name: "since" });
  const until = h("input", { type: "datetime-local", name: "until" });
  const filters = h("form", { class: "filtres", id: "filtres-evenements" },
    field("filtre-motif", "Type ou motif", pattern),
    field("filtre-agregat", "Identifiant de l'objet", aggregate),
    field("filtre-depuis", "Depuis", since),
    field("filtre-jusqu-a", "Jusqu'à", until),
    h("button", { type: "submit", class: "secondaire" }, "Filtrer"));
  const feedback = h("div");
  const body = h("tbody");
  const more = h("button", { type: "button", class: "secondaire", hidden: true }, "Plus anciens");
  let cursor = null;

  const iso = (input) => (input.value ? new Date(input.value).toISOString() : "");

  const rows = (event) => {
    const detailId = `evenement-${event.event_id}`;
    const deliveries = h("div", { class: "livraisons" });
    const detail = h("tr", { class: "detail", id: detailId, hidden: true },
      h("td", { colspan: 5 },
        h("dl", { class: "fiche" },
          h("dt", {}, "Identifiant"), h("dd", {}, h("code", {}, event.event_id)),
          h("dt", {}, "Corrélation"), h("dd", {}, event.correlation_id || "—"),
          h("dt", {}, "Cause"), h("dd", {}, event.causation_id || "—"),
          h("dt", {}, "Version du schéma"), h("dd", {}, String(event.schema_version)),
          h("dt", {}, "Position"), h("dd", {}, event.seq === undefined ? "—" : String(event.seq))),
        h("h3", {}, "Données"), h("pre", {}, json(event.data)),
        h("h3", {}, "Livraisons aux webhooks"), deliveries));
    const open = h("button", { type: "button", class: "secondaire petit", "aria-expanded": "false", "aria-controls": detailId }, "Détails");
    open.addEventListener("click", async () => {
      detail.hidden = !detail.hidden;
      open.setAttribute("aria-expanded", String(!detail.hidden));
      if (!detail.hidden && !deliveries.hasChildNodes()) await showDeliveries(event, deliveries);
    });
    return [h("tr", { "data-evenement": event.event_id },
      h("td", { "data-libelle": "Date" }, date(event.occurred_at)),
      h("td", { "data-libelle": "Type" }, h("code", {}, event.event_type)),
      h("td", { "data-libelle": "Objet" }, `${event.aggregate_type} `, h("code", {}, event.aggregate_id)),
      h("td", { "data-libelle": "Publié" }, event.dispatched_at ? date(event.dispatched_at) : h("span", { class: "etat attente" }, "En attente")),
      h("td", { "data-libelle": "Actions" }, open)), detail];
  };

  const load = async (append) => {
    const answer = await api("GET", `/api/v1/events${query({
      type: pattern.value.trim(), aggregate_id: aggregate.value.trim(), since: iso(since), until: iso(until),
      cursor: append ? cursor : "", limit: 50,
    })}`);
    if (!append) body.replaceChildren();
    if (!append && answer.events.length === 0) {
      body.append(h("tr", {}, h("td", { colspan: 5, class: "vide" }, "Aucun événement.")));
    }
    for (const event of answer.events) body.append(...rows(event));
    cursor = answer.next_cursor;
    more.hidden = !cursor;
  };

  filters.addEventListener("submit", (event) => {
    event.preventDefault();
    feedback.replaceChildren();
    load(false).catch((error) => feedback.replaceChildren(message("erreur", explain(error))));
  });
  more.addEventListener("click", () => load(true).catch((error) => feedback.replaceChildren(message("erreur", explain(error)))));

  page.main.append(h("h1", {}, "Historique des événements"),
    h("p", {}, "Les événements enregistrés, les plus récents d'abord. Ouvrez un événement pour voir ses données et ses livraisons."),
    filters, feedback,
    h("table", { class: "cartes", id: "evenements" },
      h("caption", {}, "Événements"),
      h("thead", {}, h("tr", {}, ["Date", "Type", "Objet", "Publié", "Actions"].map((t) => h("th", { scope: "col" }, t)))),
      body),
    h("div", { class: "actions" }, more));
  await load(false);
}

async function showDeliveries(event, container) {
  try {
    const answer = await api("GET", `/api/v1/events/${encodeURIComponent(event.event_id)}/deliveries`);
    if (answer.deliveries.length === 0) {
      container.append(h("p", { class: "vide" }, "Livré à aucun webhook."));
      return;
    }
    container.append(h("table", { class: "cartes" },
      h("thead", {}, h("tr", {}, ["Webhook", "État", "Tentatives", "Terminée le", "Dernière erreur"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, answer.deliveries.map((d) => h("tr", { "data-livraison": d.delivery_id },
        h("td", { "data-libelle": "Webhook", class: "url" }, d.webhook_url),
        h("td", { "data-libelle": "État" }, STATUS[d.status] || d.status),
        h("td", { "data-libelle": "Tentatives", class: "nombre" }, String(d.attempts)),
        h("td", { "data-libelle": "Terminée le" }, date(d.finished_at)),
        h("td", { "data-libelle": "Dernière erreur" }, d.last_error || "—"))))));
  } catch (error) {
    container.append(message("erreur", explain(error)));
  }
}
