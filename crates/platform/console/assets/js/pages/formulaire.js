// Create or edit a webhook: destination, description, the topics it
// subscribes to (picked from the event catalog, with each type's schema and
// example), retries and signature options.
import { api, explain } from "../api.js";
import { busy, checkbox, field, h, json, message, secretPanel } from "../dom.js";

function slug(text) {
  return text.replace(/[^a-z0-9]+/gi, "-");
}

/** The topic picker; returns its element and a function giving the chosen patterns. */
function picker(types, chosen) {
  const groups = new Map();
  for (const type of types) {
    // The test event goes to one webhook on request; nobody subscribes to it.
    if (type.event_type === "webhook.test") continue;
    if (!groups.has(type.aggregate_type)) groups.set(type.aggregate_type, []);
    groups.get(type.aggregate_type).push(type);
  }
  const boxes = [];
  const known = new Set();
  const box = (id, label, value) => {
    known.add(value);
    const element = checkbox(id, label, chosen.includes(value), { value, name: "events" });
    boxes.push(element.querySelector("input"));
    return element;
  };
  const fieldset = h("fieldset", { id: "choix-evenements" },
    h("legend", {}, "Événements", h("span", { class: "aide" }, "Cochez un type, ou tous ceux d'un objet (motif « objet.* »).")));
  for (const [aggregate, list] of groups) {
    const items = h("ul", { class: "catalogue" });
    for (const type of list) {
      items.append(h("li", {},
        box(`type-${slug(type.event_type)}`, [h("code", {}, type.event_type), " — ", type.description], type.event_type),
        h("details", {},
          h("summary", {}, `Schéma et exemple de ${type.event_type}`),
          h("h3", {}, "Exemple de données"), h("pre", {}, json(type.example_data)),
          h("h3", {}, "Schéma JSON des données"), h("pre", {}, json(type.data_schema)))));
    }
    fieldset.append(h("div", { class: "groupe" },
      box(`tous-${slug(aggregate)}`, h("strong", {}, `Tous les événements « ${aggregate} » (${aggregate}.*)`), `${aggregate}.*`),
      items));
  }
  const others = h("input", { type: "text", name: "autres" });
  others.value = chosen.filter((pattern) => !known.has(pattern)).join(", ");
  fieldset.append(field("autres-motifs", "Autres motifs", others,
    "Séparés par des virgules, par exemple « *.created » ou « * » pour tout."));
  const patterns = () => [
    ...boxes.filter((b) => b.checked).map((b) => b.value),
    ...others.value.split(",").map((p) => p.trim()).filter((p) => p !== ""),
  ];
  return [fieldset, patterns];
}

export async function formulaire(page, id) {
  const editing = id !== null;
  const [catalog, existing] = await Promise.all([
    api("GET", "/api/v1/event-types"),
    editing ? api("GET", `/api/v1/webhooks/${encodeURIComponent(id)}`) : Promise.resolve(null),
  ]);
  const url = h("input", { type: "url", name: "url", required: true, autocomplete: "off", placeholder: "https://…" });
  const description = h("textarea", { name: "description", maxlength: 500 });
  const [topics, patterns] = picker(catalog.event_types, existing ? existing.events : []);
  const legacy = checkbox("signature-heritee", "Signer aussi avec l'en-tête historique X-Hub-Chantier-Signature (récepteurs anciens seulement)", existing && existing.legacy_signature);
  const retries = checkbox("nouvelles-tentatives", "Réessayer les livraisons en échec", existing ? existing.retry_enabled : true);
  const maxRetries = h("input", { type: "number", min: 0, max: 10, name: "max_retries" });
  if (existing) {
    url.value = existing.url;
    description.value = existing.description || "";
    maxRetries.value = existing.max_retries;
  }
  const feedback = h("div");
  const submit = h("button", { type: "submit", id: "enregistrer" }, editing ? "Enregistrer" : "Créer le webhook");
  const form = h("form", { id: "formulaire-webhook" },
    field("url", "URL de destination", url, "HTTPS, joignable depuis le serveur (pas d'adresse privée)."),
    field("description", "Description", description, "Facultative, 500 caractères au plus."),
    topics,
    editing ? h("fieldset", {}, h("legend", {}, "Nouvelles tentatives"), retries,
      field("max-tentatives", "Nombre maximal de nouvelles tentatives (0 à 10)", maxRetries)) : null,
    legacy,
    feedback,
    h("div", { class: "actions" }, submit,
      h("a", { class: "bouton secondaire", href: editing ? `#/webhooks/${encodeURIComponent(id)}` : "#/webhooks" }, "Annuler")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    feedback.replaceChildren();
    return busy(submit, async () => {
      const events = patterns();
      if (events.length === 0) {
        feedback.append(message("erreur", "Choisissez au moins un événement."));
        return;
      }
      const legacyChecked = legacy.querySelector("input").checked;
      try {
        if (editing) {
          await api("PATCH", `/api/v1/webhooks/${encodeURIComponent(id)}`, {
            url: url.value.trim(),
            events,
            description: description.value,
            retry_enabled: retries.querySelector("input").checked,
            max_retries: Number(maxRetries.value),
            legacy_signature: legacyChecked,
          });
          location.hash = `#/webhooks/${encodeURIComponent(id)}`;
        } else {
          const created = await api("POST", "/api/v1/webhooks", {
            url: url.value.trim(),
            events,
            description: description.value.trim() || undefined,
            legacy_signature: legacyChecked,
          });
          page.main.replaceChildren(
            h("h1", {}, "Webhook créé"),
            secretPanel(created.secret, `Webhook vers ${created.url} créé.`),
            h("div", { class: "actions" },
              h("a", { class: "bouton", id: "voir-webhook", href: `#/webhooks/${encodeURIComponent(created.id)}` }, "Voir le webhook et son journal"),
              h("a", { class: "bouton secondaire", href: "#/webhooks" }, "Retour à la liste")));
          page.main.querySelector("h1").setAttribute("tabindex", "-1");
          page.main.querySelector("h1").focus();
        }
      } catch (error) {
        feedback.append(message("erreur", explain(error)));
      }
    });
  });
  page.main.append(h("h1", {}, editing ? "Modifier le webhook" : "Nouveau webhook"), form);
}
