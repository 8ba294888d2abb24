// The list of the user's webhooks, with their state and quick actions.
import { api, explain } from "../api.js";
import { announce, busy, confirmDialog, date, h, message } from "../dom.js";

/** "Actif", or "Désactivé" and why. */
export function stateBadge(webhook) {
  if (webhook.is_active) return h("span", { class: "etat actif" }, "Actif");
  return h("span", { class: "etat inactif" }, "Désactivé");
}

/** Enables or disables; resolves to the changed webhook. */
export function setActive(webhook, active) {
  return api("PATCH", `/api/v1/webhooks/${encodeURIComponent(webhook.id)}`, { is_active: active });
}

/** Asks, then deletes; resolves to true when deleted. */
export async function remove(webhook) {
  const sure = await confirmDialog("Supprimer ce webhook ?",
    `Le webhook vers ${webhook.url} et son journal de livraisons seront supprimés définitivement.`,
    "Supprimer");
  if (!sure) return false;
  await api("DELETE", `/api/v1/webhooks/${encodeURIComponent(webhook.id)}`);
  return true;
}

export async function webhooks(page) {
  const feedback = h("div");
  const body = h("tbody");
  const table = h("table", { class: "cartes", id: "liste-webhooks" },
    h("caption", {}, "Vos webhooks"),
    h("thead", {}, h("tr", {},
      h("th", { scope: "col" }, "Destination"),
      h("th", { scope: "col" }, "Événements"),
      h("th", { scope: "col" }, "État"),
      h("th", { scope: "col", class: "nombre" }, "Échecs consécutifs"),
      h("th", { scope: "col" }, "Dernière livraison"),
      h("th", { scope: "col" }, "Actions"))),
    body);
  page.main.append(
    h("h1", {}, "Webhooks"),
    h("p", {}, "Chaque webhook reçoit, signées, les notifications des événements auxquels il est abonné."),
    h("div", { class: "actions" }, h("a", { class: "bouton", href: "#/webhooks/nouveau", id: "nouveau-webhook" }, "Nouveau webhook")),
    feedback, table);

  const load = async () => {
    const list = await api("GET", "/api/v1/webhooks?limit=100");
    body.replaceChildren();
    if (list.webhooks.length === 0) {
      body.append(h("tr", {}, h("td", { colspan: 6, class: "vide" }, "Aucun webhook pour l'instant : créez le premier.")));
    }
    for (const webhook of list.webhooks) body.append(row(webhook));
  };

  const row = (webhook) => {
    const toggle = h("button", { type: "button", class: "secondaire petit" },
      webhook.is_active ? "Désactiver" : "Activer");
    toggle.addEventListener("click", () => busy(toggle, async () => {
      try {
        await setActive(webhook, !webhook.is_active);
        announce(webhook.is_active ? "Webhook désactivé." : "Webhook activé.");
        await load();
      } catch (error) {
        feedback.replaceChildren(message("erreur", explain(error)));
      }
    }));
    const del = h("button", { type: "button", class: "danger petit" }, "Supprimer");
    del.addEventListener("click", async () => {
      try {
        if (await remove(webhook)) {
          feedback.replaceChildren(message("succes", "Webhook supprimé."));
          await load();
        }
      } catch (error) {
        feedback.replaceChildren(message("erreur", explain(error)));
      }
    });
    return h("tr", { "data-webhook": webhook.id },
      h("td", { "data-libelle": "Destination" },
        h("a", { href: `#/webhooks/${encodeURIComponent(webhook.id)}`, class: "url" }, webhook.url),
        webhook.description ? h("span", { class: "aide" }, webhook.description) : null),
      h("td", { "data-libelle": "Événements" }, webhook.events.join(", ")),
      h("td", { "data-libelle": "État" }, stateBadge(webhook),
        webhook.disabled_reason ? h("span", { class: "aide" }, webhook.disabled_reason) : null),
      h("td", { "data-libelle": "Échecs consécutifs", class: "nombre" }, String(webhook.consecutive_failures)),
      h("td", { "data-libelle": "Dernière livraison" }, date(webhook.last_triggered_at),
        webhook.last_error ? h("span", { class: "aide" }, `Dernière erreur : ${webhook.last_error}`) : null),
      h("td", { "data-libelle": "Actions" }, h("div", { class: "actions" }, toggle, del)));
  };

  await load();
}
